/** What a `wrap` call gives: the value and how it was served, at once (a memory hit) or as a promise. */
import type { CacheResult } from './stats.js';

/** What `wrapDetailed` returns: the value and how it was served. */
export interface WrapOutcome<T> {
  value: T;
  result: CacheResult;
  /** Seconds since the value was computed (0 on a miss). */
  age: number;
  tier: 'memory' | 'redis' | undefined;
  /**
   * Why the call bypassed the cache (with result `bypass`): `disabled`, `unkeyable`, `unavailable` (Redis could
   * not be read), or the reason an adapter's `bypassReason` gave for a computed value. With result `stale`, why an
   * expired value in its grace period was served: `error`, `backoff`, `soft-timeout` or `hard-timeout` (none for
   * stale-while-revalidate).
   */
  reason?: string;
}

/** What `run` gives: the outcome at once (a memory hit), or a promise of it. */
export type Served<T> = WrapOutcome<T> | Promise<WrapOutcome<T>>;
