/** The in-process tier: an LRU bounded by entries and bytes, holding records with their kind and tags. */
import { LRUCache } from 'lru-cache';
import { copyUnfrozen, settle, type PendingValue } from './frozen.js';
import type { CacheRecord } from './record.js';

/** A record in the memory tier, with what invalidation needs. */
export interface MemoryEntry {
  record: CacheRecord;
  kind: string;
  tags: readonly string[];
  /** When it was put in this tier (ms since the epoch), set by `set`. */
  at?: number;
  /**
   * The record's value holds parts that cannot be frozen (a Date, a Map, a Buffer…): each caller gets its own copy
   * of them (`valueOf`). Otherwise the value is shared as it is: frozen, or shared on purpose (`memory.shared`).
   */
  copy?: boolean;
  /**
   * The value is not decoded yet: `record.value` is undefined and `body` is its record's MessagePack (a copy of its
   * own). The first `get` decodes and freezes it (see `settle`), so that a value nobody asks for again costs its
   * bytes only: no decoding, no freezing, no object graph for the collector to trace.
   */
  pending?: PendingValue | undefined;
}

/** The value a caller gets from a memory entry: the shared one, or its own copy of the parts that are not frozen. */
export function valueOf(entry: MemoryEntry): unknown {
  return entry.copy ? copyUnfrozen(entry.record.value) : entry.record.value;
}

/** Bounds of the memory tier, already validated, in ms and bytes. */
export interface MemoryBounds {
  maxEntries: number;
  maxBytes: number;
  maxTtl: number | undefined;
}

/** In-process LRU tier. */
export class MemoryTier {
  readonly #lru: LRUCache<string, MemoryEntry>;
  readonly #maxTtl: number | undefined;
  readonly #maxBytes: number;

  constructor(bounds: MemoryBounds) {
    this.#maxTtl = bounds.maxTtl;
    this.#maxBytes = bounds.maxBytes;
    this.#lru = new LRUCache<string, MemoryEntry>({
      max: bounds.maxEntries,
      maxSize: bounds.maxBytes,
      sizeCalculation: () => 1,
      ttlAutopurge: false,
      allowStale: false,
    });
  }

  /** The entry under `key` if not expired past its stale window, its value decoded (see `MemoryEntry.pending`). */
  get(key: string): MemoryEntry | undefined {
    const entry = this.#lru.get(key);
    if (!entry?.pending || settle(entry)) return entry;
    this.#lru.delete(key); // bytes it cannot decode (never seen: they were encoded or decoded here before)
    return undefined;
  }

  /**
   * Stores an entry until its stale deadline (or the tier's `maxTtl`); `size` is what it is counted as against
   * `maxBytes`: the value's uncompressed encoded size (1 when it has none).
   */
  set(key: string, entry: MemoryEntry, size: number): void {
    const t = Date.now();
    entry.at = t;
    let ttl = entry.record.staleUntil - t;
    if (this.#maxTtl !== undefined) ttl = Math.min(ttl, this.#maxTtl);
    if (ttl <= 0) return;
    this.#lru.set(key, entry, { ttl, size: Math.max(1, size) });
  }

  /** Whether an entry of `size` bytes can be kept at all (not above `maxBytes`). */
  fits(size: number): boolean {
    return size <= this.#maxBytes;
  }

  /** Drops one entry. */
  delete(key: string): void {
    this.#lru.delete(key);
  }

  /** Drops every entry matching `test`; the tier is bounded, so this is a bounded loop. */
  deleteWhere(test: (entry: MemoryEntry) => boolean): number {
    let removed = 0;
    for (const [key, entry] of this.#lru.entries()) {
      if (test(entry)) {
        this.#lru.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /** Drops everything. */
  clear(): void {
    this.#lru.clear();
  }

  /** Entries and bytes held. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize };
  }
}
