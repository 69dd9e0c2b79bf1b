/** The in-process tier: what it counts against its bounds, and what its hits hand to callers. */
import { expect } from 'chai';
import { newCache, counted, warnings } from './helpers.js';
import { CachedModel } from '../src/index.js';

const MiB = 1024 * 1024;

describe('memory tier size', () => {
  const compressible = (i: number) => `${i}:`.padEnd(200_000, 'a'); // ~200 KB that deflates to a few hundred bytes

  it('counts the uncompressed size of computed values against maxBytes', async () => {
    const cache = newCache({ memory: { maxBytes: MiB } });
    for (let i = 0; i < 20; i++) await cache.wrap('text', i, async () => compressible(i), { memory: true });
    const { memory } = await cache.info();
    expect(memory.bytes).to.be.at.most(MiB);
    expect(memory.bytes).to.be.above(4 * 200_000);
    expect(memory.entries).to.equal(5); // 5 × ~200 KB fit in 1 MiB, 6 do not
  });

  it('keeps no value whose uncompressed size is above maxBytes, however well it compresses', async () => {
    const cache = newCache({ memory: { maxBytes: MiB } });
    const fn = counted(() => 'a'.repeat(2 * MiB));
    await cache.wrap('text', 'big', fn, { memory: true });
    expect((await cache.wrapDetailed('text', 'big', fn, { memory: true })).tier).to.equal('redis');
    expect((await cache.info()).memory).to.deep.equal({ entries: 0, bytes: 0 });
  });

  it('counts the uncompressed size of values read from Redis against maxBytes', async () => {
    const writer = newCache();
    for (let i = 0; i < 20; i++) await writer.set('text', i, compressible(i));
    const reader = newCache({ memory: { maxBytes: MiB } });
    for (let i = 0; i < 20; i++) {
      expect(await reader.wrap('text', i, async () => 'computed', { memory: true })).to.equal(compressible(i));
    }
    const { memory } = await reader.info();
    expect(memory.bytes).to.be.at.most(MiB);
    expect(memory.entries).to.equal(5);
  });
});

describe('memory tier hits', () => {
  const result = () => ({ label: 'ok', scores: [0.1, 0.9], meta: { tokens: [{ id: 1 }] } });

  it('hands out values no caller can change: a mutation throws and the next hit is unaffected', async () => {
    const cache = newCache();
    const fn = counted(result);
    const missed = await cache.wrap('p', 'k', fn, { memory: true });
    missed.label = 'changed by the caller that computed it'; // its own value: the memory tier holds a copy
    const hit = await cache.wrap('p', 'k', fn, { memory: true });
    expect(() => (hit.label = 'x')).to.throw(TypeError);
    expect(() => hit.scores.push(1)).to.throw(TypeError);
    expect(() => (hit.meta.tokens[0]!.id = 2)).to.throw(TypeError);
    expect(await cache.wrap('p', 'k', fn, { memory: true })).to.deep.equal(result());
    expect(await cache.get('p', 'k')).to.deep.equal(result());
    expect(fn.calls).to.equal(1);
  });

  it('gives each caller its own copy of what cannot be frozen (Date, Map, Set, Buffer, typed arrays)', async () => {
    const cache = newCache({ redis: false });
    const value = () => ({
      at: new Date(0),
      map: new Map([['a', { n: 1 }]]),
      set: new Set([1]),
      bytes: Buffer.from('abc'),
      floats: new Float32Array([1, 2]),
      plain: { n: 1 },
    });
    const fn = counted(value);
    await cache.wrap('p', 'k', fn, { memory: true });
    const hit = await cache.wrap('p', 'k', fn, { memory: true });
    hit.at.setTime(1);
    hit.map.set('b', { n: 2 });
    hit.set.add(2);
    hit.bytes[0] = 0;
    hit.floats[0] = 9;
    expect(() => (hit.plain.n = 2)).to.throw(TypeError);
    expect(() => (hit.map.get('a')!.n = 2)).to.throw(TypeError);
    const next = await cache.wrap('p', 'k', fn, { memory: true });
    expect(next).to.deep.equal(value());
    expect(next.plain).to.equal(hit.plain); // frozen parts are shared, not copied
    expect(fn.calls).to.equal(1);
  });

  it('protects values read from Redis that went into memory, while the Redis hit itself gets its own', async () => {
    const writer = newCache();
    await writer.set('p', 'k', result());
    const reader = newCache();
    const fn = counted(result);
    const fromRedis = await reader.wrap('p', 'k', fn, { memory: true });
    fromRedis.label = 'changed';
    const hit = await reader.wrapDetailed('p', 'k', fn, { memory: true });
    expect(hit.tier).to.equal('memory');
    expect(hit.value).to.deep.equal(result());
    expect(Object.isFrozen(hit.value)).to.equal(true);
    expect(fn.calls).to.equal(0);
  });

  it('shares the stored object itself with memory: { shared: true }', async () => {
    const cache = newCache();
    const fn = counted(result);
    const options = { memory: { shared: true } };
    const missed = await cache.wrap('p', 'k', fn, options);
    const hit = await cache.wrap('p', 'k', fn, options);
    expect(hit).to.equal(missed);
    expect(Object.isFrozen(hit)).to.equal(false);
  });

  it('keeps @CachedModel returning the same live object', async () => {
    const cache = newCache();
    class Models {
      loads = 0;
      @CachedModel({ cache, name: 'scorer' })
      async load(region: string) {
        this.loads++;
        return { region, weights: new Float32Array([1, 2, 3]) };
      }
    }
    const models = new Models();
    const first = await models.load('eu');
    const second = await models.load('eu');
    expect(second).to.equal(first);
    expect(second.weights).to.equal(first.weights);
    expect(models.loads).to.equal(1);
  });

  it('keeps class instances stored through a user serialize in memory only when shared, and says so', async () => {
    class Weights {
      constructor(readonly w: number[]) {}
    }
    const custom = {
      serialize: (m: Weights) => Buffer.from(JSON.stringify(m.w)),
      deserialize: (b: Buffer) => new Weights(JSON.parse(b.toString()) as number[]),
    };
    const cache = newCache();
    const fn = counted(() => new Weights([1, 2]));
    await cache.wrap('m', 'copied', fn, { ...custom, memory: true });
    expect((await cache.wrapDetailed('m', 'copied', fn, { ...custom, memory: true })).tier).to.equal('redis');
    expect(warnings.filter((w) => w.includes('not kept in memory'))).to.have.length(1);
    const shared = { ...custom, memory: { shared: true } };
    const first = await cache.wrap('m', 'shared', fn, shared);
    expect(await cache.wrap('m', 'shared', fn, shared)).to.equal(first);
    expect(fn.calls).to.equal(2);
  });

  it('rejects a memory.shared that is not a boolean when the entry is first used', async () => {
    const cache = newCache();
    let error: unknown;
    await cache.wrap('p', 'k', async () => 1, { memory: { shared: 'yes' as never } }).catch((e) => (error = e));
    expect((error as { setting?: string }).setting).to.equal('wrap options.memory.shared');
  });
});
