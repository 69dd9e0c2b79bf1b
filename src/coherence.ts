/**
 * The memory tiers and what keeps them coherent: the tiers themselves (shared, or per kind when a kind gives its own
 * bounds), the drop epochs that keep a value read or computed before a drop out of memory, the drops (by key, kind,
 * tags, or all) and the invalidation bus that carries them to the other instances. Every message to the bus is
 * published here, and every drop, local or received, is applied here.
 */
import { MemoryTier, type MemoryEntry } from './memory.js';
import { memoryForm } from './frozen.js';
import { Bus, type DropMessage } from './bus.js';
import type { CacheRecord } from './record.js';
import type { Codec } from './codec.js';
import type { RedisTier } from './redis/tier.js';
import type { Settings } from './config.js';
import type { ResolvedEntry } from './entry.js';

/** What a drop covers: one key (of a kind), a kind, entries carrying any of some tags, or everything. */
export type Drop = DropMessage;

/** How `remember` puts a record in memory. */
export interface RememberOptions {
  tags: readonly string[];
  /** The record's MessagePack body, when its value was encoded as it is (not by a user `serialize`). */
  body: Buffer | undefined;
  /** Its size against `memory.maxBytes`: the uncompressed encoded length (1 when the value cannot be encoded). */
  size: number;
  /** The memory epoch the value's computation or read began in: a value computed across a drop is not kept. */
  epoch: number | undefined;
}

/** Per-key drops remembered for reads in flight; more than this many between two wide drops count as one. */
const MAX_KEY_DROPS = 10_000;

const now = Date.now;

/** Owner of the memory tiers of one cache and of their coherence with Redis and the other instances. */
export class Coherence {
  /** The shared memory tier. */
  readonly memory: MemoryTier;
  /** The invalidation bus, when Redis is configured and `bus` is on. */
  readonly bus: Bus | undefined;
  readonly #kindMemory = new Map<string, MemoryTier>();
  readonly #redis: RedisTier | undefined;
  readonly #codec: Codec;
  readonly #busDownTtl: number;
  readonly #warnOnce: (id: string, message: string) => void;
  /**
   * Counts memory drops (invalidations, deletes, bus messages). A value read or computed since `epoch` was taken is
   * not put in memory if a drop that covers its key came after (`droppedSince`): it may predate the change.
   */
  epoch = 0;
  /** `epoch` of the last drop of everything matching a kind, tags or all. */
  #wideDrop = 0;
  /** `epoch` of the last drop of one key; bounded (past the bound, counted as a wide drop). */
  readonly #keyDrops = new Map<string, number>();

  constructor(
    settings: Settings,
    redis: RedisTier | undefined,
    codec: Codec,
    warnOnce: (id: string, message: string) => void,
  ) {
    this.#redis = redis;
    this.#codec = codec;
    this.#busDownTtl = settings.busDownTtl;
    this.#warnOnce = warnOnce;
    this.memory = new MemoryTier(settings.memory);
    if (redis && settings.bus) {
      this.bus = new Bus(redis, settings.namespace, settings.logger, {
        receive: (drop) => this.drop(drop),
        resync: () => this.drop({ all: true }),
      });
    }
  }

  /** The memory tier an entry of `kind` would be in. */
  memoryFor(kind: string): MemoryTier {
    return this.#kindMemory.get(kind) ?? this.memory;
  }

  /** The memory tier of an entry, or undefined when it does not use one. */
  tierOf(entry: ResolvedEntry): MemoryTier | undefined {
    if (!entry.memory) return undefined;
    if (entry.memory === true) return this.memory;
    let tier = this.#kindMemory.get(entry.kind);
    if (!tier) this.#kindMemory.set(entry.kind, (tier = new MemoryTier(entry.memory)));
    return tier;
  }

  /** Starts listening to the other instances (once; cheap to call on every memory-tier use). */
  listen(): void {
    if (this.bus) void this.bus.start();
  }

  /**
   * Whether a memory entry may be served: always if stored while the bus was up (other instances' changes arrive)
   * or while Redis is unreachable (nobody can change anything); otherwise for `memory.busDownTtl` after it was stored.
   */
  coherent(found: MemoryEntry): boolean {
    const bus = this.bus;
    if (!bus || !this.#redis!.available) return true;
    const at = found.at ?? 0;
    if (at >= bus.since && bus.up) return true;
    return now() - at <= this.#busDownTtl;
  }

  /** Whether memory was dropped for `key` since `epoch` was read. */
  droppedSince(key: string, epoch: number): boolean {
    return this.#wideDrop > epoch || (this.#keyDrops.get(key) ?? 0) > epoch;
  }

  /** Drops from every memory tier what `drop` covers, here only (a change made here, or told by the bus). */
  drop(drop: Drop): void {
    if ('all' in drop) return this.#dropWhere(undefined);
    if ('tags' in drop) {
      const tags = new Set(drop.tags);
      return this.#dropWhere((e) => e.tags.some((t) => tags.has(t)));
    }
    if (drop.key === undefined) {
      const kind = drop.kind;
      return this.#dropWhere((e) => e.kind === kind);
    }
    const epoch = ++this.epoch;
    if (this.#keyDrops.size >= MAX_KEY_DROPS) {
      this.#keyDrops.clear();
      this.#wideDrop = epoch;
    }
    this.#keyDrops.set(drop.key, epoch);
    this.memory.delete(drop.key);
    this.memoryFor(drop.kind).delete(drop.key);
  }

  /** Drops matching entries (all of them without `test`) from every memory tier. */
  #dropWhere(test: ((entry: MemoryEntry) => boolean) | undefined): void {
    this.#wideDrop = ++this.epoch;
    this.#keyDrops.clear();
    if (!test) {
      this.memory.clear();
      for (const tier of this.#kindMemory.values()) tier.clear();
      return;
    }
    this.memory.deleteWhere(test);
    for (const tier of this.#kindMemory.values()) tier.deleteWhere(test);
  }

  /** Tells the other instances to drop what `drop` covers (fail-open, never waits). The one caller of the bus. */
  publish(drop: Drop): void {
    this.bus?.publish(drop);
  }

  /** Entries in every memory tier (the shared one and those of kinds with their own bounds). */
  memoryEntries(): number {
    let entries = this.memory.size.entries;
    for (const tier of this.#kindMemory.values()) entries += tier.size.entries;
    return entries;
  }

  /**
   * Puts a record in the entry's memory tier, unless the entry has none or memory was dropped for `key` since
   * `how.epoch` (the value may predate the drop).
   */
  remember(key: string, entry: ResolvedEntry, record: CacheRecord, how: RememberOptions): void {
    const tier = this.tierOf(entry);
    if (!tier || !tier.fits(how.size) || (how.epoch !== undefined && this.droppedSince(key, how.epoch))) return;
    const form = memoryForm(this.#codec, record, { shared: entry.shared, body: how.body, size: how.size });
    if (form) {
      const { record: kept, copy, pending, size } = form; // `pending` always set: one shape for every entry
      tier.set(key, { record: kept, kind: entry.kind, tags: how.tags, copy, pending }, size);
    } else if (entry.serialize) {
      // stored in Redis through the user's serialize, but the memory tier cannot make a copy the codec refuses
      this.#warnOnce(
        `memory-copy:${entry.owner}`,
        `infercache: results of ${entry.owner} are not kept in memory: they cannot be copied for each caller; ` +
          'memory: { shared: true } keeps them as they are',
      );
    }
  }
}
