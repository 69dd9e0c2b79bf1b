/**
 * Seeded clustered unit vectors for the vector index benchmark and tests: topic centres, members scattered around
 * them (paraphrases of one question), noisy copies of members (near-verbatim repeats) and fresh random vectors.
 */

/** A seeded PRNG (mulberry32): the same seed gives the same vectors on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** A random unit vector. */
export function randomUnit(random: () => number, dims: number): Float32Array {
  const v = new Float32Array(dims);
  for (let i = 0; i < dims; i++) v[i] = gaussian(random);
  return normalise(v);
}

/** Scales `v` to unit length in place and returns it. */
export function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
  return v;
}

/** `base` plus a random direction of length `radius` (so cos(result, base) ≈ 1/√(1 + radius²)), unit-normalised. */
export function perturb(random: () => number, base: Float32Array, radius: number): Float32Array {
  const noise = randomUnit(random, base.length);
  const v = new Float32Array(base.length);
  for (let i = 0; i < v.length; i++) v[i] = base[i]! + radius * noise[i]!;
  return normalise(v);
}

/** Cosine of two unit vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** A clustered data set: `count` members of `topics` topics (radius 0.3–0.7 around their centre: paraphrases). */
export interface Clustered {
  centres: Float32Array[];
  vectors: Float32Array[];
  /** The topic (index into `centres`) of each vector. */
  topicOf: number[];
  random: () => number;
}

/** Builds a clustered data set from a seed. */
export function clustered(options: { count: number; topics: number; dims: number; seed: number }): Clustered {
  const random = prng(options.seed);
  const centres = Array.from({ length: options.topics }, () => randomUnit(random, options.dims));
  const topicOf = Array.from({ length: options.count }, () => Math.floor(random() * centres.length));
  const vectors = topicOf.map((topic) => perturb(random, centres[topic]!, 0.3 + 0.4 * random()));
  return { centres, vectors, topicOf, random };
}
