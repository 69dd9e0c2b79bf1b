/** Many instances on a 3-master Redis Cluster: the invalidation bus and the lease. */
import { expect } from 'chai';
import { sharedTestCluster, type TestCluster } from './setup/cluster.js';
import { newCache, counted } from './helpers.js';
import type { Cache } from '../src/index.js';
import { internalsOf } from '../src/cache.js';

async function until(test: () => boolean, limitMs = 5000): Promise<void> {
  const started = performance.now();
  while (!test()) {
    if (performance.now() - started > limitMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('many instances on Redis Cluster', function () {
  this.timeout(30_000);
  let cluster: TestCluster;
  let seq = 0;
  let ns: string;
  beforeEach(() => {
    ns = `ci${++seq}`; // the run's cluster is shared with other files and never flushed
  });
  before(async function () {
    this.timeout(30_000);
    cluster = await sharedTestCluster();
  });

  const instance = async (): Promise<Cache> => {
    const cache = newCache({
      redis: { cluster: { rootNodes: cluster.rootNodes } },
      namespace: ns,
      operationTimeout: '500ms',
    });
    await cache.connect();
    return cache;
  };

  it("another instance's invalidation drops this instance's memory copy", async () => {
    const [a, b] = [await instance(), await instance()];
    expect(internalsOf(a).bus?.up).to.equal(true);
    await a.wrap('model', 'm', async () => 'v1', { memory: true });
    expect(await a.wrapDetailed('model', 'm', async () => 'x', { memory: true })).to.include({ tier: 'memory' });
    const before = internalsOf(a).bus!.counters.received;
    await b.invalidateKind('model');
    await until(() => internalsOf(a).bus!.counters.received > before, 1000);
    expect(await a.wrap('model', 'm', async () => 'v2', { memory: true })).to.equal('v2');
  });

  it('three instances missing the same key compute it once', async () => {
    const caches = [await instance(), await instance(), await instance()];
    const fn = counted(() => 'answer', 100);
    const outcomes = await Promise.all(caches.map((c) => c.wrapDetailed('llm', 'q', fn, { lock: true })));
    expect(fn.calls).to.equal(1);
    expect(outcomes.map((o) => o.result).sort()).to.deep.equal(['hit', 'hit', 'miss']);
  });
});
