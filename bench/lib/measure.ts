/** Timing primitives: sequential and concurrent batches of calls, and their summary (median, p99, ops/s). */

/** What one batch measured: per-call latencies (µs) and the batch's wall time. */
export interface Batch {
  latencies: Float64Array;
  ops: number;
  wallMs: number;
  /** CPU time spent meanwhile by this process and redis-server, µs (NaN when unknown). */
  cpuMicros?: number;
}

/** Summary of all the batches of one contender in one phase. */
export interface Summary {
  /** Median latency of one call, µs. */
  median: number;
  /** 99th percentile latency, µs. */
  p99: number;
  /** Median over batches of calls per second. */
  opsPerSec: number;
  /** Calls measured. */
  samples: number;
  /** CPU time per call of this process and redis-server together, µs: steadier than wall time on a busy machine. */
  cpuPerOp: number;
  /** Each batch's median latency (µs) and rate (calls/s), in round order: for ratios paired round by round. */
  perRound?: { median: number[]; opsPerSec: number[] };
}

/** One call of the operation under test; `i` picks the key. */
export type Operation = (i: number) => Promise<unknown>;

/** Runs `n` calls one after another, timing each. */
export async function sequential(op: Operation, n: number, offset = 0): Promise<Batch> {
  const latencies = new Float64Array(n);
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await op(offset + i);
    latencies[i] = (performance.now() - t) * 1000;
  }
  return { latencies, ops: n, wallMs: performance.now() - started };
}

/** Runs `n` calls with `inFlight` of them outstanding at any time (a closed loop of `inFlight` workers). */
export async function concurrent(op: Operation, n: number, inFlight: number, offset = 0): Promise<Batch> {
  const latencies = new Float64Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      await op(offset + i);
      latencies[i] = (performance.now() - t) * 1000;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { latencies, ops: n, wallMs: performance.now() - started };
}

/** Value at quantile `q` (0..1) of sorted values (nearest rank). */
export function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Ratios of `a` to `b` paired round by round (both ran in the same round, so drift hits both alike): their median
 * and range. NaN when there is no pair.
 */
export function pairedRatio(a: number[], b: number[]): { median: number; min: number; max: number } {
  const ratios = a.map((x, i) => x / b[i]!).filter((r) => Number.isFinite(r));
  if (ratios.length === 0) return { median: NaN, min: NaN, max: NaN };
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** Median of a list of numbers: the mean of the two middle ones for an even count (not the lower one). */
export function median(values: number[]): number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** Pools the batches' latencies and takes the median and p99; ops/s is the median of the batches' rates. */
export function summarise(batches: Batch[]): Summary {
  const total = batches.reduce((n, b) => n + b.latencies.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const b of batches) {
    all.set(b.latencies, at);
    at += b.latencies.length;
  }
  all.sort();
  const ops = batches.reduce((n, b) => n + b.ops, 0);
  return {
    median: quantile(all, 0.5),
    p99: quantile(all, 0.99),
    opsPerSec: median(batches.map((b) => (b.ops * 1000) / b.wallMs)),
    samples: total,
    cpuPerOp: batches.reduce((n, b) => n + (b.cpuMicros ?? NaN), 0) / ops,
    perRound: {
      median: batches.map((b) => quantile(Float64Array.from(b.latencies).sort(), 0.5)),
      opsPerSec: batches.map((b) => (b.ops * 1000) / b.wallMs),
    },
  };
}

type Gc = (options?: { type: 'major' | 'minor'; execution?: 'sync' }) => void;

/** A full (major) collection when node runs with --expose-gc: before measuring how much memory is held. */
export function collectGarbage(): void {
  (globalThis as { gc?: Gc }).gc?.();
}

/**
 * A young-generation collection between batches (with --expose-gc), so that one contender's garbage is not billed to
 * the next. Not a full one: after a forced full collection every contender runs slower for thousands of calls (a
 * Redis-tier hit: 1.4–1.6× its steady median over the first 250 calls, still 1.08–1.14× 2000 calls later), and not
 * by the same factor (the contender with more code on its path recovers more slowly), so batches that each start
 * with one measure the recovery, which a server, whose full collections are rare, does not see.
 */
export function collectYoungGarbage(): void {
  (globalThis as { gc?: Gc }).gc?.({ type: 'minor' });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
