/** Many instances: cross-instance stampede protection with a Redis lease. Each `Cache` stands for one instance. */
import { expect } from 'chai';
import { newCache, sleep, counted } from './helpers.js';
import { adminClient } from './setup/root-hooks.js';
import { CachedModel, type Cache } from '../src/index.js';

const LOCK = 'infercache:__lock:llm:v1:q';

/** Resolves once `test()` holds; the limit (generous, for a loaded machine) only ends a test that would hang. */
async function until(test: () => boolean | Promise<boolean>, limitMs = 5000): Promise<void> {
  const started = performance.now();
  while (!(await test())) {
    if (performance.now() - started > limitMs) throw new Error('condition not met in time');
    await sleep(2);
  }
}

async function instances(n: number, options: Parameters<typeof newCache>[0] = {}): Promise<Cache[]> {
  const list = Array.from({ length: n }, () => newCache({ bus: false, ...options }));
  await Promise.all(list.map((c) => c.connect()));
  return list;
}

describe('many instances: one computation per key with a Redis lease', () => {
  it('five instances missing the same key compute it once; the others get it as a hit', async () => {
    const caches = await instances(5);
    const fn = counted(() => 'answer', 100);
    const outcomes = await Promise.all(caches.map((c) => c.wrapDetailed('llm', 'q', fn, { lock: true })));
    expect(fn.calls).to.equal(1);
    expect(outcomes.map((o) => o.value)).to.deep.equal(Array(5).fill('answer'));
    expect(outcomes.filter((o) => o.result === 'miss')).to.have.length(1);
    expect(outcomes.filter((o) => o.result === 'hit')).to.have.length(4);
    // released once the holder's write reached Redis (after the callers got their values), not at its 10 s ttl
    await until(async () => (await adminClient().exists(LOCK)) === 0);
  });

  it('five instances compute once when the holder writes through an async serialize (released after the write)', async () => {
    const caches = await instances(5);
    const fn = counted(() => 'answer', 50);
    const opts = {
      lock: true,
      // the write waits for this: a lease released when the computation ends, before the write lands, lets the
      // waiters find neither a lease nor a value, and compute
      serialize: async (v: string) => {
        await sleep(100);
        return Buffer.from(v);
      },
      deserialize: (bytes: Buffer) => bytes.toString(),
    };
    const values = await Promise.all(caches.map((c) => c.wrap('llm', 'q', fn, opts)));
    expect(values).to.deep.equal(Array(5).fill('answer'));
    expect(fn.calls).to.equal(1);
  });

  it('without lock every instance computes', async () => {
    const caches = await instances(5);
    const fn = counted(() => 'answer', 100);
    await Promise.all(caches.map((c) => c.wrap('llm', 'q', fn)));
    expect(fn.calls).to.equal(5);
  });

  it('waiters compute themselves once the lease of a crashed holder expires', async () => {
    await adminClient().set(LOCK, 'crashed-instance', { PX: 200 });
    const caches = await instances(3);
    const fn = counted(() => 'answer', 20);
    const started = performance.now();
    const values = await Promise.all(caches.map((c) => c.wrap('llm', 'q', fn, { lock: true })));
    const ms = performance.now() - started;
    expect(values).to.deep.equal(['answer', 'answer', 'answer']);
    expect(fn.calls).to.be.within(1, 3);
    expect(ms).to.be.at.least(190); // they waited for the lease (an upper bound would only measure the machine's load)
  });

  it('a waiter computes itself after `wait` even while the lease is held', async () => {
    await adminClient().set(LOCK, 'slow-instance', { PX: 60_000 });
    const [cache] = await instances(1);
    const fn = counted(() => 'answer');
    const started = performance.now();
    expect(await cache!.wrap('llm', 'q', fn, { lock: { ttl: '60s', wait: 0.1 } })).to.equal('answer');
    // waited `wait` (100 ms), not the lease's 60 s: 10 s is far from both, whatever the load
    expect(performance.now() - started).to.be.within(90, 10_000);
    expect(fn.calls).to.equal(1);
  });

  it('waiters do not wait out the lease when the holder fails: they compute as soon as it is released', async () => {
    const [holder, waiter] = await instances(2);
    let crash!: () => void;
    const crashed = new Promise<void>((resolve) => (crash = resolve));
    const failing = counted(async () => {
      await crashed;
      throw new Error('model crashed');
    });
    const fn = counted(() => 'answer');
    const first = holder!.wrap('llm', 'q', failing, { lock: true });
    await until(() => failing.calls === 1); // the holder has the lease
    const started = performance.now();
    const second = waiter!.wrap('llm', 'q', fn, { lock: true });
    await sleep(50); // lets the waiter find the lease held (had it not yet, it would compute at once: still passes)
    crash();
    await first.then(
      () => expect.fail('should throw'),
      (error: Error) => expect(error.message).to.equal('model crashed'),
    );
    expect(await second).to.equal('answer');
    expect(performance.now() - started).to.be.below(5000); // not the 10 s lease ttl
  });

  it('releases only its own lease: one taken over after expiry is left alone', async () => {
    const [cache] = await instances(1);
    const slow = counted(async () => {
      await sleep(150);
      await adminClient().set(LOCK, 'next-holder', { PX: 5000 }); // ours expired at 50 ms
      return 'answer';
    });
    expect(await cache!.wrap('llm', 'q', slow, { lock: { ttl: 0.05 } })).to.equal('answer');
    await cache!.close(); // waits for the release, whenever it lands
    expect(await adminClient().get(LOCK)).to.equal('next-holder');
  });

  it('computes locally when Redis is unreachable (fail-open)', async () => {
    const cache = newCache({ redis: { url: 'redis://127.0.0.1:1' }, operationTimeout: '20ms' });
    const fn = counted(() => 'answer');
    expect(await cache.wrap('llm', 'q', fn, { lock: true })).to.equal('answer');
    expect(fn.calls).to.equal(1);
  });

  it('@CachedModel takes a lease by default', async () => {
    const [cache] = await instances(1);
    let lockSeen = -1;
    class Models {
      @CachedModel({ cache: cache!, name: 'price-model', key: (region: string) => region })
      async load(region: string): Promise<string> {
        lockSeen = await adminClient().exists('infercache:__lock:model:v1:price-model#eu');
        return `model-${region}`;
      }
    }
    expect(await new Models().load('eu')).to.equal('model-eu');
    expect(lockSeen).to.equal(1);
  });

  it('rejects a bad lock option when the entry is resolved', async () => {
    const [cache] = await instances(1);
    let error: unknown;
    try {
      await cache!.wrap('llm', 'q', async () => 1, { lock: { ttl: 'soon' as never } });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.match(/lock\.ttl/);
  });
});

describe('lease keys', () => {
  it('cannot collide with an entry whose explicit id ends in :lock', async () => {
    const cache = newCache();
    await cache.set('model', 'x:lock', 'an entry');
    let computed = 0;
    const started = performance.now();
    const value = await cache.wrap('model', 'x', async () => ++computed, { lock: true });
    expect(value).to.equal(1);
    expect(performance.now() - started).to.be.below(5000); // it took the lease instead of waiting 10 s on the entry
    expect(await cache.get('model', 'x:lock')).to.equal('an entry');
  });

  it("reserves kinds starting with '__' for infercache's own keys", async () => {
    const error = await newCache()
      .wrap('__lock', 'x', async () => 1)
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.match(/reserved/);
  });
});
