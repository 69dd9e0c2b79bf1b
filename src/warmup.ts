/** `cache.warmUp()`: fill the cache ahead of traffic with bounded concurrency. */
import type { Cache, WrapOptions } from './cache.js';
import { WARM_UP_DEFAULTS } from './defaults.js';

/** One warm-up job: a wrap descriptor, or a function that calls a cached method. */
export type WarmUpEntry =
  { kind: string; key: unknown; fn: () => unknown; options?: WrapOptions<unknown> } | (() => Promise<unknown>);

/** Result of `warmUp`. */
export interface WarmUpReport {
  total: number;
  succeeded: number;
  failed: number;
  durationMs: number;
  errors: Array<{ index: number; message: string }>;
}

/** Options of `warmUp`. */
export interface WarmUpOptions {
  /** Jobs run at once. @default 4 */
  concurrency?: number;
  /** Called after each job with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Runs warm-up jobs through `cache.wrap` with bounded concurrency, reporting progress and failures. */
export async function warmUp(
  cache: Cache,
  entries: Iterable<WarmUpEntry>,
  options: WarmUpOptions = {},
): Promise<WarmUpReport> {
  const list = [...entries];
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? WARM_UP_DEFAULTS.concurrency));
  const report: WarmUpReport = { total: list.length, succeeded: 0, failed: 0, durationMs: 0, errors: [] };
  const started = performance.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < list.length) {
      const index = next++;
      const job = list[index]!;
      try {
        if (typeof job === 'function') await job();
        else await cache.wrap(job.kind, job.key, job.fn, job.options);
        report.succeeded++;
      } catch (error) {
        report.failed++;
        report.errors.push({ index, message: error instanceof Error ? error.message : String(error) });
      }
      options.onProgress?.(++done, list.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  report.durationMs = performance.now() - started;
  return report;
}
