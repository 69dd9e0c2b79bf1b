/**
 * In-process vector indexes: an exact brute-force scan of the partition (a stand-in until the fast index lands;
 * `createMemoryIndex` and `createExactIndex` are the same here).
 */
import type { VectorIndex } from './vector-index.js';

/** Options of {@link createMemoryIndex}. */
export interface MemoryIndexOptions {
  /** Reserved for the fast index (quantisation, graph parameters). */
  readonly [option: string]: unknown;
}

/** A unit-length copy of `vector` (all zeros stays zeros). */
export function normalise(vector: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(vector);
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i]! * out[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}

class ExactIndex implements VectorIndex {
  readonly #partitions = new Map<string, Map<string, Float32Array>>();
  readonly #partitionOf = new Map<string, string>();

  get size(): number {
    return this.#partitionOf.size;
  }

  add(partition: string, id: string, vector: ArrayLike<number>): void {
    this.remove(id);
    let p = this.#partitions.get(partition);
    if (!p) this.#partitions.set(partition, (p = new Map()));
    p.set(id, normalise(vector));
    this.#partitionOf.set(id, partition);
  }

  remove(id: string): boolean {
    const partition = this.#partitionOf.get(id);
    if (partition === undefined) return false;
    this.#partitionOf.delete(id);
    const p = this.#partitions.get(partition);
    p?.delete(id);
    if (p?.size === 0) this.#partitions.delete(partition);
    return true;
  }

  removePartition(partition: string, byPrefix = false): number {
    let removed = 0;
    for (const [name, p] of [...this.#partitions]) {
      if (byPrefix ? !name.startsWith(partition) : name !== partition) continue;
      for (const id of p.keys()) this.#partitionOf.delete(id);
      removed += p.size;
      this.#partitions.delete(name);
    }
    return removed;
  }

  search(partition: string, vector: ArrayLike<number>, k: number): Array<{ id: string; similarity: number }> {
    const p = this.#partitions.get(partition);
    if (!p || k <= 0) return [];
    const q = normalise(vector);
    const found: Array<{ id: string; similarity: number }> = [];
    for (const [id, v] of p) {
      if (v.length !== q.length) continue;
      let dot = 0;
      for (let i = 0; i < q.length; i++) dot += q[i]! * v[i]!;
      found.push({ id, similarity: dot });
    }
    return found.sort((a, b) => b.similarity - a.similarity).slice(0, k);
  }

  memoryBytes(): number {
    let bytes = 0;
    for (const p of this.#partitions.values()) for (const [id, v] of p) bytes += v.byteLength + id.length * 2 + 64;
    return bytes;
  }

  clear(): void {
    this.#partitions.clear();
    this.#partitionOf.clear();
  }
}

/** An in-process index for the semantic tier. */
export function createMemoryIndex(_options?: MemoryIndexOptions): VectorIndex {
  return new ExactIndex();
}

/** An exact (brute-force) index: the reference the fast one is measured against. */
export function createExactIndex(): VectorIndex {
  return new ExactIndex();
}
