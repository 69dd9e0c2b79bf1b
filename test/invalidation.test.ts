import { expect } from 'chai';
import { newCache, counted } from './helpers.js';
import { adminClient } from './setup/root-hooks.js';

describe('invalidation', () => {
  it('invalidateKind makes 10 000 entries unreadable in one round trip, other kinds untouched', async () => {
    const cache = newCache({ operationTimeout: '10s' }); // 10 000 commands at once on a loaded machine
    const N = 10_000;
    await Promise.all(Array.from({ length: N }, (_, i) => cache.set('price', `p${i}`, i)));
    await cache.set('model', 'm', 'kept');
    expect(await adminClient().dbSize()).to.be.at.least(N);
    const commandsBefore = await commandCount();
    await cache.invalidateKind('price');
    // EVAL (with its EXISTS and INCR), the bus PUBLISH, the INFO of this check: the same for 10 or 10 million entries
    expect((await commandCount()) - commandsBefore).to.be.at.most(5);
    const other = newCache({ operationTimeout: '10s' }); // 10 000 commands at once on a loaded machine
    const fn = counted(() => -1);
    const reads = await Promise.all(Array.from({ length: N }, (_, i) => other.wrap('price', `p${i}`, fn)));
    expect(reads.every((r) => r === -1)).to.equal(true);
    expect(fn.calls).to.equal(N);
    expect(await other.get('model', 'm')).to.equal('kept');
  });

  it('invalidateTags drops the entries of one tag across kinds and keeps the rest', async () => {
    const cache = newCache();
    const tagged = (charger: string) => ({ tags: [`charger:${charger}`] });
    await cache.wrap('failure', 'CHG_1', async () => 'f1', tagged('CHG_1'));
    await cache.wrap('anomaly', 'CHG_1', async () => 'a1', tagged('CHG_1'));
    await cache.wrap('failure', 'CHG_2', async () => 'f2', tagged('CHG_2'));
    await cache.invalidateTags('charger:CHG_1');
    const fn = counted(() => 'recomputed');
    expect(await cache.wrap('failure', 'CHG_1', fn, tagged('CHG_1'))).to.equal('recomputed');
    expect(await cache.wrap('anomaly', 'CHG_1', fn, tagged('CHG_1'))).to.equal('recomputed');
    expect(await cache.wrap('failure', 'CHG_2', fn, tagged('CHG_2'))).to.equal('f2');
  });

  it('tag invalidation on 10 000 entries leaves none readable', async () => {
    const cache = newCache({ operationTimeout: '10s' }); // 10 000 commands at once on a loaded machine
    const N = 10_000;
    const opts = { tags: ['user:42'] };
    await Promise.all(Array.from({ length: N }, (_, i) => cache.wrap('reply', `q${i}`, async () => i, opts)));
    await cache.invalidateTags('user:42');
    const fn = counted(() => -1);
    const reads = await Promise.all(Array.from({ length: N }, (_, i) => cache.wrap('reply', `q${i}`, fn, opts)));
    expect(reads.every((r) => r === -1)).to.equal(true);
  });

  it('invalidateAll drops every kind; a version bump makes old entries unreachable', async () => {
    const v1 = newCache({ version: 'v1' });
    await v1.set('a', 'k', 1);
    await v1.set('b', 'k', 2);
    const v2 = newCache({ version: 'v2' });
    expect(await v2.get('a', 'k')).to.equal(undefined);
    await v1.invalidateAll();
    expect(await v1.get('a', 'k')).to.equal(undefined);
    expect(await v1.get('b', 'k')).to.equal(undefined);
  });

  it('a value computed while its kind was invalidated is not served afterwards', async () => {
    const cache = newCache();
    let release!: () => void;
    let began!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const computing = new Promise<void>((r) => (began = r));
    const slow = cache.wrap('price', 'race', async () => {
      began();
      await gate;
      return 'computed before retrain';
    });
    await computing; // the computation began (before the invalidation), whatever the machine's load
    await cache.invalidateKind('price');
    release();
    await slow;
    const fn = counted(() => 'after retrain');
    expect(await newCache().wrap('price', 'race', fn)).to.equal('after retrain');
  });

  it('invalidation clears the memory tier of the instance that invalidates', async () => {
    const cache = newCache();
    let n = 0;
    const fn = counted(() => 'model-v' + ++n);
    expect(await cache.wrap('model', 'm', fn, { memory: true })).to.equal('model-v1');
    await cache.invalidateKind('model');
    expect(await cache.wrap('model', 'm', fn, { memory: true })).to.equal('model-v2');
  });
});

async function commandCount(): Promise<number> {
  const info = await adminClient().info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)![1]);
}

describe('invalidation counters lost to eviction', () => {
  // Redis under an allkeys-* eviction policy may evict a counter like any key: DEL has the same effect.
  for (const scope of ['kind', 'tag', 'all'] as const) {
    it(`never brings back an entry invalidated before its ${scope} counter was evicted`, async () => {
      const cache = newCache({ bus: false });
      const opts = { tags: ['user:7'] };
      await cache.wrap('price', 'a', async () => 'old', opts);
      if (scope === 'kind') await cache.invalidateKind('price');
      if (scope === 'tag') await cache.invalidateTags('user:7');
      if (scope === 'all') await cache.invalidateAll();
      const counter = {
        kind: 'infercache:__gen:kind:price',
        tag: 'infercache:__gen:tag:user:7',
        all: 'infercache:__gen:all',
      };
      expect(await adminClient().del(counter[scope])).to.equal(1);
      expect(await cache.wrap('price', 'a', async () => 'new', opts)).to.equal('new');
      expect(await cache.wrap('price', 'a', async () => 'newer', opts)).to.equal('new');
    });
  }

  it('keeps kind counters, and gives tag counters a TTL that outlives the entries carrying the tag', async () => {
    const cache = newCache({ bus: false });
    await cache.wrap('reply', 'q', async () => 'a', { tags: ['user:9'], ttl: '10m' });
    const admin = adminClient();
    expect(await admin.pTTL('infercache:__gen:kind:reply')).to.equal(-1);
    const entryTtl = await admin.pTTL((await admin.keys('infercache:reply:*'))[0]!);
    const tagTtl = await admin.pTTL('infercache:__gen:tag:user:9');
    expect(entryTtl).to.be.greaterThan(0);
    expect(tagTtl).to.be.at.least(entryTtl);
  });
});
