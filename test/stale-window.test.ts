/**
 * The stale window ends: an entry is served stale only until ttl + staleWhileRevalidate, then a call misses, and
 * Redis keeps the entry for about ttl + staleWhileRevalidate, not longer.
 */
import { expect } from 'chai';
import { newCache, sleep, counted } from './helpers.js';
import { adminClient } from './setup/root-hooks.js';

describe('the stale window (staleWhileRevalidate)', () => {
  it('stores the entry in Redis for ttl + staleWhileRevalidate', async () => {
    const cache = newCache();
    await cache.wrap('prediction', 'p', async () => 1, { ttl: 60, staleWhileRevalidate: '30s' });
    await cache.close(); // the write landed
    const pttl = await adminClient().pTTL('infercache:prediction:v1:p');
    // 90 s, less the few ms (a few s on a very loaded machine) since the write: never more, never near 60 s
    expect(pttl).to.be.within(80_000, 90_000);
  });

  for (const memory of [false, true]) {
    const tier = memory ? 'memory and Redis tiers' : 'Redis tier';
    it(`misses once ttl + staleWhileRevalidate have passed (${tier})`, async () => {
      const cache = newCache();
      let version = 0;
      const fn = counted(() => ++version);
      const opts = { ttl: 0.1, staleWhileRevalidate: 0.2, memory };
      const storedAt = Date.now();
      expect(await cache.wrap('prediction', 'p', fn, opts)).to.equal(1);
      // ttl + swr = 300 ms: waiting longer is a lower bound that load cannot break (time only passes)
      await sleep(400);
      expect(Date.now() - storedAt).to.be.at.least(300);
      const after = await cache.wrapDetailed('prediction', 'p', fn, opts);
      expect(after).to.include({ result: 'miss', value: 2 });
      expect(fn.calls).to.equal(2);
    });
  }
});
