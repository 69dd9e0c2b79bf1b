/**
 * The vector index seam of the semantic tier: an interface that an in-process index (`createMemoryIndex`) serves
 * today and a Redis 8 Vector Set or Query Engine index could serve later, the input checks every implementation
 * shares, and a tiny exact brute-force index (`createExactIndex`) for tests and recall measurement.
 */

/** One search result: an id and its cosine similarity to the query. */
export interface VectorMatch {
  /** The id given to `add`. */
  id: string;
  /** Cosine similarity to the query, in [-1, 1] (as estimated by the index: see `error`). */
  similarity: number;
  /** Bound on |reported − true similarity| (quantised vectors); 0 when the similarity is exact (float32). */
  error: number;
}

/** Per-search tuning; an index ignores what it has no use for. */
export interface SearchOptions {
  /** Inverted lists to scan (IVF indexes): more finds the exact best more often, at a proportional cost. */
  nprobe?: number;
}

/** A similarity search over stored prompt vectors, partitioned by an exact-match filter key. */
export interface VectorIndex {
  /** Adds or replaces the vector of `id` in partition `partition` (vectors are unit-normalised by the index). */
  add(partition: string, id: string, vector: ArrayLike<number>): void;
  /** Removes `id` (from whichever partition holds it); false if absent. */
  remove(id: string): boolean;
  /** Removes a whole partition (or every partition whose name starts with `prefix` when `byPrefix`). Returns how many vectors went. */
  removePartition(partition: string, byPrefix?: boolean): number;
  /** The `k` nearest ids in `partition` by cosine similarity, best first; [] when the partition is empty. */
  search(partition: string, vector: ArrayLike<number>, k: number, options?: SearchOptions): VectorMatch[];
  /** The ids held in `partition` (in no particular order). */
  ids(partition: string): string[];
  /** Whether `id` is held (in any partition). */
  has(id: string): boolean;
  /** Vectors held. */
  readonly size: number;
  /** Vector length, fixed by the `dimensions` option or by the first `add` (undefined until then). */
  readonly dimensions: number | undefined;
  /** Approximate bytes held by vectors and index structures. */
  memoryBytes(): number;
  /** Drops everything. */
  clear(): void;
}

/**
 * Checks a vector (an array-like of finite numbers, not all zero, of `dimensions` numbers when that is known) and
 * returns it unit-normalised as a Float64Array; throws a TypeError or RangeError that says what is wrong.
 */
export function unitVector(vector: ArrayLike<number>, dimensions: number | undefined): Float64Array {
  if (vector === null || typeof vector !== 'object' || typeof vector.length !== 'number') {
    throw new TypeError('infercache: a vector must be an array or typed array of numbers');
  }
  if (vector.length === 0) throw new RangeError('infercache: a vector must not be empty');
  if (dimensions !== undefined && vector.length !== dimensions) {
    throw new RangeError(
      `infercache: vector dimension mismatch: got ${vector.length} numbers, the index holds ${dimensions}-dimensional vectors`,
    );
  }
  const out = new Float64Array(vector.length);
  let norm2 = 0;
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new TypeError(`infercache: vector component ${i} is ${String(x)}, not a finite number`);
    }
    out[i] = x;
    norm2 += x * x;
  }
  if (norm2 === 0) throw new RangeError('infercache: a zero vector has no direction: cannot compare it by cosine');
  const inv = 1 / Math.sqrt(norm2);
  for (let i = 0; i < out.length; i++) out[i]! *= inv;
  return out;
}

/** Checks `k` of a search: a non-negative integer. */
export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new TypeError(`infercache: k must be a non-negative integer, got ${k}`);
}

/** Checks a dimensions option: a positive integer. */
export function checkDimensions(dimensions: number | undefined): void {
  if (dimensions !== undefined && (!Number.isInteger(dimensions) || dimensions < 1)) {
    throw new TypeError(`infercache: dimensions must be a positive integer, got ${dimensions}`);
  }
}

/** The exact index: every vector as float32, every search a full scan of the partition. */
class ExactIndex implements VectorIndex {
  private readonly partitions = new Map<string, Map<string, Float32Array>>();
  private readonly owner = new Map<string, string>();
  private dims: number | undefined;

  constructor(private readonly fixedDims: number | undefined) {
    this.dims = fixedDims;
  }

  get size(): number {
    return this.owner.size;
  }

  get dimensions(): number | undefined {
    return this.dims;
  }

  add(partition: string, id: string, vector: ArrayLike<number>): void {
    const unit = Float32Array.from(unitVector(vector, this.dims));
    this.dims = unit.length;
    this.remove(id);
    let members = this.partitions.get(partition);
    if (!members) this.partitions.set(partition, (members = new Map()));
    members.set(id, unit);
    this.owner.set(id, partition);
  }

  remove(id: string): boolean {
    const partition = this.owner.get(id);
    if (partition === undefined) return false;
    this.owner.delete(id);
    const members = this.partitions.get(partition)!;
    members.delete(id);
    if (members.size === 0) this.partitions.delete(partition);
    return true;
  }

  removePartition(partition: string, byPrefix = false): number {
    let removed = 0;
    for (const [name, members] of [...this.partitions]) {
      if (byPrefix ? !name.startsWith(partition) : name !== partition) continue;
      for (const id of members.keys()) this.owner.delete(id);
      removed += members.size;
      this.partitions.delete(name);
    }
    return removed;
  }

  search(partition: string, vector: ArrayLike<number>, k: number): VectorMatch[] {
    checkK(k);
    const query = unitVector(vector, this.dims);
    const members = this.partitions.get(partition);
    if (!members || k === 0) return [];
    const best: VectorMatch[] = [];
    for (const [id, v] of members) {
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += query[i]! * v[i]!;
      if (best.length === k && dot <= best[k - 1]!.similarity) continue;
      let at = best.length;
      while (at > 0 && best[at - 1]!.similarity < dot) at--;
      best.splice(at, 0, { id, similarity: dot, error: 0 });
      if (best.length > k) best.pop();
    }
    for (const match of best) match.similarity = Math.max(-1, Math.min(1, match.similarity));
    return best;
  }

  ids(partition: string): string[] {
    return [...(this.partitions.get(partition)?.keys() ?? [])];
  }

  has(id: string): boolean {
    return this.owner.has(id);
  }

  memoryBytes(): number {
    let bytes = 0;
    for (const [id, partition] of this.owner) bytes += 96 + 2 * (id.length + partition.length) + 4 * (this.dims ?? 0);
    return bytes;
  }

  clear(): void {
    this.partitions.clear();
    this.owner.clear();
    this.dims = this.fixedDims;
  }
}

/** An exact brute-force index (float32, full scan): the reference for tests and recall measurement. */
export function createExactIndex(options: { dimensions?: number } = {}): VectorIndex {
  checkDimensions(options.dimensions);
  return new ExactIndex(options.dimensions);
}
