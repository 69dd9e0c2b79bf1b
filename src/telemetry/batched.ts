/**
 * A histogram that hands its measurements to the SDK in batches. Recording one measurement through the SDK costs
 * more than a Redis-tier hit can afford: the SDK hashes the attribute set on every `record` (sorting its keys and
 * serialising them), and that code, run once between two Redis round trips, runs cold. Kept in a buffer and recorded
 * a batch at a time, the same measurements cost a fraction (measured: the duration histogram added 9–19 µs to a
 * Redis-tier hit on a 2-core VM recorded one by one, 0–3 µs in batches of 128).
 *
 * Nothing is lost or late for a reader: the owner flushes from an observable callback, and the SDK runs every
 * observable callback of a collection before it reads the synchronous instruments. The buffer is bounded, and a
 * full buffer is flushed at once. A measurement is recorded outside its call's context: the JavaScript SDK keeps no
 * exemplars, so nothing reads that context.
 */
import type { Attributes, Histogram } from '@opentelemetry/api';
import { report } from './lazy.js';

/** Measurements kept before they are handed to the SDK. */
export const BATCH = 128;

/** A histogram whose measurements are recorded by the SDK in batches: when the buffer is full, and on `flush`. */
export class BatchedHistogram {
  readonly #histogram: Histogram;
  readonly #values = new Float64Array(BATCH);
  readonly #attributes: Array<Attributes | undefined> = new Array<Attributes | undefined>(BATCH).fill(undefined);
  #length = 0;

  constructor(histogram: Histogram) {
    this.#histogram = histogram;
  }

  /** Keeps one measurement; the SDK records it with the next batch. `attributes` must not change afterwards. */
  record(value: number, attributes: Attributes): void {
    const i = this.#length;
    this.#values[i] = value;
    this.#attributes[i] = attributes;
    this.#length = i + 1;
    if (i + 1 === BATCH) this.flush();
  }

  /** Records every kept measurement now, in order, and lets go of their attributes. Never throws. */
  flush(): void {
    const n = this.#length;
    this.#length = 0;
    for (let i = 0; i < n; i++) {
      const attributes = this.#attributes[i]!;
      this.#attributes[i] = undefined;
      try {
        this.#histogram.record(this.#values[i]!, attributes);
      } catch (error) {
        report(error);
      }
    }
  }
}
