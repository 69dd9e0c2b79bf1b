/**
 * What happens to an entry in the background or after its recomputation failed: refreshes (stale-while-revalidate,
 * early refresh), one per key at a time; and the back-off that keeps serving a graced value without recomputing.
 */
import type { Reader } from './read.js';
import type { Coherence } from './coherence.js';
import type { Computer } from './compute.js';
import type { ResolvedEntry } from './entry.js';
import type { Stats } from './stats.js';
import type { Instrumentation } from './telemetry/instrumentation.js';

/** What a background refresh may reuse from the read that found the value. */
export interface RefreshOptions {
  /** Generations read with it: the refreshed value is stored under them. @default read again */
  gens?: number[];
  /** The memory epoch that read began in. @default the current one */
  epoch?: number;
}

/** What refreshes work with, all owned by the `Cache`. */
export interface RefresherParts {
  reader: Reader;
  coherence: Coherence;
  computer: Computer;
  stats: Stats;
  telemetry: Instrumentation;
  warnOnce: (id: string, message: string) => void;
}

/** Background refreshes of one cache's entries: one per key at a time, failures warned about once per kind. */
export class Refresher {
  readonly #parts: RefresherParts;
  readonly #running = new Set<string>();

  constructor(parts: RefresherParts) {
    this.#parts = parts;
  }

  /** Recomputes and stores `key` in the background (an expired value, or a fresh one early); false if one runs. */
  start(
    key: string,
    entry: ResolvedEntry,
    args: readonly unknown[],
    fn: () => unknown,
    read: RefreshOptions = {},
  ): boolean {
    if (this.#running.has(key)) return false;
    this.#running.add(key);
    const { reader, coherence, computer, telemetry, warnOnce } = this.#parts;
    const run = async () => {
      const epoch = read.epoch ?? coherence.epoch; // of the read that gave `gens`
      const gens = read.gens ?? (await reader.generations(entry.kind, entry.tags(args)));
      await computer.compute(key, entry, fn, { args, gens, tags: entry.tags(args), epoch });
    };
    telemetry
      .refresh(entry.kind, run)
      .catch((error: unknown) =>
        warnOnce(
          `refresh:${entry.kind}`,
          `infercache: background refresh of kind '${entry.kind}' failed: ${(error as Error)?.message}`,
        ),
      )
      .finally(() => this.#running.delete(key));
    return true;
  }

  /** An early (XFetch) refresh of a fresh entry, counted when it starts (one per key at a time). */
  early(key: string, entry: ResolvedEntry, args: readonly unknown[], fn: () => unknown, read?: RefreshOptions): void {
    if (this.start(key, entry, args, fn, read)) this.#parts.stats.earlyRefresh(entry.kind);
  }
}

/** Most keys held in back-off at once. */
const BACKOFF_KEYS = 10_000;

/**
 * Keys whose recomputation failed and whose expired value was served in grace: not recomputed again until a time
 * (`grace.backoff`). Bounded: past BACKOFF_KEYS, the oldest are forgotten first.
 */
export class Backoff {
  readonly #until = new Map<string, number>();

  /** Whether `key` is still backing off at `t`; a key whose time has passed is forgotten. */
  holds(key: string, t: number): boolean {
    if (this.#until.size === 0) return false;
    const until = this.#until.get(key);
    if (until !== undefined && t < until) return true;
    this.#until.delete(key);
    return false;
  }

  /** Backs `key` off until `until` (ms since the epoch). */
  set(key: string, until: number): void {
    this.#until.delete(key);
    this.#until.set(key, until);
    if (this.#until.size > BACKOFF_KEYS) this.#until.delete(this.#until.keys().next().value!);
  }
}
