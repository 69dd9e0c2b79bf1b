/**
 * The timed phases that `bench:micro` and `bench:isolated` share: their sizes, how a batch is sized, and which key
 * each call uses. Both measure the same phases, so both take them from here.
 */

/** `BENCH_QUICK=1`: a few calls per phase, to prove the benchmark runs. */
export const QUICK = process.env.BENCH_QUICK === '1';
const scaled = (n: number) => (QUICK ? Math.max(8, Math.round(n / 50)) : n);
/** Calls per batch before sizing (see {@link batchCalls}). */
export const CALLS = { hit: scaled(2000), miss: scaled(500), inflight: scaled(4096) };
/** Shortest batch, in ms. */
export const BATCH_MS = QUICK ? 1 : 40;
/** Primed keys the hit phases cycle through. */
export const HIT_KEYS = 256;
/** Calls outstanding at all times in the in-flight phase. */
export const IN_FLIGHT = 64;

/**
 * Calls per batch after the warm-up round: enough for the batch to last at least {@link BATCH_MS} (fast contenders,
 * the memory tiers, get more calls), so that a batch is not dominated by what the previous one left behind.
 */
export function batchCalls(base: number, warmUpWallMs: number): number {
  return Math.min(base * 100, Math.max(base, Math.ceil((BATCH_MS * base) / warmUpWallMs)));
}

/**
 * The hit key (an index below {@link HIT_KEYS}) of call `i` of a round at 64 in flight: 37 is coprime with 256, so
 * the 64 calls in flight at any moment use 64 different keys, and single-flight helps nobody.
 */
export function inflightKey(i: number, round: number): number {
  return ((i + round * IN_FLIGHT) * 37) % HIT_KEYS;
}
