/**
 * Read-through for `wrap`: the memory tier, single-flight, the Redis read (with the cross-instance lease on a miss),
 * the computation and its write, stale-while-revalidate refreshes. The `Cache` builds keys and entries and calls `run`.
 */
import { Tiers, type ReadResult } from './store.js';
import { CachedError, type CacheRecord } from './record.js';
import type { Settings } from './config.js';
import type { ResolvedEntry } from './entry.js';
import type { Stats, CacheResult } from './stats.js';
import type { Telemetry } from './telemetry/telemetry.js';
import type { Bus } from './bus.js';
import type { Leases } from './lease.js';
import { valueOf, type MemoryEntry } from './memory.js';
import type { RedisTier } from './redis/tier.js';

/** What `wrapDetailed` returns: the value and how it was served. */
export interface WrapOutcome<T> {
  value: T;
  result: CacheResult;
  /** Seconds since the value was computed (0 on a miss). */
  age: number;
  tier: 'memory' | 'redis' | undefined;
  /**
   * Why the call bypassed the cache (only with result `bypass`): `disabled`, `unkeyable`, `unavailable` (Redis could
   * not be read), or the reason an adapter's `bypassReason` gave for a computed value.
   */
  reason?: string;
}

/** What the loader works with, all owned by the `Cache`. */
export interface LoaderParts {
  settings: Settings;
  tiers: Tiers;
  stats: Stats;
  telemetry: Telemetry;
  redis: RedisTier | undefined;
  bus: Bus | undefined;
  leases: Leases | undefined;
  warnOnce: (id: string, message: string) => void;
}

const now = Date.now;

/** A read (and computation) running for one key, which later calls of the key join. */
interface Flight {
  promise: Promise<WrapOutcome<unknown>>;
  /** The memory epoch it began in: calls made after a drop covering the key do not join it. */
  epoch: number;
  /** Milliseconds of computation behind its value, once known: what each joined call did not spend. */
  ms: number;
}

/** Serves `wrap` calls for one cache. */
export class Loader {
  readonly #settings: Settings;
  readonly #tiers: Tiers;
  readonly #stats: Stats;
  readonly #telemetry: Telemetry;
  readonly #redis: RedisTier | undefined;
  readonly #bus: Bus | undefined;
  readonly #leases: Leases | undefined;
  readonly #warnOnce: (id: string, message: string) => void;
  readonly #inflight = new Map<string, Flight>();
  readonly #refreshing = new Set<string>();

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
    if (entry.memory) {
      if (this.#bus) void this.#bus.start();
      const hit = this.#fromMemory(key, entry, args, fn);
      if (hit) return hit;
    }
    const running = this.#inflight.get(key);
    // not a flight that began before an invalidation or delete covering this key: its value may predate it
    if (running && !this.#tiers.droppedSince(key, running.epoch)) {
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
    flight.promise.then(
      () => this.#landed(key, flight),
      () => this.#landed(key, flight),
    );
    return flight.promise;
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
    if (t <= r.f) return this.#served(entry, r, 'hit', found);
    if (t <= r.s) {
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
    let found: ReadResult = await this.#telemetry.lookup(key, () => this.#tiers.read(key, entry.kind, tags, entry));
    let lease: string | undefined;
    if (!found.record && !found.failed && entry.lock && this.#leases) {
      const got = await this.#leases.acquire(key, entry.lock, () => this.#tiers.read(key, entry.kind, tags, entry));
      if (typeof got === 'string') lease = got;
      else if (got) found = got;
    }
    const r = found.record?.x === 2 ? undefined : found.record;
    if (r) {
      const t = now();
      if (t <= r.s && entry.memory)
        this.#tiers.remember(key, entry, r, { tags, body: found.body, size: found.size ?? 1, epoch });
      flight.ms = r.c;
      if (t <= r.f) return this.#served(entry, r, 'hit', 'redis');
      if (t <= r.s) {
        this.#refresh(key, entry, args, fn, found.gens, epoch);
        return this.#served(entry, r, 'stale', 'redis');
      }
    }
    let computed: { value: unknown; ms: number };
    try {
      computed = await this.#compute(key, entry, args, fn, found.gens, tags, lease, epoch);
    } catch (error) {
      this.#stats.record(entry.kind, 'error');
      throw error;
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

  async #compute(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
    gens: number[] | undefined,
    tags: readonly string[],
    lease?: string,
    epoch?: number,
  ): Promise<{ value: unknown; ms: number }> {
    const started = performance.now();
    let value: unknown;
    try {
      value = await this.#telemetry.compute(entry.kind, fn);
    } catch (error) {
      let written: Promise<boolean> | undefined;
      if (entry.negative && (!entry.negative.when || entry.negative.when(error))) {
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
  ): void {
    if (this.#refreshing.has(key)) return;
    this.#refreshing.add(key);
    const run = async () => {
      const epoch = readEpoch ?? this.#tiers.epoch; // of the read that gave `gens`
      const current = gens ?? (await this.#tiers.read(key, entry.kind, entry.tags(args), entry, true)).gens;
      await this.#compute(key, entry, args, fn, current, entry.tags(args), undefined, epoch);
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
  }
}
