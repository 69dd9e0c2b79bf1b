/**
 * Re-warming after an invalidation: per kind, a small bounded LRU of recently used keys with the function and
 * options that compute them (in this process only), and a bounded-concurrency rerun of the most used ones.
 */
import type { ResolvedEntry } from './entry.js';
import { WARM_UP_DEFAULTS } from './defaults.js';

/** Options of a re-warm (`cache.rewarm(kind, options)`, `cache.invalidateKind(kind, { rewarm: options })`). */
export interface RewarmOptions {
  /** Recompute at most this many keys, the most used first. @default every remembered key of the kind */
  keys?: number;
  /** Computations run at once. @default 2 */
  concurrency?: number;
  /** Told of the report when a re-warm started by `invalidateKind` ends. */
  onDone?: (report: RewarmReport) => void;
}

/** What a re-warm did. */
export interface RewarmReport {
  kind: string;
  /** Keys recomputed (or found already fresh), the most used first. */
  keys: string[];
  succeeded: number;
  failed: number;
  /** The keys whose computation failed, with the error message. */
  errors: Array<{ key: string; message: string }>;
  durationMs: number;
}

/** One remembered call. */
export interface Remembered {
  key: string;
  entry: ResolvedEntry;
  args: readonly unknown[];
  fn: () => unknown;
  /** Calls seen for the key while it was remembered. */
  uses: number;
}

/** Recently used keys per kind, each kind bounded (least recently used dropped first). */
export class RecentKeys {
  readonly #kinds = new Map<string, Map<string, Remembered>>();

  /** Notes one call of `key` (the latest `fn` and arguments win); bounded by `entry.rewarm` keys per kind. */
  note(key: string, entry: ResolvedEntry, args: readonly unknown[], fn: () => unknown): void {
    let keys = this.#kinds.get(entry.kind);
    if (!keys) this.#kinds.set(entry.kind, (keys = new Map()));
    const seen = keys.get(key);
    if (seen) keys.delete(key);
    keys.set(key, { key, entry, args, fn, uses: (seen?.uses ?? 0) + 1 });
    while (keys.size > entry.rewarm) keys.delete(keys.keys().next().value!);
  }

  /** The `n` most used remembered keys of `kind`, most used first (ties: most recent first). */
  top(kind: string, n = Infinity): Remembered[] {
    const list = [...(this.#kinds.get(kind)?.values() ?? [])].reverse();
    return list.sort((a, b) => b.uses - a.uses).slice(0, Math.max(0, n));
  }
}

/** Reruns the most used keys of `kind` through `run` with bounded concurrency, and reports. */
export async function rewarm(
  kind: string,
  recent: RecentKeys,
  run: (call: Remembered) => unknown,
  options: RewarmOptions = {},
): Promise<RewarmReport> {
  const list = recent.top(kind, options.keys);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? WARM_UP_DEFAULTS.rewarmConcurrency));
  const report: RewarmReport = { kind, keys: [], succeeded: 0, failed: 0, errors: [], durationMs: 0 };
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const call = list[next++]!;
      report.keys.push(call.key);
      try {
        await run(call);
        report.succeeded++;
      } catch (error) {
        report.failed++;
        report.errors.push({ key: call.key, message: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  report.durationMs = performance.now() - started;
  return report;
}
