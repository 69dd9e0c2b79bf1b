/**
 * The vector index behind the semantic tier: nearest neighbours by cosine similarity within a partition (the
 * exact-match filter of a request). Behind an interface so that Redis 8's Vector Sets or the Query Engine can serve
 * it later; today an in-process index per instance, filled from Redis and kept current over the bus.
 */

/** A nearest-neighbour index of unit vectors, searched within one partition at a time. */
export interface VectorIndex {
  /** Adds (or replaces) `id` in `partition`; the vector is normalised to unit length. */
  add(partition: string, id: string, vector: ArrayLike<number>): void;
  /** Removes `id`; false when it was not there. */
  remove(id: string): boolean;
  /** Removes every vector of `partition` (or of every partition starting with it, `byPrefix`); returns how many. */
  removePartition(partition: string, byPrefix?: boolean): number;
  /** The `k` nearest vectors of `partition` to `vector`, most similar first (cosine similarity, -1 to 1). */
  search(partition: string, vector: ArrayLike<number>, k: number): Array<{ id: string; similarity: number }>;
  /** Vectors held. */
  readonly size: number;
  /** Approximate bytes held by the vectors and their ids. */
  memoryBytes(): number;
  /** Removes everything. */
  clear(): void;
}
