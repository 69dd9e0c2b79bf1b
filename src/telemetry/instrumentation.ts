/**
 * The one seam between the cache and its telemetry. The `Cache` and the `Loader` call an `Instrumentation` at fixed
 * points (an operation's start and end, leaving the memory tier, the Redis read, the computation, the write, a
 * swallowed Redis error, a joined computation); the default does nothing, and the OpenTelemetry implementation
 * (`Telemetry`, telemetry.ts) is the one subscriber. No public method is patched; this module imports no OpenTelemetry.
 */
import type { CacheResult, StatsListener } from '../stats.js';
import type { SendReport } from '../redis/tier.js';

/** What an operation's outcome says about how it was served. */
export interface OperationOutcome {
  result?: CacheResult;
  tier?: 'memory' | 'redis' | undefined;
  age?: number;
}

/** The part of a Redis read the call's span reports. */
export interface LookupResult {
  failed: boolean;
  size?: number;
}

/** One kind of public operation: its `infercache.operation` value, its span name and what its value says. */
export interface Operation {
  /** `wrap`, `get`, `set`, `delete`, `invalidate_kind`, `invalidate_tags`, `invalidate_all`, `refresh`. */
  readonly name: string;
  /** Span name when the call has no site: `infercache <method>`. */
  readonly spanName: string;
  /** Whether the operation always goes to Redis (then its span has `db.system.name`). */
  readonly redis: boolean;
  /** Turns the operation's value into a result, a tier and an age. */
  readonly describe?: (value: unknown) => OperationOutcome;
}

const op = (name: string, method: string, redis: boolean, describe?: Operation['describe']): Operation =>
  Object.freeze({ name, spanName: `infercache ${method}`, redis, describe });

/** The operations of the `Cache`, as passed to {@link Instrumentation.operation}. */
export const OPERATIONS = Object.freeze({
  wrap: op('wrap', 'wrap', false, (value) => {
    const o = value as { result: CacheResult; tier: 'memory' | 'redis' | undefined; age: number };
    return { result: o.result, tier: o.tier, age: o.age };
  }),
  get: op('get', 'get', true, (value) => ({ result: value === undefined ? 'miss' : 'hit' })),
  set: op('set', 'set', true),
  delete: op('delete', 'delete', true),
  invalidateKind: op('invalidate_kind', 'invalidateKind', true),
  invalidateTags: op('invalidate_tags', 'invalidateTags', true),
  invalidateAll: op('invalidate_all', 'invalidateAll', true),
  refresh: op('refresh', 'refresh', false),
});

/** A `wrap` call's handle, given by {@link Instrumentation.load} and passed back by the loader; opaque to it. */
export type Traced = object | undefined;

/** Where the cache reports to. Every method must be cheap when nothing records, and must never throw into the call. */
export interface Instrumentation {
  /** Whether anything records now; when false the caller may skip {@link operation} and {@link wrap}. */
  recording(): boolean;
  /** Runs one public operation (`get`, `set`, ...): its span and its duration. */
  operation<T>(operation: Operation, kind: string | undefined, run: () => Promise<T>): Promise<T>;
  /**
   * Runs one `wrap` call from `site` (`Class.method`, `route GET /x`; undefined for a direct call). Its span starts
   * when the call leaves the memory tier ({@link load}), so that a memory-tier hit costs no span unless asked. An
   * outcome `run` returns as it is (a memory-tier hit) is observed at once and returned as it is: no promise.
   */
  wrap<T extends OperationOutcome>(site: string | undefined, kind: string, run: () => T | Promise<T>): T | Promise<T>;
  /**
   * Called by the loader when a `wrap` call goes past the memory tier (single-flight, Redis, computation); `run` gets
   * the call's handle, to pass to {@link readRedis}, {@link joined} and {@link beyond}.
   */
  load<T>(run: (call: Traced) => Promise<T>): Promise<T>;
  /** The call goes past the cache (a lease, a computation): `run` is what it does there. */
  beyond<T>(call: Traced, run: () => Promise<T>): Promise<T>;
  /** A stale-while-revalidate or early background refresh. */
  refresh<T>(kind: string, run: () => Promise<T>): Promise<T>;
  /** The Redis read of `key` (entry and generation counters) ended with `found` (called by the `wrap` call, after it). */
  readRedis(call: Traced, key: string, found: LookupResult): void;
  /** The user's computation on a miss or refresh. */
  compute<T>(kind: string, fn: () => T): T;
  /** The write of a computed value; `sent` tells whether Redis refused it. */
  store<T>(kind: string, write: (sent: SendReport) => Promise<T>): Promise<T>;
  /** A Redis error the cache swallowed (fail-open) during the current operation. */
  redisError(): void;
  /** The call joined a computation already running (single-flight). */
  joined(call: Traced): void;
  /** Told of every counted event of `Stats` (metrics), or undefined. */
  readonly metrics: StatsListener | undefined;
}

/** The instrumentation of a cache with `telemetry: { enabled: false }`: does nothing, costs a call. */
export const NO_INSTRUMENTATION: Instrumentation = Object.freeze({
  recording: () => false,
  operation: <T>(_o: Operation, _k: string | undefined, run: () => Promise<T>) => run(),
  wrap: <T>(_s: string | undefined, _k: string, run: () => T | Promise<T>) => run(),
  load: <T>(run: (call: Traced) => Promise<T>) => run(undefined),
  beyond: <T>(_c: Traced, run: () => Promise<T>) => run(),
  refresh: <T>(_k: string, run: () => Promise<T>) => run(),
  readRedis: () => {},
  compute: <T>(_k: string, fn: () => T) => fn(),
  store: <T>(_k: string, write: (sent: SendReport) => Promise<T>) => write({}),
  redisError: () => {},
  joined: () => {},
  metrics: undefined,
});
