/**
 * Cross-instance stampede protection: on a Redis miss, one instance takes a short lease on the key
 * (`SET {key}:lock <token> NX PX ttl`), computes and stores the value, then releases the lease with an atomic
 * compare-and-delete. The others poll for the value up to `wait`, then compute themselves. A lease whose holder
 * crashed expires by its PX. Every Redis failure means "compute locally": the lease never fails a call.
 */
import { randomBytes } from 'node:crypto';
import type { RedisTier } from './redis/tier.js';
import type { ReadResult } from './read.js';

/** Settings of an entry's lease, validated, in ms. */
export interface LockSettings {
  /** How long a lease lives if its holder never releases it. */
  ttl: number;
  /** Longest time a waiter polls for the holder's value before computing itself. */
  wait: number;
}

/** Deletes the lease only if it still holds our token (it may have expired and been taken by another instance). */
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/** First and longest pause between two polls of a waiter. */
const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 25;

/**
 * Key of the lease of an entry: `{namespace}:__lock:{kind}:{version}:{discriminator}`, in the reserved `__` space
 * so no entry (whatever its explicit id) can share it and `info()` does not count it as an entry. The release
 * script touches only this key, so on a cluster it may hash to another slot than the entry.
 */
export function lockKey(key: string): string {
  const colon = key.indexOf(':');
  return `${key.slice(0, colon)}:__lock${key.slice(colon)}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Takes, waits for and releases leases on the cache's Redis connection. */
export class Leases {
  readonly #redis: RedisTier;

  constructor(redis: RedisTier) {
    this.#redis = redis;
  }

  /**
   * Takes the lease of `key`, or waits for the instance that holds it. Returns our token when we hold the lease
   * (compute, store, then {@link release}); the holder's entry as read by `read` when it appeared; `undefined`
   * when the caller should compute without a lease (Redis failed, the lease vanished without an entry, or `wait`
   * passed).
   */
  async acquire(
    key: string,
    lock: LockSettings,
    read: () => Promise<ReadResult>,
  ): Promise<string | ReadResult | undefined> {
    const lk = lockKey(key);
    const token = randomBytes(12).toString('base64url');
    const reply = await this.#redis.send(lk, false, ['SET', lk, token, 'NX', 'PX', String(lock.ttl)]);
    if (reply === undefined) return undefined;
    if (reply !== null) return token;
    return this.#wait(lk, lock.wait, read);
  }

  /** Releases a lease taken by {@link acquire}, if it is still ours. Fire-and-forget. */
  release(key: string, token: string): void {
    const lk = lockKey(key);
    void this.#redis.send(lk, false, ['EVAL', RELEASE, '1', lk, token]);
  }

  async #wait(lk: string, wait: number, read: () => Promise<ReadResult>): Promise<ReadResult | undefined> {
    const deadline = performance.now() + wait;
    let pause = FIRST_POLL_MS;
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return undefined;
      await sleep(Math.min(pause, remaining));
      pause = Math.min(pause * 2, MAX_POLL_MS);
      // EXISTS is queued before the read on the same connection: when it says the lease is gone, the read
      // comes after the release, hence after the holder's write (on a cluster the two may go to different nodes,
      // and the worst case is one needless computation).
      const held = this.#redis.send(lk, true, ['EXISTS', lk]);
      const found = await read();
      if (found.failed) return undefined;
      if (found.record) return found;
      if ((await held) !== 1) return undefined;
    }
  }
}
