/**
 * The Cache: one per app. Owns the key builder, TTL registry, codec, tiers and stats (read-through in loader.ts);
 * decorators and framework plugins only turn a call or a request into `wrap(...)`.
 */
import { buildKey, type KeySpec } from './keys.js';
import { createTiers, type Tiers } from './tiers.js';
import type { Drop } from './coherence.js';
import { Computer } from './compute.js';
import { isServable } from './record.js';
import { valueOf } from './memory.js';
import type { RedisTier, SendReport } from './redis/tier.js';
import { CLOSE_GRACE_MS } from './redis/connection.js';
import { publicSettings, resolveSettings, type CacheSettings, type Settings } from './config.js';
import type { ResolvedEntry } from './entry.js';
import { Entries } from './entries.js';
import { Stats, type CacheStats } from './stats.js';
import { Loader } from './loader.js';
import type { Served, WrapOutcome } from './outcome.js';
import { UnavailableError, UnkeyableError, quoted } from './errors.js';
import { warmUp, type WarmUpEntry, type WarmUpOptions, type WarmUpReport } from './warmup.js';
import { setDefaultCache, clearDefaultCache } from './default-cache.js';
import { probeHealth, describe, type CacheHealth, type CacheInfo } from './admin.js';
import type { CacheOptions, EntryOptions } from './options.js';
import { Telemetry } from './telemetry/telemetry.js';
import type { Bus } from './bus.js';
import type { RewarmOptions, RewarmReport } from './rewarm.js';
import { NO_INSTRUMENTATION, OPERATIONS, type Instrumentation } from './telemetry/instrumentation.js';
import { siteOf } from './site.js';
import { Fleet } from './fleet/fleet.js';
import { MemoryWatch } from './redis/memory.js';
import { warnOnce } from './warn-once.js';
import { waitAtMost } from './timeout.js';
import { FLEET_DEFAULTS } from './defaults.js';
import {
  readFleetStats,
  readHotKeys,
  windowMs,
  type FleetStats,
  type FleetStatsOptions,
  type HotKey,
} from './fleet/query.js';

export type { WrapOutcome };

/** Options of `wrap`: the entry options plus the call's arguments for `ttl`, `tags` and `when` functions. */
export interface WrapOptions<T> extends EntryOptions<T> {
  /** Arguments passed to `ttl`, `tags` and `when` functions. @default keyParts as an array */
  args?: readonly unknown[];
  /**
   * Compute and overwrite whatever is cached: skips both tiers' values and joins no computation already running
   * (later calls of the key join this one). For one call: pass it in that call's options. @default false
   */
  forceFresh?: boolean;
  /**
   * @internal For adapters (HTTP routes): says why a computed value counts as a bypass rather than a miss (it must
   * not be stored, e.g. a response whose `Vary` the route does not honour). Combine it with a `when` that refuses
   * such values. @default none: every computation on a miss is a miss
   */
  bypassReason?: (value: unknown) => string | undefined;
}

const now = Date.now;
/** The kind a direct operation is about, for its span: only a string. */
const kindArg = (kind: unknown): string | undefined => (typeof kind === 'string' ? kind : undefined);
const NO_OPTIONS: WrapOptions<any> = Object.freeze({});
const valueOfOutcome = <T>(outcome: WrapOutcome<T>): T => outcome.value;
/** How often the Redis memory gauges are refreshed when fleet statistics are off (else at `fleet.interval`). */
const MEMORY_INTERVAL_MS = 5_000;

/** What infercache's own modules (and its tests) reach inside a cache; not part of the package's API. */
export interface CacheInternals {
  /** The Redis tier, when configured and enabled. */
  readonly redis: RedisTier | undefined;
  /** The invalidation bus between instances, when Redis is configured and `bus` is on. */
  readonly bus: Bus | undefined;
  /** The validated settings as given, secrets included. */
  readonly settings: Settings;
}

let internals: (cache: Cache) => CacheInternals;

/** A Redis-backed, fail-open cache for expensive computations. Create it with `createCache`. */
export class Cache {
  /** Validated settings (read-only), without any secret: passwords and the encryption key are left out. */
  readonly settings: CacheSettings;
  readonly #settings: Settings;
  readonly #redis: RedisTier | undefined;
  readonly #tiers: Tiers;
  readonly #stats = new Stats();
  readonly #entries = new Entries();
  readonly #specs = new Map<string, KeySpec>();
  readonly #warnOnce = warnOnce(() => this.#settings.logger);
  /** Where spans and metrics go: OpenTelemetry, or nothing with `telemetry: { enabled: false }`. */
  readonly #instrumentation: Instrumentation;
  readonly #loader: Loader;
  readonly #fleet: Fleet | undefined;
  /** Redis memory for the gauges: read in the background only once a meter records. */
  readonly #memoryWatch: MemoryWatch | undefined;
  #closed = false;

  static {
    internals = (cache) => ({ redis: cache.#redis, bus: cache.#tiers.coherence.bus, settings: cache.#settings });
  }

  constructor(options: CacheOptions = {}) {
    const s = (this.#settings = resolveSettings(options));
    this.settings = publicSettings(s);
    const warnOnce = (id: string, message: string) => this.#warnOnce(id, message);
    const tiers = (this.#tiers = createTiers(s, this.#stats, warnOnce));
    this.#redis = tiers.redis;
    if (this.#redis && s.telemetry.enabled) {
      this.#memoryWatch = new MemoryWatch(this.#redis, s.fleet?.interval ?? MEMORY_INTERVAL_MS);
    }
    const telemetry = (this.#instrumentation = s.telemetry.enabled
      ? new Telemetry(s.telemetry, {
          redis: this.#redis !== undefined,
          lastRedisError: () => this.#redis?.counters.lastError,
          memoryEntries: () => tiers.coherence.memoryEntries(),
          breakerState: () => this.#redis?.breaker.state,
          redisMemory: () => this.#memoryWatch?.last,
          watchRedisMemory: () => this.#memoryWatch?.start(),
        })
      : NO_INSTRUMENTATION);
    this.#stats.configure(s.costPerCall, telemetry.metrics);
    const { reader, coherence, writer, leases } = tiers;
    const computer = new Computer({ writer, stats: this.#stats, telemetry, leases, warnOnce });
    this.#loader = new Loader({ reader, coherence, computer, stats: this.#stats, telemetry, leases, warnOnce });
    if (this.#redis && s.fleet) {
      const parts = { redis: this.#redis, stats: this.#stats, namespace: s.namespace, version: s.version };
      (this.#fleet = new Fleet(s.fleet, parts)).start();
    }
    if (options.setDefault ?? true) setDefaultCache(this, options.setDefault === true);
  }

  /** Whether the cache is on (`enabled` option and not closed). */
  get enabled(): boolean {
    return this.#settings.enabled && !this.#closed;
  }

  /**
   * Waits for the Redis connection, then for the invalidation bus's subscriber (at most `redis.connectTimeout`);
   * rejects with UnavailableError if the first attempt fails. Never needed on the request path.
   */
  async connect(): Promise<void> {
    await this.#redis?.connect();
    const bus = this.#tiers.coherence.bus;
    if (!bus) return;
    await waitAtMost(bus.start(), this.#settings.connectTimeout);
  }

  /** Returns the cached result of `fn` for (kind, keyParts), computing and storing it on a miss. */
  wrap<T>(
    kind: string,
    keyParts: unknown,
    fn: () => T | Promise<T>,
    options?: WrapOptions<T>,
    args?: readonly unknown[],
  ): Promise<T> {
    const served = this.wrapServed(kind, keyParts, fn, options, args);
    // a memory hit's outcome is known now: its value resolves the call, with no outcome promise to map (~0.1 µs)
    return served instanceof Promise ? served.then(valueOfOutcome) : Promise.resolve(served.value);
  }

  /** Like `wrap`, and says how the value was served (hit, miss, stale, bypass) and its age: for HTTP `X-Cache`/`Age`. */
  wrapDetailed<T>(
    kind: string,
    keyParts: unknown,
    fn: () => T | Promise<T>,
    options?: WrapOptions<T>,
    args?: readonly unknown[],
  ): Promise<WrapOutcome<T>> {
    const served = this.wrapServed(kind, keyParts, fn, options, args);
    return served instanceof Promise ? served : Promise.resolve(served);
  }

  /**
   * @internal For adapters: `wrapDetailed`, with a memory-tier hit's outcome given as it is, so that an HTTP route
   * replays it in the same tick (no promise, no microtask); a promise otherwise. Never throws: what the call throws
   * synchronously comes as a rejected promise.
   */
  wrapServed<T>(
    kind: string,
    keyParts: unknown,
    fn: () => T | Promise<T>,
    options?: WrapOptions<T>,
    args?: readonly unknown[],
  ): Served<T> {
    try {
      return this.#observed(kind, keyParts, fn, options, args);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * A `wrap` call, observed when something records: the outcome itself for a memory hit (no promise, with or without
   * telemetry), the loader's own promise otherwise; throws what the call throws synchronously.
   */
  #observed<T>(
    kind: string,
    keyParts: unknown,
    fn: () => T | Promise<T>,
    given: WrapOptions<T> | undefined,
    args: readonly unknown[] | undefined,
  ): Served<T> {
    const options = given === undefined ? (NO_OPTIONS as WrapOptions<T>) : given;
    const ins = this.#instrumentation;
    if (!ins.recording()) return this.#serve(kind, keyParts, fn, options, args);
    const site = typeof options === 'object' && options !== null ? siteOf(options) : undefined;
    const kindOf = typeof options?.kind === 'string' ? options.kind : kind;
    return ins.wrap(site, kindOf, () => this.#serve(kind, keyParts, fn, options, args));
  }

  #serve<T>(
    kind: string,
    keyParts: unknown,
    fn: () => T | Promise<T>,
    options: WrapOptions<T>,
    args: readonly unknown[] = options.args ?? (Array.isArray(keyParts) ? keyParts : [keyParts]),
  ): Served<T> {
    const entry = this.#entry(kind, options);
    if (!this.enabled) return this.#bypass(entry, fn, 'disabled');
    let key: string;
    try {
      key = buildKey(this.#spec(entry.kind), keyParts);
    } catch (error) {
      if (!(error instanceof UnkeyableError) || this.#settings.strict) throw error;
      // Once per method or route (decorators and plugins pass its name as their site), else per kind.
      const where = siteOf(options) ?? `kind '${entry.kind}'`;
      this.#warnOnce(
        `unkeyable:${where}`,
        `infercache: a call of ${where} cannot be keyed: ${quoted(error)}. ` +
          'Such calls bypass the cache (strict: true throws instead); this warning is shown once',
      );
      return this.#bypass(entry, fn, 'unkeyable');
    }
    // the tiers hold, under this key, what `fn` gave: a `T`
    const fleet = this.#fleet;
    if (!fleet?.sampled()) return this.#loader.run(key, entry, args, fn) as Served<T>;
    fleet.touch(entry.kind, key, siteOf(options));
    const started = performance.now();
    return fleet.timed(entry.kind, started, this.#loader.run(key, entry, args, fn) as Served<T>);
  }

  /** The cached value for (kind, keyParts), or `undefined`. */
  get<T = unknown>(kind: string, keyParts: unknown): Promise<T | undefined> {
    return this.#instrumentation.operation(OPERATIONS.get, kindArg(kind), async () => {
      const key = buildKey(this.#spec(kind), keyParts);
      const mem = this.#tiers.coherence.memoryFor(kind).get(key);
      if (mem && isServable(mem.record, now()) && this.#tiers.coherence.coherent(mem)) return valueOf(mem) as T;
      const record = await this.#tiers.reader.readUntagged(key, kind);
      return record && isServable(record, now()) ? (record.value as T) : undefined;
    });
  }

  /** Stores `value` for (kind, keyParts) with the kind's TTL or `options.ttl`. Resolves false if Redis did not take it. */
  set<T>(kind: string, keyParts: unknown, value: T, options: WrapOptions<T> = {}): Promise<boolean> {
    return this.#instrumentation.operation(OPERATIONS.set, kindArg(kind), async () => {
      const entry = this.#entry(kind, options);
      const key = buildKey(this.#spec(kind), keyParts);
      const args = options.args ?? (Array.isArray(keyParts) ? keyParts : [keyParts]);
      const gens = await this.#tiers.reader.generations(kind, entry.tags(args));
      const sent: SendReport = {};
      const how = { args, computeMs: 0, gens, report: sent, publish: 'always' } as const;
      const stored = await this.#tiers.writer.write(key, entry, value, how);
      if (sent.failed !== undefined) this.#instrumentation.redisError(); // on the `set` span: the call resolves false
      return stored;
    });
  }

  /** Deletes one entry from both tiers. */
  delete(kind: string, keyParts: unknown): Promise<void> {
    return this.#instrumentation.operation(OPERATIONS.delete, kindArg(kind), async () => {
      const key = buildKey(this.#spec(kind), keyParts);
      this.#tiers.coherence.drop({ key, kind });
      try {
        if (this.#redis) await this.#redis.sendOrThrow(key, false, ['DEL', key]);
      } finally {
        this.#tiers.coherence.publish({ key, kind });
      }
    });
  }

  /**
   * Makes every entry of `kind` unreachable, in one round trip whatever their number. With `rewarm` (a number of
   * keys, `true` for all remembered, or {@link RewarmOptions}), then recomputes in the background the most used keys
   * of the kind that entries with the `rewarm` option remembered (see {@link Cache.rewarm}).
   */
  invalidateKind(kind: string, options?: { rewarm?: boolean | number | RewarmOptions }): Promise<void> {
    return this.#instrumentation.operation(OPERATIONS.invalidateKind, kindArg(kind), () =>
      this.#invalidateKind(kind, options),
    );
  }

  async #invalidateKind(kind: string, options?: { rewarm?: boolean | number | RewarmOptions }): Promise<void> {
    await this.#invalidate({ kind }, [this.#tiers.generations.key('kind', kind)]);
    const again = options?.rewarm;
    if (again === undefined || again === false) return;
    const how = again === true ? {} : typeof again === 'number' ? { keys: again } : again;
    void this.rewarm(kind, how)
      .then((report) => {
        this.settings.logger?.info?.(`infercache: re-warmed kind '${kind}'`, {
          keys: report.keys.length,
          failed: report.failed,
        });
        how.onDone?.(report);
      })
      .catch(() => {}); // a throwing onDone must not become an unhandled rejection
  }

  /**
   * Recomputes now, with bounded concurrency, the most used keys of `kind` remembered in this process by entries
   * with the `rewarm` option (an entry still valid is read, not recomputed), and reports which.
   */
  rewarm(kind: string, options?: RewarmOptions): Promise<RewarmReport> {
    if (!this.enabled) return this.#loader.rewarm(kind, { ...options, keys: 0 }); // closed or off: nothing runs
    return this.#loader.rewarm(kind, options);
  }

  /** Makes every entry carrying any of `tags` unreachable, across kinds, in one round trip per tag at most. */
  invalidateTags(...tags: string[]): Promise<void> {
    return this.#instrumentation.operation(OPERATIONS.invalidateTags, undefined, async () => {
      const list = tags.flat();
      if (list.length === 0) return;
      await this.#invalidate(
        { tags: list },
        list.map((t) => this.#tiers.generations.key('tag', t)),
      );
    });
  }

  /** Makes every entry of this namespace unreachable. */
  invalidateAll(): Promise<void> {
    return this.#instrumentation.operation(OPERATIONS.invalidateAll, undefined, () =>
      this.#invalidate({ all: true }, [this.#tiers.generations.key('all')]),
    );
  }

  /** Fills the cache: runs each entry through `wrap` with bounded concurrency; entries already cached are not recomputed. */
  warmUp(entries: Iterable<WarmUpEntry>, options: WarmUpOptions = {}): Promise<WarmUpReport> {
    return warmUp(this, entries, options);
  }

  /** Counters: hits, misses, stale, bypasses, errors, hit rate, time saved, per kind. */
  stats(): CacheStats {
    return this.#stats.snapshot();
  }

  /**
   * @internal For adapters: counts a call of `kind` that bypassed the cache before reaching `wrap` (an HTTP request
   * carrying credentials, a body that cannot be keyed, ...), with its reason, in `stats()` and the metrics.
   */
  recordBypass(kind: string, reason: string): void {
    this.#stats.bypass(kind, reason);
  }

  /** Zeroes the counters of `stats()`. */
  resetStats(): void {
    this.#stats.reset();
  }

  /**
   * Every instance's counters over a window (default the last minute, in 10 s buckets), summed: totals, per kind,
   * latency percentiles, and the number of live instances. Rejects with UnavailableError when Redis cannot be read.
   */
  async fleetStats(options?: FleetStatsOptions): Promise<FleetStats> {
    const window = windowMs(options, this.settings.fleet?.retention ?? FLEET_DEFAULTS.retentionMs);
    if (!this.#redis) throw new UnavailableError('infercache: fleet statistics need Redis');
    return readFleetStats(this.#redis, this.settings.namespace, this.#clock(), window);
  }

  /** The `n` most called keys of `kind` across the fleet over the window (sampled; hashed keys named by their site). */
  async hotKeys(kind: string, n = 10, options?: FleetStatsOptions): Promise<HotKey[]> {
    const window = windowMs(options, this.settings.fleet?.retention ?? FLEET_DEFAULTS.retentionMs);
    if (!this.#redis) throw new UnavailableError('infercache: hot keys need Redis');
    return readHotKeys(this.#redis, this.settings.namespace, kind, n, this.#clock(), window);
  }

  /** Writes this instance's fleet counters now (they are written every `fleet.interval` anyway); false if not taken. */
  flushFleet(): Promise<boolean> {
    return this.#fleet?.flush() ?? Promise.resolve(false);
  }

  /** This instance's id in the fleet statistics, when they are on. */
  get fleetId(): string | undefined {
    return this.#fleet?.id;
  }

  /**
   * `healthy | degraded | unavailable | disabled`, Redis latency, and a read/write probe. Called while the first
   * connection attempt is in progress (right after `createCache`), it waits for that attempt (at most
   * `redis.connectTimeout`); afterwards it never waits for a connection.
   */
  health(): Promise<CacheHealth> {
    return probeHealth(this, this.#redis, this.#settings.connectTimeout);
  }

  /** Namespace, version, TTL settings, entries per kind, Redis memory used; never a password. */
  info(): Promise<CacheInfo> {
    return describe(this, {
      redis: this.#redis,
      bus: this.#tiers.coherence.bus,
      memory: this.#tiers.coherence.memory.size,
    });
  }

  /**
   * Closes the Redis connection it created and clears the memory tier. Calls after close run uncached. Writes,
   * invalidations and bus messages already sent are waited for first (at most 1 s), so they land and nothing is
   * logged for them.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearDefaultCache(this);
    this.#tiers.coherence.drop({ all: true });
    this.#memoryWatch?.stop();
    await this.#fleet?.close();
    await this.#redis?.drain(CLOSE_GRACE_MS); // before the bus closes: a write that lands publishes its message
    await this.#tiers.coherence.bus?.close();
    await this.#redis?.close();
  }

  // ---- internals ----

  /**
   * Validated entry options, memoised per options object and kind (decorators pass the same object every call), and
   * per shape for options written inline (a new object each call): see Entries.
   */
  #entry(kind: string, options: WrapOptions<any>): ResolvedEntry {
    return this.#entries.get(kind, options);
  }

  #spec(kind: string): KeySpec {
    let spec = this.#specs.get(kind);
    if (!spec) {
      const s = this.#settings;
      this.#specs.set(kind, (spec = { namespace: s.namespace, kind, version: s.version, hashKeys: s.hashKeys }));
    }
    return spec;
  }

  async #bypass<T>(entry: ResolvedEntry, fn: () => T | Promise<T>, reason: string): Promise<WrapOutcome<T>> {
    this.#stats.bypass(entry.kind, reason);
    return { value: await fn(), result: 'bypass', age: 0, tier: undefined, reason };
  }

  #clock(): number {
    return this.settings.fleet?.clock() ?? Date.now();
  }

  /**
   * Drops what `drop` covers from memory here, bumps its generation counters in Redis, then tells the other
   * instances (after the bump, so that they read the new generations), even when the bump failed.
   */
  async #invalidate(drop: Drop, counters: string[]): Promise<void> {
    this.#tiers.coherence.drop(drop);
    await this.#tiers.generations.bump(counters).finally(() => this.#tiers.coherence.publish(drop));
  }
}

/** The Redis tier, bus and full settings of `cache`, for infercache's own modules and tests (not exported). */
export function internalsOf(cache: Cache): CacheInternals {
  return internals(cache);
}

/** Creates a cache; the first one created becomes the default that decorators use. */
export function createCache(options: CacheOptions = {}): Cache {
  return new Cache(options);
}
