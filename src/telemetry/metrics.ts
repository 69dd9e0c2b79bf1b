/**
 * Metrics fed by the counters of `Stats`, so `cache.stats()` and the metrics always agree, and recorded cheaply:
 * attribute sets are made once per kind and result and reused, and the per-call counters (`infercache.requests`,
 * `time_saved`, `cost_saved`) are tallies summed in place and reported when the meter collects (observable
 * counters), so a hit costs an addition, not a trip through the SDK's attribute hashing.
 */
import type { Attributes, ObservableResult } from '@opentelemetry/api';
import * as C from './semconv.js';
import { report } from './lazy.js';
import type { Instruments } from './instruments.js';
import type { CacheResult, StatsListener } from '../stats.js';

/** A monotonic sum bound to one attribute set, reported by an observable counter (never reset). */
class Tally {
  value = 0;
  constructor(readonly attributes: Attributes) {}
}

/** The attribute sets and tallies of one kind, made once. */
export class KindMetrics {
  /** `{ infercache.kind }`. */
  readonly attributes: Attributes;
  readonly #requests = new Map<CacheResult, Tally>();
  readonly #bypasses = new Map<string, Tally>();
  readonly timeSaved: Tally;
  readonly costSaved: Tally;
  /** Attributes of the kind's `store` spans. */
  readonly store: Attributes;
  /** Attribute sets of `infercache.operation.duration` by operation, then result. */
  readonly #durations = new Map<string, Map<CacheResult | undefined, Attributes>>();
  /** Attribute sets of the event noting an unspanned hit, by result and tier. */
  readonly #hits = new Map<string, Attributes>();

  constructor(readonly kind: string) {
    this.attributes = Object.freeze({ [C.ATTR_KIND]: kind });
    this.timeSaved = new Tally(this.attributes);
    this.costSaved = new Tally(this.attributes);
    this.store = Object.freeze({ [C.ATTR_KIND]: kind, [C.ATTR_DB_SYSTEM]: 'redis', [C.ATTR_DB_OPERATION]: 'SET' });
  }

  /** The tally of `infercache.requests` for `result` (and, for a bypass, its reason). */
  requests(result: CacheResult, reason: string | undefined): Tally {
    if (reason !== undefined) {
      let t = this.#bypasses.get(reason);
      if (!t) {
        const attributes = { [C.ATTR_KIND]: this.kind, [C.ATTR_RESULT]: result, [C.ATTR_BYPASS_REASON]: reason };
        this.#bypasses.set(reason, (t = new Tally(Object.freeze(attributes))));
      }
      return t;
    }
    let t = this.#requests.get(result);
    if (!t)
      this.#requests.set(result, (t = new Tally(Object.freeze({ [C.ATTR_KIND]: this.kind, [C.ATTR_RESULT]: result }))));
    return t;
  }

  /** Attributes of an operation's duration: operation, kind and result (made once per pair; no key built per call). */
  duration(operation: string, result: CacheResult | undefined): Attributes {
    let byResult = this.#durations.get(operation);
    if (!byResult) this.#durations.set(operation, (byResult = new Map()));
    let a = byResult.get(result);
    if (!a) byResult.set(result, (a = Object.freeze(durationAttributes(operation, this.kind, result))));
    return a;
  }

  /** Attributes of the event noting a hit (or stale serve) from `tier` on the caller's span: kind, result, tier. */
  hit(result: CacheResult, tier: string | undefined): Attributes {
    const id = `${result} ${tier}`;
    let a = this.#hits.get(id);
    if (!a) {
      a = { [C.ATTR_KIND]: this.kind, [C.ATTR_RESULT]: result };
      if (tier !== undefined) a[C.ATTR_TIER] = tier;
      this.#hits.set(id, (a = Object.freeze(a)));
    }
    return a;
  }

  /** Reports every tally of `infercache.requests`. */
  observeRequests(out: ObservableResult): void {
    for (const t of this.#requests.values()) out.observe(t.value, t.attributes);
    for (const t of this.#bypasses.values()) out.observe(t.value, t.attributes);
  }
}

/** Attributes of an operation's duration, built each time (errors, calls without a kind). */
export function durationAttributes(operation: string, kind: string | undefined, result?: string): Attributes {
  const a: Attributes = { [C.ATTR_OPERATION]: operation };
  if (kind !== undefined) a[C.ATTR_KIND] = kind;
  if (result !== undefined) a[C.ATTR_RESULT] = result;
  return a;
}

/** The per-kind metric state of one cache. */
export class MetricKinds {
  readonly #kinds = new Map<string, KindMetrics>();
  /** Attribute sets of operations without a kind (`invalidateTags`, `invalidateAll`), by operation and result. */
  readonly #kindless = new Map<string, Attributes>();

  /** The state of `kind`, made on first use. */
  of(kind: string): KindMetrics {
    let k = this.#kinds.get(kind);
    if (!k) this.#kinds.set(kind, (k = new KindMetrics(kind)));
    return k;
  }

  /** Attributes of an operation's duration (and of its span at start): made once per operation, kind and result. */
  duration(operation: string, kind: string | undefined, result?: CacheResult): Attributes {
    if (kind !== undefined) return this.of(kind).duration(operation, result);
    const id = result === undefined ? operation : `${operation} ${result}`;
    let a = this.#kindless.get(id);
    if (!a) this.#kindless.set(id, (a = Object.freeze(durationAttributes(operation, undefined, result))));
    return a;
  }

  /** Reports the `infercache.requests` tallies. */
  observeRequests(out: ObservableResult): void {
    for (const k of this.#kinds.values()) k.observeRequests(out);
  }

  /** Reports the `infercache.time_saved` tallies (kinds that saved something). */
  observeTimeSaved(out: ObservableResult): void {
    for (const k of this.#kinds.values()) if (k.timeSaved.value > 0) out.observe(k.timeSaved.value, k.attributes);
  }

  /** Reports the `infercache.cost_saved` tallies (kinds with a cost that saved something). */
  observeCostSaved(out: ObservableResult): void {
    for (const k of this.#kinds.values()) if (k.costSaved.value > 0) out.observe(k.costSaved.value, k.attributes);
  }
}

/** A `Stats` listener recording requests, time and cost saved, compute durations, errors and entry sizes. */
export class StatsMetrics implements StatsListener {
  readonly #current: () => Instruments | undefined;
  readonly #kinds: MetricKinds;

  /** `current` returns the instruments, or undefined while no meter provider records. */
  constructor(kinds: MetricKinds, current: () => Instruments | undefined) {
    this.#kinds = kinds;
    this.#current = current;
  }

  /** Counts one served call (from `Stats`): requests (a bypass with its reason), time saved and cost saved. */
  result(kind: string, result: CacheResult, savedSeconds: number, costSaved: number, reason?: string): void {
    if (!this.#current()) return;
    const k = this.#kinds.of(kind);
    k.requests(result, reason).value++;
    if (savedSeconds > 0) k.timeSaved.value += savedSeconds;
    if (costSaved > 0) k.costSaved.value += costSaved;
  }

  /** Records a computation's duration (from `Stats`). */
  computed(kind: string, seconds: number): void {
    const m = this.#current();
    if (!m) return;
    try {
      m.computeDuration.record(seconds, this.#kinds.of(kind).attributes);
    } catch (error) {
      report(error);
    }
  }

  /** Counts an error that did not fail the call (from `Stats`). */
  error(kind: string): void {
    const m = this.#current();
    if (!m) return;
    try {
      m.errors.add(1, this.#kinds.of(kind).attributes);
    } catch (error) {
      report(error);
    }
  }

  /** Records the size of an entry written to Redis (from `Stats`). */
  stored(kind: string, bytes: number): void {
    const m = this.#current();
    if (!m) return;
    try {
      m.entrySize.record(bytes, this.#kinds.of(kind).attributes);
    } catch (error) {
      report(error);
    }
  }
}
