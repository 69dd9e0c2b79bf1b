/**
 * Read-through for `wrap`: the memory tier, single-flight, the Redis read (with the cross-instance lease on a miss),
 * the computation and its write, stale-while-revalidate refreshes. The `Cache` builds keys and entries and calls `run`.
 */
import type { Reader, ReadResult } from './read.js';
import type { Coherence } from './coherence.js';
import type { Computer, Computed } from './compute.js';
import { CachedError, inStaleWindow, isFresh, isKept, type CacheRecord } from './record.js';
import type { ResolvedEntry } from './entry.js';
import type { Stats } from './stats.js';
import type { Served, WrapOutcome } from './outcome.js';
import type { Instrumentation, Traced } from './telemetry/instrumentation.js';
import type { Leases } from './lease.js';
import { valueOf, type MemoryEntry } from './memory.js';
import { ComputeTimeoutError, SOFT, inGrace, refreshEarly, within, type GraceReason } from './freshness.js';
import { RecentKeys, rewarm, type RewarmOptions, type RewarmReport } from './rewarm.js';
import { Backoff, Refresher } from './refresh.js';
import { delay } from './timeout.js';

/** What the loader works with, all owned by the `Cache`. */
export interface LoaderParts {
  reader: Reader;
  coherence: Coherence;
  computer: Computer;
  stats: Stats;
  telemetry: Instrumentation;
  leases: Leases | undefined;
  warnOnce: (id: string, message: string) => void;
}

const now = Date.now;

/** A read (and computation) running for one key, which later calls of the key join. */
interface Flight {
  /** Until it lands: then cleared, see `#landed`. */
  promise: Promise<WrapOutcome<unknown>> | undefined;
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

/** A load that found no value to serve in Redis and goes on to recompute (or to serve an expired value in grace). */
interface Recompute {
  key: string;
  entry: ResolvedEntry;
  args: readonly unknown[];
  fn: () => unknown;
  call: Traced;
  tags: readonly string[];
  /** The memory epoch the read began in. */
  epoch: number;
}

/** Serves `wrap` calls for one cache. */
export class Loader {
  readonly #reader: Reader;
  readonly #coherence: Coherence;
  readonly #computer: Computer;
  readonly #stats: Stats;
  readonly #telemetry: Instrumentation;
  readonly #leases: Leases | undefined;
  readonly #inflight = new Map<string, Flight>();
  readonly #refresher: Refresher;
  readonly #recent = new RecentKeys();
  readonly #backoff = new Backoff();

  constructor(parts: LoaderParts) {
    this.#reader = parts.reader;
    this.#coherence = parts.coherence;
    this.#computer = parts.computer;
    this.#stats = parts.stats;
    this.#telemetry = parts.telemetry;
    this.#leases = parts.leases;
    this.#refresher = new Refresher(parts);
  }

  /** The value for `key`: from memory, joined to a running computation, from Redis, or computed and stored. */
  run(key: string, entry: ResolvedEntry, args: readonly unknown[], fn: () => unknown): Served<unknown> {
    if (entry.rewarm) this.#recent.note(key, entry, args, fn);
    if (entry.memory) {
      this.#coherence.listen();
      const hit = entry.forceFresh ? undefined : this.#fromMemory(key, entry, args, fn);
      if (hit) return hit;
    }
    return this.#telemetry.load((call) => this.#load(key, entry, args, fn, call));
  }

  /**
   * A computation running for `key` that a call whose read found nothing to serve may join: not one that began
   * before an invalidation or delete covering the key (its value may predate it), nor one a `forceFresh` call may use.
   */
  #joinable(key: string, entry: ResolvedEntry): Flight | undefined {
    const running = this.#inflight.get(key);
    if (!running?.promise || entry.forceFresh || this.#coherence.droppedSince(key, running.epoch)) return undefined;
    return running;
  }

  /** Joins a running computation: its outcome, counted for this call as joined. */
  #join(running: Flight, entry: ResolvedEntry, call: Traced): Promise<WrapOutcome<unknown>> {
    this.#telemetry.joined(call);
    return running.promise!.then(
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

  /**
   * Recomputes the most used keys of `kind` remembered by entries with `rewarm`, through the read path (an
   * entry still valid is not recomputed), with bounded concurrency.
   */
  rewarm(kind: string, options?: RewarmOptions): Promise<RewarmReport> {
    return rewarm(kind, this.#recent, (call) => this.run(call.key, call.entry, call.args, call.fn), options);
  }

  /**
   * Lands a flight as its load ends, before its callers hear of it (one reaction fewer per call than landing from a
   * `then`); a flight whose computation runs on after a soft timeout lands when that computation ends.
   */
  #land(key: string, flight: Flight): void {
    const tail = flight.tail;
    if (!tail) return this.#landed(key, flight);
    const land = () => this.#landed(key, flight);
    void tail.then(land, land);
  }

  /**
   * Forgets a flight once it ended, unless a newer one for the key replaced it, and lets go of its outcome: old
   * objects can reach a landed flight until the next full collection (a Map keeps the tables it outgrew, entries
   * included), and a flight holding its value kept it alive through young collections (measured at 64 reads in
   * flight with another Redis client in the process: megabytes promoted per collection, 14 µs of CPU per hit, not 8).
   */
  #landed(key: string, flight: Flight): void {
    if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
    flight.promise = undefined;
    flight.tail = undefined;
  }

  #fromMemory(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
  ): WrapOutcome<unknown> | undefined {
    const found = this.#coherence.tierOf(entry)!.get(key);
    if (!found || !this.#coherence.coherent(found)) return undefined;
    const r = found.record;
    const t = now();
    if (isFresh(r, t)) {
      if (entry.early && refreshEarly(r, t, entry.early)) this.#refresher.early(key, entry, args, fn);
      return this.#served(entry, r, 'hit', found, t);
    }
    if (inStaleWindow(r, t, entry.swr)) {
      this.#refresher.start(key, entry, args, fn);
      return this.#served(entry, r, 'stale', found, t);
    }
    return undefined;
  }

  /**
   * A hit: from memory (`from`, whose value is shared or copied for this caller) or from Redis (its own decoding).
   * `t` is the time its freshness was judged at (a clock read costs ~0.1 µs on some VMs: one per hit).
   */
  #served(
    entry: ResolvedEntry,
    r: CacheRecord,
    result: 'hit' | 'stale',
    from: MemoryEntry | 'redis',
    t: number,
  ): WrapOutcome<unknown> {
    this.#stats.record(entry.kind, result, r.computeMs);
    if (r.state === 'error') throw new CachedError(r.value as Record<string, unknown>);
    const age = Math.max(0, Math.floor((t - r.createdAt) / 1000));
    if (from === 'redis') return { value: r.value, result, age, tier: 'redis' };
    return { value: valueOf(from), result, age, tier: 'memory' };
  }

  /**
   * Reads `key` from Redis and serves what it found; or joins the computation running for the key; or computes it,
   * as the key's flight, which later calls whose read finds nothing join (single-flight). A read is not a flight:
   * concurrent reads of a key share one MGET anyway (RedisTier.read), and a hit then costs no bookkeeping of a
   * flight (measured at 64 reads in flight: a Map's set and delete per hit allocated 280 bytes, rebuilding its table).
   * One promise per hit, settled from the read's callback.
   */
  #load(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
    call: Traced,
  ): Promise<WrapOutcome<unknown>> {
    return new Promise((resolve, reject) => {
      let tags: readonly string[];
      try {
        tags = entry.tags(args);
      } catch (error) {
        return reject(error as Error);
      }
      const epoch = this.#coherence.epoch; // of the read: a flight it starts covers drops since the read began
      this.#reader.readThen(key, entry.kind, { tags, entry }, (found, error) => {
        if (found === undefined) return reject(error as Error);
        try {
          this.#telemetry.readRedis(call, key, found);
          const served = this.#fromRedis(key, entry, args, fn, found, tags, epoch);
          if (served) return resolve(served);
          const running = this.#joinable(key, entry);
          if (running) return resolve(this.#join(running, entry, call));
          resolve(this.#fly({ key, entry, args, fn, call, tags, epoch }, found));
        } catch (e) {
          reject(e as Error); // a negative-cache hit: the cached error
        }
      });
    });
  }

  /** Computes `key` as its flight (see #load): in the map until the computation's outcome is known. */
  #fly(load: Recompute, found: ReadResult): Promise<WrapOutcome<unknown>> {
    const flight: Flight = { promise: undefined, epoch: load.epoch, ms: 0 };
    this.#inflight.set(load.key, flight);
    let missed: Promise<WrapOutcome<unknown>>;
    try {
      missed = this.#telemetry.beyond(load.call, () => this.#recompute(load, flight, found));
    } catch (error) {
      missed = Promise.reject(error as Error);
    }
    // it lands as its outcome is known, before its callers hear of it (see #land)
    return (flight.promise = missed.then(
      (outcome) => {
        this.#land(load.key, flight);
        return outcome;
      },
      (error: unknown) => {
        this.#land(load.key, flight);
        throw error;
      },
    ));
  }

  /**
   * A value read from Redis, served if fresh or in its stale window (and remembered in the memory tier while it may
   * still be served from there); undefined when there is none to serve, or `forceFresh` asks to recompute.
   */
  #fromRedis(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
    found: ReadResult,
    tags: readonly string[],
    epoch: number,
  ): WrapOutcome<unknown> | undefined {
    const r = found.record;
    if (r === undefined || r.state === 'bytes' || entry.forceFresh) return undefined;
    const t = now();
    if (isKept(r, t) && entry.memory)
      this.#coherence.remember(key, entry, r, { tags, body: found.body, size: found.size ?? 1, epoch });
    if (isFresh(r, t)) {
      if (entry.early && refreshEarly(r, t, entry.early))
        this.#refresher.early(key, entry, args, fn, { gens: found.gens, epoch });
      return this.#served(entry, r, 'hit', 'redis', t);
    }
    if (inStaleWindow(r, t, entry.swr)) {
      this.#refresher.start(key, entry, args, fn, { gens: found.gens, epoch });
      return this.#served(entry, r, 'stale', 'redis', t);
    }
    return undefined;
  }

  /**
   * Past a read that gave nothing to serve: waits for the cross-instance lease (and serves what its holder stored),
   * or computes and stores the value; an expired value in its grace period stands in for a computation that fails or
   * is slow.
   */
  async #recompute(load: Recompute, flight: Flight, found: ReadResult): Promise<WrapOutcome<unknown>> {
    const { key, entry, args, fn, tags, epoch } = load;
    const fresh = entry.forceFresh;
    let lease: string | undefined;
    if (!found.record && !found.failed && entry.lock && this.#leases && !fresh) {
      const read = () => this.#reader.read(key, entry.kind, { tags, entry });
      const got = await this.#leases.acquire(key, entry.lock, read);
      if (typeof got === 'string') lease = got;
      else if (got) {
        found = got; // what the lease's holder stored
        const served = this.#fromRedis(key, entry, args, fn, found, tags, epoch);
        if (served) {
          flight.ms = found.record!.computeMs;
          return served;
        }
      }
    }
    const r = found.record?.state === 'bytes' ? undefined : found.record;
    let stale: Stale | undefined;
    if (r && !fresh) {
      if (inGrace(r, now(), entry.grace)) stale = { record: r, from: 'redis' };
    } else if (found.failed && entry.grace && entry.memory && !fresh) {
      // Redis could not be read: an expired copy in memory, still in its grace period, may stand in
      const kept = this.#coherence.tierOf(entry)!.get(key);
      if (kept && inGrace(kept.record, now(), entry.grace)) stale = { record: kept.record, from: kept };
    }
    if (stale && this.#backoff.holds(key, now())) return this.#graced(entry, stale, 'backoff', flight);
    const started = now();
    const computing = this.#computer.compute(key, entry, fn, {
      args,
      gens: found.gens,
      tags,
      lease,
      epoch,
      negative: !stale,
    });
    let computed: Computed | typeof SOFT;
    try {
      computed = entry.timeout
        ? await within(computing, entry.timeout, entry.kind, stale !== undefined)
        : await computing;
    } catch (error) {
      const timedOut = error instanceof ComputeTimeoutError && entry.timeout !== undefined;
      if (timedOut) this.#computer.background(computing, entry);
      if (!stale) {
        this.#stats.record(entry.kind, 'error');
        throw error;
      }
      if (!timedOut && entry.graceBackoff > 0) this.#backoff.set(key, now() + entry.graceBackoff);
      return this.#graced(entry, stale, timedOut ? 'hard-timeout' : 'error', flight);
    }
    if (computed === SOFT) {
      // the computation goes on and stores its result; calls meanwhile join this flight until it ends
      this.#computer.background(computing, entry);
      const hard = entry.timeout!.hard;
      const until = Math.min(stale!.record.freshUntil + entry.grace, hard === undefined ? Infinity : started + hard);
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
    flight.ms = stale.record.computeMs;
    const outcome = this.#served(entry, stale.record, 'stale', stale.from, now());
    this.#stats.graced(entry.kind, reason);
    outcome.reason = reason;
    return outcome;
  }
}
