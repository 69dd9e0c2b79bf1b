import { expect } from 'chai';
import { newCache, counted, sleep, warnings } from './helpers.js';
import { adminClient } from './setup/root-hooks.js';
import { CachedError, ComputeTimeoutError, ConfigError } from '../src/index.js';
import { refreshEarly } from '../src/freshness.js';
import type { RewarmReport } from '../src/index.js';
import type { CacheRecord } from '../src/record.js';

/** A promise and the functions that settle it: a computation that ends when the test says so. */
function gate<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** The ConfigError a call rejects with (entry options are validated when first used). */
async function configError(call: Promise<unknown>): Promise<ConfigError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(ConfigError);
  return error as ConfigError;
}

/** Waits for `check` to hold (an event the test cannot await directly), failing after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

// Entries below expire after a TTL of 50 ms; a test sleeps well past it (100 ms or more) to read them expired. No
// assertion depends on how long anything takes.
const expired = () => sleep(120);
const upstream429 = () => Promise.reject(Object.assign(new Error('429 Too Many Requests'), { status: 429 }));

describe('grace on failure', () => {
  it('serves the expired value when recomputing it throws within the grace period, and counts it', async () => {
    const cache = newCache();
    const opts = { ttl: 0.05, grace: '1m' };
    await cache.wrap('llm', 'q', async () => 'answer', opts);
    await expired();
    const outcome = await cache.wrapDetailed('llm', 'q', upstream429, opts);
    expect(outcome).to.include({ value: 'answer', result: 'stale', reason: 'error', tier: 'redis' });
    const s = cache.stats().kinds.llm!;
    expect(s).to.include({ stale: 1, graced: 1, failures: 0 });
    expect(s.gracedReasons).to.deep.equal({ error: 1 });
    expect(cache.stats().gracedReasons).to.deep.equal({ error: 1 });
  });

  it('after a graced failure, serves the expired value without recomputing for grace.backoff, then retries', async () => {
    const cache = newCache();
    const long = { ttl: 0.05, grace: { duration: '1m', backoff: '1m' } };
    await cache.wrap('llm', 'q', async () => 'answer', long);
    await expired();
    const failing = counted(upstream429);
    expect(await cache.wrapDetailed('llm', 'q', failing, long)).to.include({ value: 'answer', reason: 'error' });
    expect(await cache.wrapDetailed('llm', 'q', failing, long)).to.include({ value: 'answer', reason: 'backoff' });
    expect(failing.calls).to.equal(1);
    expect(cache.stats().kinds.llm!.gracedReasons).to.deep.equal({ error: 1, backoff: 1 });
    const other = newCache(); // its own back-off (per process): retries, and a success ends it
    const short = { ttl: 0.05, grace: { duration: '1m', backoff: 0.05 } };
    expect(await other.wrapDetailed('llm', 'q', failing, short)).to.include({ reason: 'error' });
    await expired();
    expect(await other.wrapDetailed('llm', 'q', async () => 'new', short)).to.include({ value: 'new', result: 'miss' });
    expect(failing.calls).to.equal(2);
  });

  it('fails the call once the grace period is over', async () => {
    const cache = newCache();
    const opts = { ttl: 0.05, grace: 0.05 };
    await cache.wrap('llm', 'q', async () => 'answer', opts);
    await sleep(250);
    let error: unknown;
    await cache.wrap('llm', 'q', upstream429, opts).catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal('429 Too Many Requests');
    expect(cache.stats().kinds.llm!.failures).to.equal(1);
  });

  it('keeps entries in Redis for ttl + grace, reusing the stale-while-revalidate extension', async () => {
    const cache = newCache();
    await cache.wrap('llm', 'kept', async () => 1, { ttl: '1s', grace: '1m', staleWhileRevalidate: '10s' });
    const pttl = await adminClient().pTTL('infercache:llm:v1:kept');
    expect(pttl).to.be.within(59_000, 61_000);
  });

  it('serves an expired value only for its grace, not as stale-while-revalidate: a computation runs first', async () => {
    const cache = newCache();
    const opts = { ttl: 0.05, grace: '1m', memory: true };
    await cache.wrap('llm', 'q', async () => 1, opts);
    await expired();
    expect(await cache.wrapDetailed('llm', 'q', async () => 2, opts)).to.include({ value: 2, result: 'miss' });
  });

  it('does not cache a failure as an error (cacheErrors) when it served a graced value instead', async () => {
    const cache = newCache();
    const opts = { ttl: 0.05, grace: { duration: '1m', backoff: 0 }, cacheErrors: '1m' };
    await cache.wrap('llm', 'q', async () => 'answer', opts);
    await expired();
    expect(await cache.wrap('llm', 'q', upstream429, opts)).to.equal('answer');
    const next = await cache.wrapDetailed('llm', 'q', async () => 'new answer', opts);
    expect(next).to.include({ value: 'new answer', result: 'miss' });
  });

  it('never serves an expired cached error as a graced value', async () => {
    const cache = newCache();
    const opts = { ttl: 0.05, grace: '1m', cacheErrors: 0.05 };
    await cache.wrap('llm', 'q', upstream429, opts).catch(() => {});
    await expired();
    const error = await cache.wrap('llm', 'q', () => Promise.reject(new Error('still down')), opts).catch((e) => e);
    expect(error).to.not.be.instanceOf(CachedError);
    expect((error as Error).message).to.equal('still down');
  });

  it('serves an expired value kept in memory when Redis cannot be read and the computation throws', async () => {
    const cache = newCache({ redis: { url: 'redis://127.0.0.1:1' }, operationTimeout: '20ms' });
    const opts = { ttl: 0.05, grace: '1m', memory: true };
    await cache.wrap('llm', 'q', async () => 'answer', opts);
    await expired();
    expect(await cache.wrapDetailed('llm', 'q', upstream429, opts)).to.include({ value: 'answer', result: 'stale' });
  });

  it('rejects a bad grace when the entry is resolved', async () => {
    const cache = newCache();
    const error = await configError(cache.wrap('llm', 'q', async () => 1, { grace: '-1s' }));
    expect(error.setting).to.equal('wrap options.grace');
  });
});

describe('compute timeouts', () => {
  it('answers with the expired value after timeout.soft; the computation goes on, is joined and stored', async () => {
    const cache = newCache();
    // v1 expires after 50 ms; v2 lives a minute, so that a loaded machine still reads it back as a hit
    const ttl = (_args: unknown, value: unknown) => (value === 'v1' ? 0.05 : 60);
    const opts = { ttl, grace: '1m', timeout: { soft: '20ms' } };
    await cache.wrap('model', 'm', async () => 'v1', opts);
    await expired();
    const slow = gate<string>();
    const fn = counted(() => slow.promise);
    const first = await cache.wrapDetailed('model', 'm', fn, opts);
    expect(first).to.include({ value: 'v1', result: 'stale', reason: 'soft-timeout' });
    // while it runs, calls of the key join it and get the expired value at once: no second computation
    expect(await cache.wrapDetailed('model', 'm', fn, opts)).to.include({ value: 'v1', result: 'stale' });
    expect(fn.calls).to.equal(1);
    slow.resolve('v2');
    await until(async () => (await cache.get('model', 'm')) === 'v2');
    expect(await cache.wrapDetailed('model', 'm', fn, opts)).to.include({ value: 'v2', result: 'hit' });
    expect(fn.calls).to.equal(1);
    const s = cache.stats().kinds.model!;
    expect(s).to.include({ graced: 2, stale: 2, joined: 1 });
    expect(s.gracedReasons).to.deep.equal({ 'soft-timeout': 2 });
  });

  it('rejects with ComputeTimeoutError after timeout.hard when no expired value is kept; the result is stored', async () => {
    const cache = newCache();
    const slow = gate<string>();
    const opts = { timeout: { hard: '20ms' } };
    const error = await cache.wrap('model', 'm', () => slow.promise, opts).catch((e) => e);
    expect(error).to.be.instanceOf(ComputeTimeoutError).and.to.have.property('code', 'E_CACHE_COMPUTE_TIMEOUT');
    slow.resolve('late');
    await until(async () => (await cache.get('model', 'm')) === 'late');
  });

  it('serves the expired value after timeout.hard when one is in its grace period', async () => {
    const cache = newCache();
    const opts = { ttl: 0.05, grace: '1m', timeout: { hard: '20ms' } };
    await cache.wrap('model', 'm', async () => 'v1', opts);
    await expired();
    const never = gate<string>();
    const outcome = await cache.wrapDetailed('model', 'm', () => never.promise, opts);
    expect(outcome).to.include({ value: 'v1', result: 'stale', reason: 'hard-timeout' });
  });

  it('warns once when a computation it stopped waiting for fails later', async () => {
    const cache = newCache();
    const slow = gate<string>();
    await cache.wrap('model', 'm', () => slow.promise, { timeout: { hard: '10ms' } }).catch(() => {});
    slow.reject(new Error('boom'));
    await until(() => warnings.some((w) => w.includes('failed after its timeout: boom')));
  });

  it('rejects timeout.soft without grace, and a hard timeout not above the soft one', async () => {
    const cache = newCache();
    const soft = await configError(cache.wrap('m', 'k', async () => 1, { timeout: { soft: '1s' } }));
    expect(soft.setting).to.equal('wrap options.timeout.soft');
    const hard = await configError(
      cache.wrap('m', 'k', async () => 1, { grace: '1m', timeout: { soft: '1s', hard: '1s' } }),
    );
    expect(hard.setting).to.equal('wrap options.timeout.hard');
  });
});

describe('forceFresh', () => {
  it('computes and overwrites a fresh entry in both tiers', async () => {
    const cache = newCache();
    let n = 0;
    const fn = async () => ++n;
    await cache.wrap('price', 'p', fn, { memory: true });
    expect(await cache.wrapDetailed('price', 'p', fn, { memory: true, forceFresh: true })).to.include({
      value: 2,
      result: 'miss',
    });
    expect(await cache.wrapDetailed('price', 'p', fn, { memory: true })).to.include({ value: 2, result: 'hit' });
    const other = newCache();
    expect(await other.wrap('price', 'p', fn)).to.equal(2);
  });

  it('joins no computation already running, and later calls join the forced one', async () => {
    const cache = newCache();
    const old = gate<string>();
    const forced = gate<string>();
    const first = cache.wrap('price', 'p', () => old.promise);
    const second = cache.wrap('price', 'p', () => forced.promise, { forceFresh: true });
    const third = cache.wrap('price', 'p', async () => 'third ran');
    old.resolve('old');
    forced.resolve('new');
    expect(await Promise.all([first, second, third])).to.deep.equal(['old', 'new', 'new']);
  });
});

describe('earlyRefresh (XFetch)', () => {
  const record = (freshUntil: number, computeMs: number): CacheRecord => ({
    value: 1,
    createdAt: 0,
    freshUntil,
    staleUntil: freshUntil,
    computeMs,
    generations: [],
    state: 'value',
  });

  it('follows now - delta * beta * ln(random) >= expiry, with the clock and random source injected', () => {
    const early = { beta: 1, random: () => Math.exp(-1) }; // ln(random) = -1: refresh within delta*beta of expiry
    expect(refreshEarly(record(1000, 100), 899, early)).to.equal(false);
    expect(refreshEarly(record(1000, 100), 900, early)).to.equal(true);
    expect(refreshEarly(record(1000, 100), 799, { ...early, beta: 2 })).to.equal(false);
    expect(refreshEarly(record(1000, 100), 800, { ...early, beta: 2 })).to.equal(true);
    expect(refreshEarly(record(1000, 0), 999, early)).to.equal(false); // no compute time: at expiry only
  });

  it('refreshes a fresh memory hit in the background, once at a time, when the rule says so', async () => {
    const cache = newCache();
    // random() near 0: ln = -744, so a 20 ms computation is refreshed up to 15 s before a 5 s TTL ends: now
    const opts = { ttl: '5s', memory: true, earlyRefresh: { random: () => Number.MIN_VALUE } };
    let n = 0;
    const fn = counted(() => ++n, 20);
    await cache.wrap('hot', 'k', fn, opts);
    const hits = await Promise.all(Array.from({ length: 5 }, () => cache.wrapDetailed('hot', 'k', fn, opts)));
    expect(hits.map((h) => h.result)).to.deep.equal(['hit', 'hit', 'hit', 'hit', 'hit']);
    expect(hits.map((h) => h.value)).to.deep.equal([1, 1, 1, 1, 1]);
    expect(cache.stats().kinds.hot!.earlyRefreshes).to.equal(1);
    await until(async () => (await cache.get('hot', 'k')) === 2);
    expect(fn.calls).to.equal(2);
  });

  it('refreshes on a Redis hit too', async () => {
    const writer = newCache();
    const fn = counted(async () => 'v', 20);
    await writer.wrap('hot', 'k', fn, { ttl: '5s' });
    const reader = newCache();
    await reader.wrap('hot', 'k', fn, { ttl: '5s', earlyRefresh: { random: () => Number.MIN_VALUE } });
    expect(reader.stats().kinds.hot).to.include({ hits: 1, earlyRefreshes: 1 });
    await until(() => fn.calls === 2);
  });

  it('does not refresh a hit far from expiry', async () => {
    const cache = newCache();
    const opts = { ttl: '5s', memory: true, earlyRefresh: { beta: 1, random: () => 1 - 1e-12 } };
    const fn = counted(async () => 1, 20);
    await cache.wrap('hot', 'k', fn, opts);
    for (let i = 0; i < 20; i++) await cache.wrap('hot', 'k', fn, opts);
    expect(fn.calls).to.equal(1);
    expect(cache.stats().kinds.hot!.earlyRefreshes).to.equal(0);
  });

  it('rejects a bad beta when the entry is resolved', async () => {
    const cache = newCache();
    const error = await configError(cache.wrap('hot', 'k', async () => 1, { earlyRefresh: { beta: 0 } }));
    expect(error.setting).to.equal('wrap options.earlyRefresh.beta');
  });
});

describe('re-warm after invalidateKind', () => {
  it('recomputes the most used remembered keys in the background and reports them', async () => {
    const cache = newCache();
    let version = 1;
    const fn = counted((id: string) => `${id}@${version}`);
    const opts = { rewarm: 10 };
    const call = (id: string) => cache.wrapDetailed('price', id, () => fn(id), opts);
    for (const id of ['a', 'a', 'a', 'b', 'b', 'c']) await call(id);
    expect(fn.calls).to.equal(3);
    version = 2;
    const report = await new Promise<RewarmReport>((onDone) => {
      void cache.invalidateKind('price', { rewarm: { keys: 2, concurrency: 2, onDone } });
    });
    expect(report).to.include({ kind: 'price', succeeded: 2, failed: 0 });
    expect(report.keys).to.deep.equal(['infercache:price:v1:a', 'infercache:price:v1:b']);
    expect(fn.calls).to.equal(5);
    expect(await call('a')).to.include({ value: 'a@2', result: 'hit' });
    expect(await call('b')).to.include({ value: 'b@2', result: 'hit' });
    expect(await call('c')).to.include({ value: 'c@2', result: 'miss' });
  });

  it('remembers at most `rewarm` keys per kind, dropping the least recently used', async () => {
    const cache = newCache();
    for (const id of ['a', 'b', 'c']) await cache.wrap('price', id, async () => id, { rewarm: 2 });
    await cache.invalidateKind('price');
    const report = await cache.rewarm('price');
    expect([...report.keys].sort()).to.deep.equal(['infercache:price:v1:b', 'infercache:price:v1:c']);
  });

  it('reports failed recomputations without throwing', async () => {
    const cache = newCache();
    let fail = false;
    const fn = async () => {
      if (fail) throw new Error('model server down');
      return 1;
    };
    await cache.wrap('price', 'x', fn, { rewarm: true });
    fail = true;
    await cache.invalidateKind('price');
    const report = await cache.rewarm('price');
    expect(report).to.include({ succeeded: 0, failed: 1 });
    expect(report.errors).to.deep.equal([{ key: 'infercache:price:v1:x', message: 'model server down' }]);
  });

  it('recomputes nothing once the cache is closed', async () => {
    const cache = newCache();
    const fn = counted(async () => 1);
    await cache.wrap('price', 'x', fn, { rewarm: true });
    await cache.close();
    expect((await cache.rewarm('price')).keys).to.deep.equal([]);
    expect(fn.calls).to.equal(1);
  });

  it('remembers nothing for entries without the rewarm option', async () => {
    const cache = newCache();
    await cache.wrap('price', 'x', async () => 1);
    expect((await cache.rewarm('price')).keys).to.deep.equal([]);
  });

  it('rejects a bad rewarm option when the entry is resolved', async () => {
    const cache = newCache();
    const error = await configError(cache.wrap('price', 'x', async () => 1, { rewarm: 0 }));
    expect(error.setting).to.equal('wrap options.rewarm');
  });
});
