/**
 * Read-through for `wrap`: the memory tier, single-flight, the Redis read (with the cross-instance lease on a miss),
 * the computation and its write, stale-while-revalidate refreshes. The `Cache` builds keys and entries and calls `run`.
 */
import { Tiers, type ReadResult } from './store.js';
import { CachedError, type CacheRecord } from './record.js';
import type { Settings } from './config.js';
import type { ResolvedEntry } from './entry.js';
import type { Stats, CacheResult } from './stats.js';
import type { Instrumentation } from './telemetry/instrumentation.js';
import type { Bus } from './bus.js';
import type { Leases } from './lease.js';
import { valueOf, type MemoryEntry } from './memory.js';
import type { RedisTier } from './redis/tier.js';
import { ComputeTimeoutError, SOFT, inGrace, refreshEarly, within, type GraceReason } from './freshness.js';
import { RecentKeys, rewarm, type RewarmOptions, type RewarmReport } from './rewarm.js';

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

/** What the loader works with, all owned by the `Cache`. */
export interface LoaderParts {
  settings: Settings;
  tiers: Tiers;
  stats: Stats;
  telemetry: Instrumentation;
  redis: RedisTier | undefined;
  bus: Bus | undefined;
  leases: Leases | undefined;
  warnOnce: (id: string, message: string) => void;
}

const now = Date.now;
/** Most keys held in back-off at once. */
const BACKOFF_KEYS = 10_000;

/** A read (and computation) running for one key, which later calls of the key join. */
interface Flight {
  promise: Promise<WrapOutcome<unknown>>;
  /** The memory epoch it began in: calls made after a drop covering the key do not join it. */
  epoch: number;
  /** Milliseconds of computation behind its value, once known: what each joined call did not spend. */
  ms: number;
  /**
   * A computation still running after the flight answered with an expired value (soft timeout): later calls keep
   * joining the flight (and get that value) until it settles or the value's grace ends.
   */
  tail?: Promise<unknown>;
}

/** An expired value that may stand in for a failed or slow recomputation, and where it was read. */
interface Stale {
  record: CacheRecord;
  from: MemoryEntry | 'redis';
}

/** How `#compute` runs and stores one computation. */
interface ComputeOptions {
  gens: number[] | undefined;
  tags: readonly string[];
  lease?: string;
  epoch?: number;
  /** Cache a failure as an error when the entry asks for it (`cacheErrors`). @default true */
  negative?: boolean;
}

/** Serves `wrap` calls for one cache. */
export class Loader {
  readonly #settings: Settings;
  readonly #tiers: Tiers;
  readonly #stats: Stats;
  readonly #telemetry: Instrumentation;
  readonly #redis: RedisTier | undefined;
  readonly #bus: Bus | undefined;
  readonly #leases: Leases | undefined;
  readonly #warnOnce: (id: string, message: string) => void;
  readonly #inflight = new Map<string, Flight>();
  readonly #refreshing = new Set<string>();
  readonly #recent = new RecentKeys();
  /** Keys whose recomputation failed and was graced: not tried again until the time given (`grace.backoff`). */
  readonly #backoff = new Map<string, number>();

  constructor(parts: LoaderParts) {
    this.#settings = parts.settings;
    this.#tiers = parts.tiers;
    this.#stats = parts.stats;
    this.#telemetry = parts.telemetry;
    this.#redis = parts.redis;
    this.#bus = parts.bus;
    this.#leases = parts.leases;
    this.#warnOnce = parts.warnOnce;
  }

  /** The value for `key`: from memory, joined to a running computation, from Redis, or computed and stored. */
  run(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
  ): Promise<WrapOutcome<unknown>> | WrapOutcome<unknown> {
    if (entry.rewarm) this.#recent.note(key, entry, args, fn);
    if (entry.memory) {
      if (this.#bus) void this.#bus.start();
      const hit = entry.forceFresh ? undefined : this.#fromMemory(key, entry, args, fn);
      if (hit) return hit;
    }
    return this.#telemetry.load(() => this.#flight(key, entry, args, fn));
  }

  /** Past the memory tier: joins the read or computation running for `key`, or starts one. */
  #flight(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
  ): Promise<WrapOutcome<unknown>> {
    const running = this.#inflight.get(key);
    // not a flight that began before an invalidation or delete covering this key: its value may predate it
    if (running && !entry.forceFresh && !this.#tiers.droppedSince(key, running.epoch)) {
      this.#telemetry.joined();
      return running.promise.then(
        (outcome) => {
          this.#stats.joined(entry.kind, outcome.result, running.ms, outcome.reason);
          return outcome;
        },
        (error: unknown) => {
          // a negative-cache hit rethrows the cached error: a hit; anything else, the shared computation failed
          if (error instanceof CachedError) this.#stats.joined(entry.kind, 'hit', 0);
          else this.#stats.joined(entry.kind, 'error', 0);
          throw error;
        },
      );
    }
    const flight: Flight = { promise: undefined!, epoch: this.#tiers.epoch, ms: 0 };
    flight.promise = this.#load(key, entry, args, fn, flight);
    this.#inflight.set(key, flight);
    const land = () => this.#landed(key, flight);
    flight.promise.then(() => (flight.tail ? void flight.tail.then(land, land) : land()), land);
    return flight.promise;
  }

  /**
   * Recomputes the most used keys of `kind` remembered by entries with `rewarm`, through the read path (an
   * entry still valid is not recomputed), with bounded concurrency.
   */
  rewarm(kind: string, options?: RewarmOptions): Promise<RewarmReport> {
    return rewarm(kind, this.#recent, (call) => this.run(call.key, call.entry, call.args, call.fn), options);
  }

  /** Forgets a flight once it ended, unless a newer one for the key replaced it. */
  #landed(key: string, flight: Flight): void {
    if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
  }

  /**
   * Whether a memory entry may be served: always if stored while the bus was up (other instances' changes arrive)
   * or while Redis is unreachable (nobody can change anything); otherwise for `memory.busDownTtl` after it was stored.
   */
  coherent(found: MemoryEntry): boolean {
    const bus = this.#bus;
    if (!bus || !this.#redis!.available) return true;
    const at = found.at ?? 0;
    if (at >= bus.since && bus.up) return true;
    return now() - at <= this.#settings.busDownTtl;
  }

  #fromMemory(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
  ): WrapOutcome<unknown> | undefined {
    const found = this.#tiers.tierOf(entry)!.get(key);
    if (!found || !this.coherent(found)) return undefined;
    const r = found.record;
    const t = now();
    if (t <= r.f) {
      if (entry.early && refreshEarly(r, t, entry.early)) this.#refreshEarly(key, entry, args, fn);
      return this.#served(entry, r, 'hit', found);
    }
    if (t <= r.s && t - r.f <= entry.swr) {
      this.#refresh(key, entry, args, fn);
      return this.#served(entry, r, 'stale', found);
    }
    return undefined;
  }

  /** A hit: from memory (`from`, whose value is shared or copied for this caller) or from Redis (its own decoding). */
  #served(
    entry: ResolvedEntry,
    r: CacheRecord,
    result: 'hit' | 'stale',
    from: MemoryEntry | 'redis',
  ): WrapOutcome<unknown> {
    this.#stats.record(entry.kind, result, r.c);
    if (r.x === 1) throw new CachedError(r.v as Record<string, unknown>);
    const age = Math.max(0, Math.floor((now() - r.t) / 1000));
    if (from === 'redis') return { value: r.v, result, age, tier: 'redis' };
    return { value: valueOf(from), result, age, tier: 'memory' };
  }

  async #load(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
    flight: Flight,
  ): Promise<WrapOutcome<unknown>> {
    const tags = entry.tags(args);
    const epoch = this.#tiers.epoch;
    const fresh = entry.forceFresh;
    let found: ReadResult = await this.#telemetry.lookup(key, () => this.#tiers.read(key, entry.kind, tags, entry));
    let lease: string | undefined;
    if (!found.record && !found.failed && entry.lock && this.#leases && !fresh) {
      const got = await this.#leases.acquire(key, entry.lock, () => this.#tiers.read(key, entry.kind, tags, entry));
      if (typeof got === 'string') lease = got;
      else if (got) found = got;
    }
    const r = found.record?.x === 2 ? undefined : found.record;
    let stale: Stale | undefined;
    if (r && !fresh) {
      const t = now();
      if (t <= r.s && entry.memory)
        this.#tiers.remember(key, entry, r, { tags, body: found.body, size: found.size ?? 1, epoch });
      flight.ms = r.c;
      if (t <= r.f) {
        if (entry.early && refreshEarly(r, t, entry.early)) this.#refreshEarly(key, entry, args, fn, found.gens, epoch);
        return this.#served(entry, r, 'hit', 'redis');
      }
      if (t <= r.s && t - r.f <= entry.swr) {
        this.#refresh(key, entry, args, fn, found.gens, epoch);
        return this.#served(entry, r, 'stale', 'redis');
      }
      if (inGrace(r, t, entry.grace)) stale = { record: r, from: 'redis' };
    } else if (found.failed && entry.grace && entry.memory && !fresh) {
      // Redis could not be read: an expired copy in memory, still in its grace period, may stand in
      const kept = this.#tiers.tierOf(entry)!.get(key);
      if (kept && inGrace(kept.record, now(), entry.grace)) stale = { record: kept.record, from: kept };
    }
    if (stale && this.#backoff.size > 0) {
      const until = this.#backoff.get(key);
      if (until !== undefined && now() < until) return this.#graced(entry, stale, 'backoff', flight);
      this.#backoff.delete(key);
    }
    const started = now();
    const computing = this.#compute(key, entry, args, fn, { gens: found.gens, tags, lease, epoch, negative: !stale });
    let computed: { value: unknown; ms: number } | typeof SOFT;
    try {
      computed = entry.timeout
        ? await within(computing, entry.timeout, entry.kind, stale !== undefined)
        : await computing;
    } catch (error) {
      const timedOut = error instanceof ComputeTimeoutError && entry.timeout !== undefined;
      if (timedOut) this.#background(computing, entry);
      if (!stale) {
        this.#stats.record(entry.kind, 'error');
        throw error;
      }
      if (!timedOut && entry.graceBackoff > 0) this.#backOff(key, entry.graceBackoff);
      return this.#graced(entry, stale, timedOut ? 'hard-timeout' : 'error', flight);
    }
    if (computed === SOFT) {
      // the computation goes on and stores its result; calls meanwhile join this flight until it ends
      this.#background(computing, entry);
      const hard = entry.timeout!.hard;
      const until = Math.min(stale!.record.f + entry.grace, hard === undefined ? Infinity : started + hard);
      flight.tail = Promise.race([computing, delay(until - now())]);
      return this.#graced(entry, stale!, 'soft-timeout', flight);
    }
    flight.ms = computed.ms;
    const reason = found.failed ? 'unavailable' : entry.bypassReason?.(computed.value);
    if (reason === undefined) {
      this.#stats.record(entry.kind, 'miss');
      return { value: computed.value, result: 'miss', age: 0, tier: undefined };
    }
    this.#stats.bypass(entry.kind, reason);
    return { value: computed.value, result: 'bypass', age: 0, tier: undefined, reason };
  }

  /** Serves an expired value in its grace period in place of a failed or slow recomputation, and counts why. */
  #graced(entry: ResolvedEntry, stale: Stale, reason: GraceReason, flight: Flight): WrapOutcome<unknown> {
    flight.ms = stale.record.c;
    const outcome = this.#served(entry, stale.record, 'stale', stale.from);
    this.#stats.graced(entry.kind, reason);
    outcome.reason = reason;
    return outcome;
  }

  /** Serves `key` from grace without recomputing for `ms` (bounded: the oldest keys are forgotten first). */
  #backOff(key: string, ms: number): void {
    this.#backoff.delete(key);
    this.#backoff.set(key, now() + ms);
    if (this.#backoff.size > BACKOFF_KEYS) this.#backoff.delete(this.#backoff.keys().next().value!);
  }

  /** A computation nobody waits for any more (timed out): its failure is warned about, once per kind. */
  #background(computing: Promise<unknown>, entry: ResolvedEntry): void {
    computing.catch((error: unknown) =>
      this.#warnOnce(
        `late:${entry.kind}`,
        `infercache: a computation of kind '${entry.kind}' failed after its timeout: ${(error as Error)?.message}`,
      ),
    );
  }

  async #compute(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
    how: ComputeOptions,
  ): Promise<{ value: unknown; ms: number }> {
    const { gens, tags, lease, epoch } = how;
    const started = performance.now();
    let value: unknown;
    try {
      value = await this.#telemetry.compute(entry.kind, fn);
    } catch (error) {
      let written: Promise<boolean> | undefined;
      if (entry.negative && how.negative !== false && (!entry.negative.when || entry.negative.when(error))) {
        const stored = {
          name: (error as Error)?.name,
          message: (error as Error)?.message,
          code: (error as { code?: unknown })?.code,
        };
        const ms = performance.now() - started;
        written = this.#telemetry.store(entry.kind, (report) =>
          this.#tiers.write(key, entry, stored, { args, ms, gens, error: true, tags, epoch, report }),
        );
      }
      this.#release(key, lease, written);
      throw error;
    }
    const ms = performance.now() - started;
    this.#stats.compute(entry.kind, ms);
    const store = !entry.when || entry.when(value, args);
    const written = store
      ? this.#telemetry.store(entry.kind, (report) =>
          this.#tiers.write(key, entry, value, { args, ms, gens, tags, epoch, report }),
        )
      : undefined;
    this.#release(key, lease, written);
    return { value, ms };
  }

  /** Releases a lease once the holder's write has reached Redis, so that the instances polling for it find it. */
  #release(key: string, lease: string | undefined, written: Promise<boolean> | undefined): void {
    if (!lease) return;
    const release = () => this.#leases!.release(key, lease);
    if (written) void written.then(release, release);
    else release();
  }

  #refresh(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
    gens?: number[],
    readEpoch?: number,
  ): boolean {
    if (this.#refreshing.has(key)) return false;
    this.#refreshing.add(key);
    const run = async () => {
      const epoch = readEpoch ?? this.#tiers.epoch; // of the read that gave `gens`
      const current = gens ?? (await this.#tiers.read(key, entry.kind, entry.tags(args), entry, true)).gens;
      await this.#compute(key, entry, args, fn, { gens: current, tags: entry.tags(args), epoch });
    };
    this.#telemetry
      .refresh(entry.kind, run)
      .catch((error: unknown) =>
        this.#warnOnce(
          `refresh:${entry.kind}`,
          `infercache: background refresh of kind '${entry.kind}' failed: ${(error as Error)?.message}`,
        ),
      )
      .finally(() => this.#refreshing.delete(key));
    return true;
  }

  /** An early (XFetch) refresh of a fresh entry, counted when it starts (one per key at a time). */
  #refreshEarly(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
    gens?: number[],
    readEpoch?: number,
  ): void {
    if (this.#refresh(key, entry, args, fn, gens, readEpoch)) this.#stats.earlyRefresh(entry.kind);
  }
}

/** Resolves after `ms` (at once if not positive) without keeping the process alive. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (!(ms > 0)) return resolve();
    setTimeout(resolve, Math.min(ms, 2 ** 31 - 1)).unref();
  });
}
