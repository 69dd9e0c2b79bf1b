/** Metrics fed by the counters of `Stats`, so `cache.stats()` and the metrics always agree. */
import { diag } from '@opentelemetry/api';
import * as C from './semconv.js';
import type { Instruments } from './instruments.js';
import type { CacheResult, StatsListener } from '../stats.js';

/** Reports a telemetry failure to the OpenTelemetry diag logger; never throws. */
export function report(error: unknown): void {
  try {
    diag.error('infercache: telemetry failed', error as Error);
  } catch {
    // nothing left to tell
  }
}

/** A `Stats` listener recording requests, time and cost saved, compute durations, errors and entry sizes. */
export class StatsMetrics implements StatsListener {
  readonly #current: () => Instruments | undefined;

  /** `current` returns the instruments, or undefined while no meter provider records. */
  constructor(current: () => Instruments | undefined) {
    this.#current = current;
  }

  /** Counts one served call (from `Stats`): requests (a bypass with its reason), time saved and cost saved. */
  result(kind: string, result: CacheResult, savedSeconds: number, costSaved: number, reason?: string): void {
    const m = this.#current();
    if (!m) return;
    try {
      m.requests.add(
        1,
        reason === undefined
          ? { [C.ATTR_KIND]: kind, [C.ATTR_RESULT]: result }
          : { [C.ATTR_KIND]: kind, [C.ATTR_RESULT]: result, [C.ATTR_BYPASS_REASON]: reason },
      );
      if (savedSeconds > 0) m.timeSaved.add(savedSeconds, { [C.ATTR_KIND]: kind });
      if (costSaved > 0) m.costSaved.add(costSaved, { [C.ATTR_KIND]: kind });
    } catch (error) {
      report(error);
    }
  }

  /** Records a computation's duration (from `Stats`). */
  computed(kind: string, seconds: number): void {
    const m = this.#current();
    if (!m) return;
    try {
      m.computeDuration.record(seconds, { [C.ATTR_KIND]: kind });
    } catch (error) {
      report(error);
    }
  }

  /** Counts an error that did not fail the call (from `Stats`). */
  error(kind: string): void {
    const m = this.#current();
    if (!m) return;
    try {
      m.errors.add(1, { [C.ATTR_KIND]: kind });
    } catch (error) {
      report(error);
    }
  }

  /** Records the size of an entry written to Redis (from `Stats`). */
  stored(kind: string, bytes: number): void {
    const m = this.#current();
    if (!m) return;
    try {
      m.entrySize.record(bytes, { [C.ATTR_KIND]: kind });
    } catch (error) {
      report(error);
    }
  }
}
