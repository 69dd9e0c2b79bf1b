/**
 * Options of `createCache` and of each cached entry, validated once when the cache is created; each default is
 * stated by its JSDoc `@default` and lives in src/defaults.ts.
 */
import type { RedisClientType, RedisClusterType } from 'redis';
import type { Duration } from './duration.js';
import type { TtlSpec } from './ttl.js';
import type { Cache } from './cache.js';
import type { FleetOptions } from './fleet/options.js';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';

/** How to reach Redis. */
export interface RedisOptions {
  /**
   * `redis://[user:password@]host[:port][/db]` or `rediss://` for TLS; checked when the cache is created (a host, a
   * port from 1 to 65535, an integer db path, no query string).
   */
  url?: string;
  /** Password, when not in the URL (`REDIS_PASSWORD`); giving it in both is an error. */
  password?: string;
  /** Database number, when not in the URL (`REDIS_DB`); giving it in both is an error. @default 0 */
  db?: number;
  /**
   * An existing node-redis (v5 or later) client or cluster, made with `createClient` or `createCluster` from `redis`;
   * anything else (ioredis, node-redis 4) is refused when the cache is created. A client you connected stays open
   * when the cache closes; one you hand over unconnected is connected by the cache and closed with it (see
   * `closeClient`).
   */
  client?: RedisClientType<any, any, any, any, any> | RedisClusterType<any, any, any, any, any> | RedisClusterType;
  /** Redis Cluster: root nodes and per-node defaults (auth, TLS, timeouts). */
  cluster?: { rootNodes: Array<{ url: string }>; defaults?: Record<string, unknown> };
  /** Time allowed for one connection attempt (> 0). @default '2s' */
  connectTimeout?: Duration;
  /** Close the socket after this long (> 0) without traffic; a reconnect follows. @default undefined (no timeout) */
  socketTimeout?: Duration;
  /**
   * Close the client passed in `client` when the cache closes: `true` always, `false` never.
   * @default closes it only if the cache opened its connection (you handed it over without connecting it)
   */
  closeClient?: boolean;
  /**
   * Extra node-redis client options (e.g. `socket.tls`, `socket.ca`, `username`/`password`), merged under ours; a
   * password here is scrubbed from messages like any other. @default undefined
   */
  clientOptions?: Record<string, unknown>;
}

/** In-process tier bounds. */
export interface MemoryOptions {
  /** Most entries kept. @default 1000 */
  maxEntries?: number;
  /**
   * Most bytes kept, each entry counted as its value's uncompressed encoded size (MessagePack, before compression
   * and encryption): compression in Redis does not let more into memory. Live objects take about 2–5× that on the
   * heap (strings, Buffers and typed arrays about 1×); a value that cannot be encoded (kept with `shared: true`)
   * counts as 1 byte. @default 64 MiB
   */
  maxBytes?: number;
  /** Longest time an entry is served from memory without looking at Redis again. @default undefined (the entry's TTL) */
  maxTtl?: Duration;
  /**
   * Many instances: while the invalidation bus is down (and Redis is up), an entry is served from memory at most
   * this long after it was stored, then re-read from Redis. Only read from the cache-wide `memory` option.
   * @default '1s'
   */
  busDownTtl?: Duration;
}

/** The `memory` option of one entry (a method, a route, a `wrap` call): the tier's bounds, and how hits are shared. */
export interface EntryMemoryOptions extends MemoryOptions {
  /**
   * Hand every memory hit the same object, as it was stored (zero-copy): you promise not to mutate results. Without
   * it each hit is read-only (plain objects and arrays deeply frozen) or a copy (the parts that cannot be frozen:
   * Date, Map, Set, Buffer, typed arrays), so no caller can change what the next one gets; values that cannot be
   * encoded are then not kept. Only `{ shared: true }` uses the cache-wide tier; with bounds, the kind's own.
   * @default false (true for `@CachedModel`: a model is a live object meant to be shared)
   */
  shared?: boolean;
}

/** Circuit breaker around Redis. */
export interface BreakerOptions {
  /** Consecutive failures that open the breaker. @default 5 */
  threshold?: number;
  /** First wait before a probe; doubles on each failed probe. @default '500ms' */
  cooldown?: Duration;
  /** Longest wait between probes: hits resume at most this long after Redis answers again. @default '5s' */
  maxCooldown?: Duration;
}

/** A logger; infercache logs only warnings and state changes, never keys, values or secrets. */
export interface Logger {
  warn(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
}

/** OpenTelemetry spans and metrics (see the README's telemetry table). */
export interface TelemetryOptions {
  /** Emit spans and metrics. With no SDK registered they cost next to nothing anyway. @default true */
  enabled?: boolean;
  /** Tracer provider to use instead of the global one. @default the global provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** Meter provider to use instead of the global one. @default the global provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /**
   * Record a hash of each key on spans (`infercache.key.hash`, first 16 hex digits of its SHA-256). Keys are never
   * recorded raw; `true` and `'hash'` mean the same. @default false
   */
  recordKeys?: boolean | 'hash';
  /**
   * Spans for `wrap` calls served from the memory tier. By default they get none (they are still counted and timed
   * in the metrics): a span costs several times such a hit. `true` traces every one; a number between 0 and 1
   * traces that share of them, chosen at random (`0.01`: one in a hundred). Misses, bypasses and errors always get
   * their span; a hit without one is an event on the caller's span. @default false
   */
  traceMemoryHits?: boolean | number;
  /**
   * Spans for `wrap` calls served from Redis (hits and stale values). By default they get none: they are counted and
   * timed in the metrics, and noted as an event on the caller's span (if it records); a span costs about a quarter
   * of such a hit. `true` traces every one, a number between 0 and 1 that share of them, chosen at random. A call
   * given a span this way has it from the moment it leaves the memory tier, so the Redis client's spans of its read
   * nest under it. @default false
   */
  traceRedisHits?: boolean | number;
}

/** Options of {@link createCache}. */
export interface CacheOptions {
  /** Redis connection; omit or `false` for a memory-only cache. */
  redis?: RedisOptions | false;
  /** Key prefix. @default 'infercache' */
  namespace?: string;
  /** Bump to make every earlier entry unreachable. @default 'v1' */
  version?: string;
  /**
   * TTL per kind, plus `default`. A kind's TTL comes from here first, then from `ttlEnv`, then from `default`.
   * @default { default: '1h' }
   */
  ttl?: Record<string, TtlSpec | undefined>;
  /**
   * `CACHE_TTL_<KIND>` variables (durations; a bare number is seconds), as `configFromEnv()` returns them. Kind
   * `price-model` reads `CACHE_TTL_PRICE_MODEL`: the kind upper-cased, `-` and `.` turned into `_`. `createCache`
   * reads no environment variable by itself: these are the only ones it uses. @default {}
   */
  ttlEnv?: Record<string, string | undefined>;
  /** Shorten each stored TTL by up to jitter×ttl at random (0..1), so a burst does not expire at once. @default 0 */
  ttlJitter?: number;
  /** Turn the cache off: every call runs uncached. @default true */
  enabled?: boolean;
  /**
   * Longest wait for one Redis operation on the request path (> 0, at most 10 s: a number is seconds, so `50` would
   * be 50 s and is refused; write `'50ms'`). @default '50ms'
   */
  operationTimeout?: Duration;
  /** Hash explicit ids and tags too, so no personal data appears in a key. @default false */
  hashKeys?: boolean;
  /** In-process tier bounds (used by entries with `memory: true`). */
  memory?: MemoryOptions;
  /** Compress values at or above this many bytes. @default 16384 */
  compressThreshold?: number;
  /** Do not store values above this many encoded bytes. @default 4 MiB */
  maxEntryBytes?: number;
  /** AES-256-GCM key (32 bytes, hex or base64) to encrypt values at rest. */
  encryptionKey?: string | Uint8Array;
  /** Circuit breaker settings. */
  breaker?: BreakerOptions;
  /** Throw on arguments that cannot be keyed instead of bypassing the cache. @default false */
  strict?: boolean;
  /** Where warnings go. @default a logger writing to console.warn */
  logger?: Logger | false;
  /** OpenTelemetry spans and metrics. @default { enabled: true } with the global providers */
  telemetry?: TelemetryOptions;
  /**
   * What one computation of a kind costs (in your currency, e.g. `{ llm: 0.002 }`): each hit adds it to
   * `stats().costSaved` and to the `infercache.cost_saved` metric. @default {} (no cost)
   */
  costPerCall?: Record<string, number>;
  /**
   * Keep the memory tiers of many instances coherent over Redis pub/sub (channel `{namespace}:__bus`): every set,
   * delete, invalidation and write of a memory-tier entry is published, and other instances drop their copy. The
   * subscriber connection opens on first memory-tier use or on `connect()`. Ignored without
   * Redis. @default true
   */
  bus?: boolean;
  /**
   * Fleet statistics: every few seconds this instance adds its counters, latency histograms and sampled hot keys to
   * Redis (`{namespace}:__fleet:*`, 10 s buckets that expire), for `fleetStats()`, `hotKeys()`, the dashboard and the
   * CLI. Ignored without Redis. @default true (with Redis)
   */
  fleet?: boolean | FleetOptions;
  /** Make this the default cache used by decorators. @default true for the first cache created */
  setDefault?: boolean;
}

/** Arguments-aware function used by `key`, `tags`, `when` and `ttl`. */
export type ArgsFn<R> = (...args: any[]) => R;

/** Options of one cached entry: the same for the decorators and for `wrap`. */
export interface EntryOptions<T = unknown> {
  /** Kind of result; picks the TTL and groups stats and invalidation. */
  kind?: string;
  /** TTL of this entry: a duration or a function of (args, result). */
  ttl?: TtlSpec;
  /** Tags for group invalidation: strings, or a function of the arguments. */
  tags?: readonly string[] | ArgsFn<readonly string[]>;
  /** Keep serving an expired value for this long while one background refresh runs. @default 0 */
  staleWhileRevalidate?: Duration;
  /**
   * Grace period: for this long after expiry, the expired value is kept, and served (result `stale`, counted in
   * `stats().graced` with its reason) when recomputing it fails (throws, e.g. an upstream 429 or 5xx) or outlives a
   * `timeout`, instead of failing the call. Redis keeps entries for ttl + the longer of this and
   * `staleWhileRevalidate`. Cached errors (`cacheErrors`) are never served this way, and a failure that is graced is
   * not cached as an error. `{ duration, backoff }`: after such a failure, the expired value is served for `backoff`
   * (reason `backoff`; this process, this key) before the next attempt to recompute, so a failing upstream is not
   * retried on every call (`backoff` defaults to 1 s). @default 0 (no grace)
   */
  grace?: Duration | { duration: Duration; backoff?: Duration };
  /**
   * Timeouts of one computation. `soft`: when an expired value in its `grace` period exists and recomputing takes
   * longer than this, answer with the expired value (counted as graced, reason `soft-timeout`) and let the
   * computation finish in the background and store its result; needs `grace`. `hard`: stop waiting for a
   * computation after this long: serve the expired value if one is in its grace period (reason `hard-timeout`), else
   * reject with `ComputeTimeoutError`; the computation keeps running and its result is stored. Callers of the same
   * key meanwhile join the running computation. @default undefined (wait as long as the computation takes)
   */
  timeout?: { soft?: Duration; hard?: Duration };
  /**
   * Probabilistic early refresh (XFetch): a hit refreshes the entry in the background (one refresh per key and
   * instance at a time) with a probability rising as expiry nears, scaled by how long its last computation took
   * and by `beta` (above 1 refreshes earlier, below 1 later), so a hot key is recomputed about once per TTL and never
   * expires under load. `random` replaces `Math.random` (for tests). Counted in `stats().earlyRefreshes`.
   * @default false
   */
  earlyRefresh?: boolean | { beta?: number; random?: () => number };
  /**
   * Remember up to this many recently used keys of this entry in this process (`true`: 100), with their function
   * and options, so `cache.invalidateKind(kind, { rewarm })` can recompute the most used ones in the background. The
   * functions and their arguments stay in memory until evicted. @default false
   */
  rewarm?: boolean | number;
  /**
   * Use the in-process tier: `true`, or its bounds for this kind and `shared`. Hits are read-only copies unless
   * `shared: true`. @default false (`{ shared: true }` for `@CachedModel`)
   */
  memory?: boolean | EntryMemoryOptions;
  /** Cache only results for which this returns true. */
  when?: (result: T, args: readonly unknown[]) => boolean;
  /** Cache errors (negative caching) for this long; `true` uses 10 s. @default false */
  cacheErrors?: boolean | Duration | { ttl: Duration; when?: (error: unknown) => boolean };
  /**
   * Share one computation across instances: on a Redis miss one instance takes a short Redis lease and computes;
   * the others poll for its result up to `wait`, then compute themselves. `ttl` bounds a lease whose holder died.
   * `true` means `{ ttl: '10s', wait: ttl }`. @default false (true for `@CachedModel`)
   */
  lock?: boolean | { ttl?: Duration; wait?: Duration };
  /** Custom serialisation for the Redis tier (e.g. a model's weights). */
  serialize?: (value: T) => Uint8Array | Promise<Uint8Array>;
  /** Inverse of `serialize`. */
  deserialize?: (bytes: Buffer) => T | Promise<T>;
  /** The cache to use instead of the default one. */
  cache?: Cache;
}

/*
 * Names of the options, derived from their types: a name missing here or not in the type fails to compile, so the
 * lists that reject unknown options (with a did-you-mean) cannot drift from the interfaces above.
 */

/** Every `createCache` option. */
export const CACHE_OPTIONS = {
  redis: true,
  namespace: true,
  version: true,
  ttl: true,
  ttlEnv: true,
  ttlJitter: true,
  enabled: true,
  operationTimeout: true,
  hashKeys: true,
  memory: true,
  compressThreshold: true,
  maxEntryBytes: true,
  encryptionKey: true,
  breaker: true,
  strict: true,
  logger: true,
  telemetry: true,
  costPerCall: true,
  bus: true,
  fleet: true,
  setDefault: true,
} as const satisfies Record<keyof CacheOptions, true>;

/** Every `redis` option. */
export const REDIS_OPTIONS = {
  url: true,
  password: true,
  db: true,
  client: true,
  cluster: true,
  connectTimeout: true,
  socketTimeout: true,
  closeClient: true,
  clientOptions: true,
} as const satisfies Record<keyof RedisOptions, true>;

/** Every `redis.cluster` option. */
export const CLUSTER_OPTIONS = {
  rootNodes: true,
  defaults: true,
} as const satisfies Record<keyof NonNullable<RedisOptions['cluster']>, true>;

/** Every `memory` option (cache-wide, and of one entry). */
export const MEMORY_OPTIONS = {
  maxEntries: true,
  maxBytes: true,
  maxTtl: true,
  busDownTtl: true,
} as const satisfies Record<keyof MemoryOptions, true>;

/** Every `breaker` option. */
export const BREAKER_OPTIONS = {
  threshold: true,
  cooldown: true,
  maxCooldown: true,
} as const satisfies Record<keyof BreakerOptions, true>;

/** Every `telemetry` option. */
export const TELEMETRY_OPTIONS = {
  enabled: true,
  tracerProvider: true,
  meterProvider: true,
  recordKeys: true,
  traceMemoryHits: true,
  traceRedisHits: true,
} as const satisfies Record<keyof TelemetryOptions, true>;
