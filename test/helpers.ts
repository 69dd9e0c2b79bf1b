/** Shared test helpers: caches on the run's test Redis, closed after each test. */
import { createCache, type Cache, type CacheOptions } from '../src/index.js';
import { internalsOf } from '../src/cache.js';
import { testRedisUrl } from './setup/root-hooks.js';

const open: Cache[] = [];

/** Warnings logged by caches made with {@link newCache}. */
export const warnings: string[] = [];

/** A cache on the test Redis (unless `redis` is overridden); closed after the test. */
export function newCache(options: CacheOptions = {}): Cache {
  const cache = createCache({
    redis: { url: testRedisUrl() },
    // Tests assert behaviour, not timing: a loaded 2-core machine can take longer than the 50 ms default to connect
    // or answer. Tests of timeouts set their own `operationTimeout`.
    operationTimeout: '1s',
    logger: { warn: (m) => void warnings.push(m) },
    setDefault: false,
    ...options,
  });
  open.push(cache);
  return cache;
}

/** Closes every cache opened by the test. */
export async function closeCaches(): Promise<void> {
  const list = open.splice(0);
  warnings.length = 0;
  await Promise.all(list.map((c) => c.close()));
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A counting async function with a delay, standing in for a model. */
export function counted<A extends unknown[], R>(impl: (...args: A) => R, delayMs = 0) {
  const fn = async (...args: A): Promise<Awaited<R>> => {
    fn.calls++;
    if (delayMs) await sleep(delayMs);
    return await impl(...args);
  };
  fn.calls = 0;
  return fn;
}

afterEach(closeCaches);

/**
 * Waits until the writes `wrap` did not wait for (the store after a miss, its bus message) have reached Redis: use it
 * instead of sleeping, which a loaded machine outlasts. Bounded (10 s) so that a test cannot hang on it.
 */
export async function writesLanded(cache: Cache): Promise<void> {
  await internalsOf(cache).redis?.drain(10_000);
}

/** {@link writesLanded} for every cache made with {@link newCache} in this test. */
export async function allWritesLanded(): Promise<void> {
  await Promise.all(open.map(writesLanded));
}

/**
 * Resolves once `check()` holds, polling; fails after `limitMs`, which only ends a test that would hang (generous:
 * a loaded machine cannot reach it).
 */
export async function eventually(check: () => boolean | Promise<boolean>, limitMs = 10_000): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs) throw new Error(`condition not met after ${limitMs} ms`);
    await sleep(5);
  }
}

/**
 * Watches the MGETs of `cache`'s Redis tier: the keys each one sent and its reply, in order. With `holdFirst`, the
 * first one's reply waits for `release()` (a read kept out, so that the next reads wait for the end of their tick).
 */
export function watchReads(cache: Cache, options: { holdFirst?: boolean } = {}) {
  const backend = internalsOf(cache).redis!.backend as { mget(keys: string[]): Promise<Array<Buffer | null>> };
  const mget = backend.mget.bind(backend);
  const sent: string[][] = [];
  const replies: Array<Promise<unknown>> = [];
  let release = () => {};
  const held = options.holdFirst ? new Promise<void>((resolve) => (release = resolve)) : undefined;
  backend.mget = (keys) => {
    sent.push(keys);
    const reply = held && sent.length === 1 ? held.then(() => mget(keys)) : mget(keys);
    replies.push(reply);
    return reply;
  };
  return { sent, replies, release: () => release() };
}

export { configError } from './config-error.js';
