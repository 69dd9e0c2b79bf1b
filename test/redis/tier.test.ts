import { expect } from 'chai';
import { adminClient } from '../setup/root-hooks.js';
import { closeCaches, newCache, watchReads } from '../helpers.js';
import { internalsOf } from '../../src/cache.js';

afterEach(closeCaches);

describe('Redis tier: concurrent reads', () => {
  it('sends a read at once when none is out and the concurrent reads as one MGET, each call getting its own entry', async () => {
    const cache = newCache();
    await cache.connect();
    const keys = Array.from({ length: 20 }, (_, i) => `id-${i}`);
    for (const key of keys) await cache.set('price', key, { key, n: key.length });
    await cache.set('tagged', 'both', 'tagged value', { tags: ['user:1'] });
    const { sent } = watchReads(cache);
    const compute = async () => 'computed';
    const results = await Promise.all([
      ...keys.map((key) => cache.wrapDetailed('price', key, compute)),
      cache.wrapDetailed('price', 'missing', compute),
      cache.wrapDetailed('tagged', 'both', compute, { tags: ['user:1'] }),
    ]);
    expect(sent).to.have.length(2);
    expect(sent[0]).to.have.length(3); // id-0, the namespace and the kind generations
    // the 21 other entries, the namespace generation, 2 kind generations and 1 tag generation, each sent once
    expect(sent[1]).to.have.length(21 + 4);
    keys.forEach((key, i) => expect(results[i]).to.deep.include({ value: { key, n: key.length }, result: 'hit' }));
    expect(results[20]).to.deep.include({ value: 'computed', result: 'miss' });
    expect(results[21]).to.deep.include({ value: 'tagged value', result: 'hit' });
  });

  it('sends reads made while one is out at the end of their tick, together; and sequential reads at once', async () => {
    const cache = newCache();
    await cache.connect();
    for (let i = 0; i < 6; i++) await cache.set('price', `k${i}`, i);
    const { sent, release } = watchReads(cache, { holdFirst: true }); // the first read's answer is late
    const first = cache.wrap('price', 'k0', async () => -1);
    await new Promise((resolve) => setImmediate(resolve)); // a later tick, the first read still out
    expect(sent).to.have.length(1);
    const later = Promise.all([1, 2, 3].map((i) => cache.wrap('price', `k${i}`, async () => -1)));
    expect(sent).to.have.length(1); // they wait for the end of this tick
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).to.have.length(2);
    expect(sent[1]).to.include.members(['infercache:price:v1:k1', 'infercache:price:v1:k2', 'infercache:price:v1:k3']);
    release();
    expect(await first).to.equal(0);
    expect(await later).to.deep.equal([1, 2, 3]);
    // nothing out: each sequential read is sent at once, on its own
    for (const i of [4, 5]) {
      const read = cache.wrap('price', `k${i}`, async () => -1);
      expect(sent).to.have.length(i - 1);
      expect(await read).to.equal(i);
    }
  });

  it('serves concurrent hits of one key from one MGET that reads the key once, each a hit, none joined', async () => {
    const cache = newCache();
    await cache.connect();
    await cache.set('price', 'hot', { n: 1 });
    const { sent, release } = watchReads(cache, { holdFirst: true });
    const first = cache.wrapDetailed('price', 'other', async () => 0); // out: the next reads wait and go together
    const hot = Promise.all([1, 2, 3].map(() => cache.wrapDetailed('price', 'hot', async () => ({ n: -1 }))));
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await first;
    const results = await hot;
    expect(results.map((r) => [r.result, r.value])).to.deep.equal(Array(3).fill(['hit', { n: 1 }]));
    expect(sent[1]!.filter((key) => key === 'infercache:price:v1:hot')).to.have.length(1);
    expect(cache.stats().kinds.price).to.include({ hits: 3, joined: 0 });
  });

  it('checks each entry of a shared MGET against its own generations', async () => {
    const cache = newCache();
    await cache.connect();
    await cache.set('a', 'x', 'a value');
    await cache.set('b', 'x', 'b value');
    await adminClient().incr('infercache:__gen:kind:a'); // as another instance's invalidateKind('a') would
    const [a, b] = await Promise.all([
      cache.wrapDetailed('a', 'x', async () => 'recomputed'),
      cache.wrapDetailed('b', 'x', async () => 'recomputed'),
    ]);
    expect(a).to.deep.include({ value: 'recomputed', result: 'miss' });
    expect(b).to.deep.include({ value: 'b value', result: 'hit' });
  });

  it('counts every read of a batch as skipped when Redis is not connected', async () => {
    const cache = newCache({ redis: { url: 'redis://127.0.0.1:1' }, operationTimeout: '50ms' });
    const results = await Promise.all([1, 2, 3].map((n) => cache.wrapDetailed('price', n, async () => n)));
    expect(results.map((r) => r.value)).to.deep.equal([1, 2, 3]);
    expect(results.every((r) => r.result === 'bypass')).to.equal(true);
    expect(internalsOf(cache).redis!.counters.skipped).to.be.at.least(3);
  });
});

describe('Redis tier: the hit path', () => {
  it('costs one MGET per hit once the invalidation counters exist, and never re-creates them', async () => {
    const cache = newCache({ bus: false });
    await cache.connect();
    const fn = async () => ({ price: 1 });
    for (let i = 0; i < 10; i++) await cache.wrap('price', `k${i}`, fn, { tags: ['region:eu'] });
    await cache.invalidateTags('region:eu'); // counters now hold incremented fresh values
    for (let i = 0; i < 10; i++) await cache.wrap('price', `k${i}`, fn, { tags: ['region:eu'] });
    const admin = adminClient();
    await admin.configResetStat();
    for (let i = 0; i < 100; i++) await cache.wrap('price', `k${i % 10}`, fn, { tags: ['region:eu'] });
    const stats = await admin.info('commandstats');
    const calls = Object.fromEntries(
      [...stats.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])] as const),
    );
    expect(calls).to.deep.equal({ mget: 100, 'config|resetstat': 1 });
  });
});

describe('parseGeneration', () => {
  it('reads counters as numbers, and anything but a positive safe integer as -1 (0 when missing)', async () => {
    const { parseGeneration } = await import('../../src/record.js');
    const fresh = Date.now() * 1000 + 999;
    expect(parseGeneration(Buffer.from(String(fresh)))).to.equal(fresh);
    expect(parseGeneration(Buffer.from('42'))).to.equal(42);
    expect(parseGeneration('42')).to.equal(42);
    expect(parseGeneration(null)).to.equal(0);
    expect(parseGeneration(undefined)).to.equal(0);
    for (const bad of ['0', '-3', '1.5', '12a', ' 1', '99999999999999999', String(2 ** 53 + 2)]) {
      expect(parseGeneration(Buffer.from(bad)), bad).to.equal(-1);
      expect(parseGeneration(bad), bad).to.equal(-1);
    }
    expect(parseGeneration(Buffer.alloc(0)), 'an empty value').to.equal(-1);
    expect(parseGeneration(Buffer.from([0xc1, 0xff, 0x00]))).to.equal(-1);
  });
});
