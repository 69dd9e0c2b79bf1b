/** Many instances: cross-instance stampede protection with a Redis lease. Each `Cache` stands for one instance. */
import { expect } from 'chai';
import { newCache, sleep, counted, writesLanded } from './helpers.js';
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

/** How many EXISTS commands the test Redis has run: a lease waiter sends one each time it polls the lease. */
async function existsCalls(): Promise<number> {
  const stats = await adminClient().info('commandstats');
  return Number(/cmdstat_exists:calls=(\d+)/.exec(stats)?.[1] ?? 0);
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

  it("holds the lease while the holder's write is in flight, and releases it once the write landed", async () => {
    const [holder, waiter] = await instances(2);
    let serializing!: () => void;
    const serializeStarted = new Promise<void>((resolve) => (serializing = resolve));
    let finish!: () => void;
    const serialized = new Promise<void>((resolve) => (finish = resolve));
    const opts = {
      lock: true,
      serialize: async (v: string) => {
        serializing();
        await serialized; // the write waits here until the test lets it go on
        return Buffer.from(v);
      },
      deserialize: (bytes: Buffer) => bytes.toString(),
    };
    expect(await holder!.wrap('llm', 'q', async () => 'answer', opts)).to.equal('answer');
    await serializeStarted;
    // a round trip on the holder's connection: a release sent before it (too early) has been applied by its reply
    await holder!.get('other', 'x');
    expect(await adminClient().exists(LOCK), 'the lease is held until the write lands').to.equal(1);
    finish();
    await writesLanded(holder!);
    await until(async () => (await adminClient().exists(LOCK)) === 0);
    const fn = counted(() => 'recomputed');
    expect(await waiter!.wrap('llm', 'q', fn, opts)).to.equal('answer');
    expect(fn.calls).to.equal(0);
  });

  it('without lock every instance computes', async () => {
    const caches = await instances(5);
    const fn = counted(() => 'answer', 100);
    await Promise.all(caches.map((c) => c.wrap('llm', 'q', fn)));
    expect(fn.calls).to.equal(5);
  });

  it('waiters compute themselves once the lease of a crashed holder expires', async () => {
    const caches = await instances(3);
    const leaseSeen: Array<string | null> = [];
    const fn = counted(async () => {
      leaseSeen.push(await adminClient().get(LOCK)); // whose lease is there while computing
      return 'answer';
    });
    await adminClient().set(LOCK, 'crashed-instance', { PX: 200 });
    const values = await Promise.all(caches.map((c) => c.wrap('llm', 'q', fn, { lock: true })));
    expect(values).to.deep.equal(['answer', 'answer', 'answer']);
    expect(fn.calls).to.be.within(1, 3);
    // they waited for the crashed holder's lease to expire: no computation ran while it was there
    expect(leaseSeen).to.not.include('crashed-instance');
  });

  it('a waiter computes itself after `wait` even while the lease is held', async () => {
    await adminClient().set(LOCK, 'slow-instance', { PX: 60_000 });
    const [cache] = await instances(1);
    const fn = counted(() => 'answer');
    const started = performance.now();
    expect(await cache!.wrap('llm', 'q', fn, { lock: { ttl: '60s', wait: 0.1 } })).to.equal('answer');
    // waited `wait` (100 ms); waiting out the lease's 60 s would end the test by its 20 s timeout
    expect(performance.now() - started).to.be.at.least(90);
    expect(fn.calls).to.equal(1);
  });

  it('waiters do not wait out the lease when the holder fails: they compute as soon as it is released', async () => {
    const [holder, waiter] = await instances(2);
    // a lease of a minute, waited for a minute: a waiter that waited it out would end the test by its 20 s timeout
    const lock = { ttl: '60s', wait: '60s' } as const;
    let crash!: () => void;
    const crashed = new Promise<void>((resolve) => (crash = resolve));
    const failing = counted(async () => {
      await crashed;
      throw new Error('model crashed');
    });
    const fn = counted(() => 'answer');
    const first = holder!.wrap('llm', 'q', failing, { lock });
    await until(() => failing.calls === 1); // the holder has the lease
    const polls = await existsCalls();
    const second = waiter!.wrap('llm', 'q', fn, { lock });
    await until(async () => (await existsCalls()) > polls); // the waiter found the lease held and polls it
    crash();
    await first.then(
      () => expect.fail('should throw'),
      (error: Error) => expect(error.message).to.equal('model crashed'),
    );
    expect(await second).to.equal('answer');
    expect(fn.calls).to.equal(1);
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
    // a lease key equal to the entry's key would make this call wait out `wait` (60 s): the test's 20 s timeout
    const value = await cache.wrap('model', 'x', async () => ++computed, { lock: { ttl: '60s', wait: '60s' } });
    expect(value).to.equal(1);
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
