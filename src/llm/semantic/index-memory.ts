/**
 * The in-process vector index: per partition, an IVF (inverted file) index that grows online. A partition starts as
 * one list scanned whole (brute force, no training); past `flatLimit` vectors it is bisected (2-means) into lists of
 * about `listSize`, and from then on every list that outgrows 2 × `listSize` is bisected in turn, so the coarse
 * quantiser is trained incrementally and never rebuilt. Each list's centroid is the running mean of its vectors. A
 * search ranks the centroids and scans the `nprobe` nearest lists. Vectors are int8 with a per-vector scale by
 * default (each match carries the exact bound of its quantisation error) or float32 (exact similarities).
 */
import { ConfigError } from '../../errors.js';
import { InvertedList, TopK, type Slot, type VectorPrecision } from './index-list.js';
import { bisect } from './index-split.js';
import {
  checkDimensions,
  checkK,
  unitVector,
  type SearchOptions,
  type VectorIndex,
  type VectorMatch,
} from './vector-index.js';

export type { VectorPrecision } from './index-list.js';

/** Options of `createMemoryIndex`. */
export interface MemoryIndexOptions {
  /** Vector length; when absent, fixed by the first `add` (and forgotten by `clear`). */
  dimensions?: number;
  /**
   * `'int8'`: one byte per dimension and a per-vector scale, each match's `error` bounds its similarity's error
   * (typically ~0.001 reported, ~0.01 bound at 384 dimensions); `'float32'`: 4 bytes per dimension, exact.
   * @default 'int8'
   */
  precision?: VectorPrecision;
  /** A partition of at most this many vectors is one list scanned whole. @default 2048 */
  flatLimit?: number;
  /** Target vectors per inverted list; a list is bisected when it holds more than twice this. @default 192 */
  listSize?: number;
  /** Lists scanned per search once a partition is partitioned. @default 8 */
  nprobe?: number;
}

const defaults = { precision: 'int8', flatLimit: 2048, listSize: 192, nprobe: 8 } satisfies Required<
  Omit<MemoryIndexOptions, 'dimensions'>
>;

/** Bytes counted per stored vector beyond its arrays: the slot object, the id map entry, the id string header. */
const SLOT_OVERHEAD = 120;

/** One partition: its inverted lists and their centroids (row i of `centroids` belongs to `lists[i]`). */
class Partition {
  lists: InvertedList[] = [];
  centroids = new Float32Array(0);
  /** ‖centroid‖² per list. */
  norms = new Float64Array(0);
  size = 0;
}

/** The IVF index; see the file comment. */
class MemoryIndex implements VectorIndex {
  private readonly partitions = new Map<string, Partition>();
  private readonly slots = new Map<string, Slot>();
  private dims: number | undefined;
  private idChars = 0;

  constructor(
    private readonly fixedDims: number | undefined,
    private readonly precision: VectorPrecision,
    private readonly flatLimit: number,
    private readonly listSize: number,
    private readonly nprobe: number,
  ) {
    this.dims = fixedDims;
  }

  get size(): number {
    return this.slots.size;
  }

  get dimensions(): number | undefined {
    return this.dims;
  }

  ids(partition: string): string[] {
    const part = this.partitions.get(partition);
    return part ? part.lists.flatMap((list) => list.slots.slice(0, list.count).map((slot) => slot.id)) : [];
  }

  has(id: string): boolean {
    return this.slots.has(id);
  }

  add(partition: string, id: string, vector: ArrayLike<number>): void {
    const unit = unitVector(vector, this.dims);
    this.dims = unit.length;
    this.remove(id);
    let part = this.partitions.get(partition);
    if (!part) this.partitions.set(partition, (part = new Partition()));
    if (part.lists.length === 0) this.appendList(part, new InvertedList(unit.length, this.precision));
    const index = part.lists.length === 1 ? 0 : this.nearestLists(part, unit, 1)[0]!;
    const list = part.lists[index]!;
    const slot: Slot = { id, partition, list, pos: 0 };
    list.push(slot, unit);
    part.size++;
    this.slots.set(id, slot);
    this.idChars += id.length + partition.length;
    this.updateCentroid(part, index);
    if (list.count > (part.lists.length === 1 ? Math.max(this.flatLimit, 2 * this.listSize) : 2 * this.listSize)) {
      this.split(part, index);
    }
  }

  remove(id: string): boolean {
    const slot = this.slots.get(id);
    if (!slot) return false;
    this.slots.delete(id);
    this.idChars -= id.length + slot.partition.length;
    const part = this.partitions.get(slot.partition)!;
    const list = slot.list;
    const index = part.lists.indexOf(list);
    list.removeAt(slot.pos);
    part.size--;
    if (part.size === 0) this.partitions.delete(slot.partition);
    else if (list.count === 0) this.dropList(part, index);
    else if (part.lists.length > 1 && part.size <= this.flatLimit / 2) this.collapse(part);
    else this.updateCentroid(part, index);
    return true;
  }

  removePartition(partition: string, byPrefix = false): number {
    let removed = 0;
    for (const [name, part] of [...this.partitions]) {
      if (byPrefix ? !name.startsWith(partition) : name !== partition) continue;
      for (const list of part.lists) {
        for (let pos = 0; pos < list.count; pos++) {
          const slot = list.slots[pos]!;
          this.slots.delete(slot.id);
          this.idChars -= slot.id.length + name.length;
        }
      }
      removed += part.size;
      this.partitions.delete(name);
    }
    return removed;
  }

  search(partition: string, vector: ArrayLike<number>, k: number, options?: SearchOptions): VectorMatch[] {
    checkK(k);
    const nprobe = options?.nprobe ?? this.nprobe;
    if (!Number.isInteger(nprobe) || nprobe < 1)
      throw new TypeError(`infercache: nprobe must be a positive integer, got ${nprobe}`);
    const query = unitVector(vector, this.dims);
    const part = this.partitions.get(partition);
    if (!part || k === 0) return [];
    const top = new TopK(k);
    if (part.lists.length === 1) part.lists[0]!.scan(query, top);
    else for (const index of this.nearestLists(part, query, nprobe)) part.lists[index]!.scan(query, top);
    return top.slots.map((slot, i) => ({
      id: slot.id,
      similarity: Math.max(-1, Math.min(1, top.sims[i]!)),
      error: top.errors[i]!,
    }));
  }

  memoryBytes(): number {
    let bytes = 2 * this.idChars + SLOT_OVERHEAD * this.slots.size;
    for (const part of this.partitions.values()) {
      bytes += part.centroids.byteLength + part.norms.byteLength + 8 * part.lists.length;
      for (const list of part.lists) bytes += list.bytes();
    }
    return bytes;
  }

  clear(): void {
    this.partitions.clear();
    this.slots.clear();
    this.idChars = 0;
    this.dims = this.fixedDims;
  }

  /** Indexes of the `n` lists whose centroids are nearest to `q` (Euclidean), nearest first. */
  private nearestLists(part: Partition, q: Float64Array, n: number): number[] {
    const d = q.length;
    const c = part.centroids;
    const best: number[] = [];
    const dist: number[] = [];
    const tail = d & 3;
    for (let i = 0; i < part.lists.length; i++) {
      const offset = i * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let j = 0;
      for (; j < d - tail; j += 4) {
        s0 += q[j]! * c[offset + j]!;
        s1 += q[j + 1]! * c[offset + j + 1]!;
        s2 += q[j + 2]! * c[offset + j + 2]!;
        s3 += q[j + 3]! * c[offset + j + 3]!;
      }
      for (; j < d; j++) s0 += q[j]! * c[offset + j]!;
      const score = part.norms[i]! - 2 * (s0 + s1 + s2 + s3);
      if (best.length === n && score >= dist[n - 1]!) continue;
      let at = best.length;
      while (at > 0 && dist[at - 1]! > score) at--;
      best.splice(at, 0, i);
      dist.splice(at, 0, score);
      if (best.length > n) {
        best.pop();
        dist.pop();
      }
    }
    return best;
  }

  /** Appends a list and makes room for its centroid row. */
  private appendList(part: Partition, list: InvertedList): number {
    const index = part.lists.push(list) - 1;
    const d = list.dims;
    if (part.norms.length < part.lists.length) {
      const rows = Math.max(4, part.norms.length * 2);
      const centroids = new Float32Array(rows * d);
      centroids.set(part.centroids);
      part.centroids = centroids;
      const norms = new Float64Array(rows);
      norms.set(part.norms);
      part.norms = norms;
    }
    this.updateCentroid(part, index);
    return index;
  }

  /** Recomputes the centroid of list `index` from its running sum. */
  private updateCentroid(part: Partition, index: number): void {
    const list = part.lists[index]!;
    const d = list.dims;
    const inv = list.count > 0 ? 1 / list.count : 0;
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const x = list.sum[j]! * inv;
      part.centroids[index * d + j] = x;
      norm += x * x;
    }
    part.norms[index] = norm;
  }

  /** Removes empty list `index`, moving the last list (and its centroid row) into its place. */
  private dropList(part: Partition, index: number): void {
    const last = part.lists.length - 1;
    if (index !== last) {
      part.lists[index] = part.lists[last]!;
      const d = part.lists[index]!.dims;
      part.centroids.copyWithin(index * d, last * d, last * d + d);
      part.norms[index] = part.norms[last]!;
    }
    part.lists.pop();
  }

  /** Bisects list `index` (recursively, while a half is still too large). */
  private split(part: Partition, index: number): void {
    const list = part.lists[index]!;
    const [a, b] = bisect(list);
    part.lists[index] = a;
    this.updateCentroid(part, index);
    const other = this.appendList(part, b);
    if (a.count > 2 * this.listSize) this.split(part, index);
    if (b.count > 2 * this.listSize) this.split(part, other);
  }

  /** Merges every list of a shrunken partition back into one list scanned whole. */
  private collapse(part: Partition): void {
    const merged = new InvertedList(part.lists[0]!.dims, this.precision, part.size);
    for (const list of part.lists) for (let pos = 0; pos < list.count; pos++) merged.pushFrom(list, pos);
    part.lists = [];
    this.appendList(part, merged);
  }
}

/** Validates one numeric option: an integer of at least `min`. */
function integerOption(name: keyof MemoryIndexOptions, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new ConfigError(name, `must be an integer ≥ ${min}, got ${value}`);
  return value;
}

/** An in-process vector index (IVF over int8 or float32 vectors, brute force for small partitions); see MemoryIndexOptions. */
export function createMemoryIndex(options: MemoryIndexOptions = {}): VectorIndex {
  checkDimensions(options.dimensions);
  const precision = options.precision ?? defaults.precision;
  if (precision !== 'int8' && precision !== 'float32') {
    throw new ConfigError('precision', `must be 'int8' or 'float32', got ${String(precision)}`);
  }
  return new MemoryIndex(
    options.dimensions,
    precision,
    integerOption('flatLimit', options.flatLimit ?? defaults.flatLimit, 1),
    integerOption('listSize', options.listSize ?? defaults.listSize, 2),
    integerOption('nprobe', options.nprobe ?? defaults.nprobe, 1),
  );
}
