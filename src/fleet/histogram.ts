/** Latency histograms with fixed bucket bounds, so that every instance's buckets add up in Redis. */

/** Upper bounds of the latency buckets, in ms (the last bucket is everything above). */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

/** Counts per bucket (one more than the bounds) and the sum of the samples. */
export interface Histogram {
  counts: number[];
  sumMs: number;
}

/** An empty histogram. */
export function emptyHistogram(): Histogram {
  return { counts: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0), sumMs: 0 };
}

/** Adds one sample. */
export function observe(h: Histogram, ms: number): void {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]!) i++;
  h.counts[i]!++;
  h.sumMs += ms;
}

/** What `fleetStats` reports of a histogram. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  /** Upper bound of the bucket holding the percentile (the last finite bound for the overflow bucket). */
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Counts per bucket: `le` is the bucket's upper bound in ms (`null` for the overflow bucket). */
  buckets: Array<{ le: number | null; count: number }>;
}

/** Percentiles and mean of a histogram. */
export function summarise(h: Histogram): LatencySummary {
  const count = h.counts.reduce((a, b) => a + b, 0);
  const at = (q: number): number => {
    if (count === 0) return 0;
    let seen = 0;
    for (let i = 0; i < h.counts.length; i++) {
      seen += h.counts[i]!;
      if (seen >= q * count) return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)]!;
    }
    return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
  };
  return {
    count,
    meanMs: count === 0 ? 0 : h.sumMs / count,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
    buckets: h.counts.map((c, i) => ({ le: LATENCY_BOUNDS_MS[i] ?? null, count: c })),
  };
}
