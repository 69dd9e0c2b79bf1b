/**
 * Bisection of an inverted list: 2-means over its vectors, seeded deterministically (the vector farthest from the
 * mean, then the one farthest from it), falling back to a median cut along the same axis when one side would hold
 * less than a quarter, so that lists stay balanced and every split makes progress.
 */
import { InvertedList } from './index-list.js';

const ITERATIONS = 6;

/** Splits `list` into two new lists (the stored vectors are copied as they are; slots are moved to the new lists). */
export function bisect(list: InvertedList): [InvertedList, InvertedList] {
  const m = list.count;
  const d = list.dims;
  const vectors = new Float32Array(m * d);
  const row = new Float64Array(d);
  for (let pos = 0; pos < m; pos++) {
    list.read(pos, row);
    vectors.set(row, pos * d);
  }
  const dot = (pos: number, w: Float64Array): number => {
    let s = 0;
    const offset = pos * d;
    for (let j = 0; j < d; j++) s += vectors[offset + j]! * w[j]!;
    return s;
  };
  const copy = (pos: number, out: Float64Array): void => {
    for (let j = 0; j < d; j++) out[j] = vectors[pos * d + j]!;
  };
  const mean = Float64Array.from(list.sum, (x) => x / m);
  const c1 = new Float64Array(d);
  const c2 = new Float64Array(d);
  copy(
    argmin(m, (pos) => dot(pos, mean)),
    c1,
  );
  copy(
    argmin(m, (pos) => dot(pos, c1)),
    c2,
  );

  // Nearer to c1 than to c2 ⇔ x·(c1 − c2) > (‖c1‖² − ‖c2‖²) / 2: one dot product per vector.
  const w = new Float64Array(d);
  const side = new Uint8Array(m);
  let bias = 0;
  for (let iter = 0; iter < ITERATIONS; iter++) {
    bias = axis(c1, c2, w);
    let n1 = 0;
    c1.fill(0);
    c2.fill(0);
    for (let pos = 0; pos < m; pos++) {
      const first = dot(pos, w) > bias;
      side[pos] = first ? 1 : 0;
      const target = first ? c1 : c2;
      if (first) n1++;
      for (let j = 0; j < d; j++) target[j]! += vectors[pos * d + j]!;
    }
    if (n1 === 0 || n1 === m) break;
    for (let j = 0; j < d; j++) {
      c1[j]! /= n1;
      c2[j]! /= m - n1;
    }
  }
  let n1 = side.reduce((n, s) => n + s, 0);
  if (Math.min(n1, m - n1) < m / 4) {
    // Unbalanced (an outlier or a tight cluster): cut at the median projection instead.
    const projections = Float64Array.from({ length: m }, (_, pos) => dot(pos, w));
    const order = Array.from({ length: m }, (_, pos) => pos).sort((x, y) => projections[y]! - projections[x]!);
    side.fill(0);
    for (let i = 0; i < m >> 1; i++) side[order[i]!] = 1;
    n1 = m >> 1;
  }
  const a = new InvertedList(d, list.precision, Math.max(16, n1 + (n1 >> 3)));
  const b = new InvertedList(d, list.precision, Math.max(16, m - n1 + ((m - n1) >> 3)));
  for (let pos = 0; pos < m; pos++) (side[pos] === 1 ? a : b).pushFrom(list, pos);
  return [a, b];
}

/** Index in [0, n) where `score` is smallest. */
function argmin(n: number, score: (i: number) => number): number {
  let best = 0;
  let bestScore = Infinity;
  for (let i = 0; i < n; i++) {
    const s = score(i);
    if (s < bestScore) {
      bestScore = s;
      best = i;
    }
  }
  return best;
}

/** Writes c1 − c2 into `w`; returns (‖c1‖² − ‖c2‖²) / 2. */
function axis(c1: Float64Array, c2: Float64Array, w: Float64Array): number {
  let n1 = 0;
  let n2 = 0;
  for (let j = 0; j < w.length; j++) {
    w[j] = c1[j]! - c2[j]!;
    n1 += c1[j]! * c1[j]!;
    n2 += c2[j]! * c2[j]!;
  }
  return (n1 - n2) / 2;
}
