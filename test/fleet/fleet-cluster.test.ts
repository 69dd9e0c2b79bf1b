/** Fleet statistics and hot keys on a 3-master Redis Cluster: each bucket's keys live on one slot, reads span nodes. */
import { expect } from 'chai';
import type { Cache } from '../../src/index.js';
import { sharedTestCluster, type TestCluster } from '../setup/cluster.js';
import { newCache } from '../helpers.js';

describe('fleet statistics on Redis Cluster', function () {
  this.timeout(30_000);
  let cluster: TestCluster;
  before(async () => {
    cluster = await sharedTestCluster();
  });

  async function onCluster(clock: () => number): Promise<Cache> {
    const cache = newCache({
      redis: { cluster: { rootNodes: cluster.rootNodes } },
      namespace: 'fleetc',
      fleet: { clock, sample: 1 },
    });
    await cache.connect();
    return cache;
  }

  it('adds the counters and hot keys of every instance across buckets on different nodes', async () => {
    let now = 1_800_000_000_000;
    const clock = () => now;
    const a = await onCluster(clock);
    const b = await onCluster(clock);
    for (let bucket = 0; bucket < 6; bucket++) {
      await a.wrap('price', `P${bucket}`, async () => bucket);
      await b.wrap('price', `P${bucket}`, async () => bucket);
      expect(await a.flushFleet()).to.equal(true);
      expect(await b.flushFleet()).to.equal(true);
      now += 10_000;
    }
    const fleet = await a.fleetStats({ window: '2m' });
    expect(fleet.instances).to.equal(2);
    expect(fleet.misses).to.equal(6);
    expect(fleet.hits).to.equal(6);
    expect(fleet.latency.hit.count + fleet.latency.miss.count).to.equal(12);
    const hot = await b.hotKeys('price', 10, { window: '2m' });
    expect(hot).to.have.length(6);
    expect(hot.every((k) => k.calls === 2)).to.equal(true);
  });
});
