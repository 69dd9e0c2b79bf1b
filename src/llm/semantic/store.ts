/**
 * Where the semantic tier's vectors live: each stored answer's vector and compared text is an entry of the same kind
 * (`sem.<answer id>`, same TTL, encrypted like the answers when the cache encrypts), listed in a per-kind registry
 * (a sorted set, one key: Redis Cluster safe), and searched in an in-process index per instance, filled from the
 * registry when a kind is first used and kept current over the invalidation bus.
 */
import type { Cache, WrapOptions } from '../../cache.js';
import { internalsOf } from '../../cache.js';
import { createMemoryIndex } from './index-memory.js';
import type { VectorIndex } from './vector-index.js';

/** A stored vector: what `sem.<answer id>` holds. */
export interface SemanticRecord {
  /** The embedding (float32). */
  v: Float32Array;
  /** The compared text. */
  t: string;
  /** The partition (exact-match filter). */
  p: string;
  /** Milliseconds since the epoch when the answer was stored. */
  at: number;
}

/** The TTL (seconds; undefined: the kind's) and tags of the answer a vector belongs to. */
export interface SemanticEntryOptions {
  ttl: number | undefined;
  tags: readonly string[] | undefined;
}

/** Separates the kind from the filter hash in a partition name. */
export const PARTITION_SEPARATOR = '\u0001';
/** Registry entries read per page when an instance loads a kind. */
const PAGE = 500;

const stores = new WeakMap<Cache, SemanticStore>();

/** The vectors of one cache, shared by every wrapper of it. */
export class SemanticStore {
  /** The in-process index (every kind of the cache, partitioned). */
  readonly index: VectorIndex = createMemoryIndex();
  readonly #cache: Cache;
  readonly #loads = new Map<string, Promise<void>>();
  /** Kinds with a semantic tier in this process: the bus's new vectors of other kinds are ignored. */
  readonly #kinds = new Set<string>();
  readonly #setOptions = new Map<string, WrapOptions<SemanticRecord>>();

  /** The store of `cache` (made once). */
  static of(cache: Cache): SemanticStore {
    let store = stores.get(cache);
    if (!store) stores.set(cache, (store = new SemanticStore(cache)));
    return store;
  }

  private constructor(cache: Cache) {
    this.#cache = cache;
    internalsOf(cache).bus?.watch((message) => this.#onMessage(message));
  }

  /**
   * Resolves once the vectors of `kind` stored in Redis are in the index (loaded on the first call; a load that
   * failed, Redis being unreachable, is tried again by the next call). Never rejects.
   */
  ready(kind: string): Promise<void> {
    this.#kinds.add(kind);
    let load = this.#loads.get(kind);
    if (!load) {
      load = this.#load(kind).catch(() => {
        this.#loads.delete(kind);
      });
      this.#loads.set(kind, load);
    }
    return load;
  }

  /** Stores the vector of the answer `id` (after the answer itself), indexes it and tells the other instances. */
  async add(kind: string, id: string, record: SemanticRecord, entry: SemanticEntryOptions): Promise<void> {
    const which = `${entry.ttl}|${entry.tags?.join('|')}`;
    let options = this.#setOptions.get(which);
    if (!options) {
      if (this.#setOptions.size > 100) this.#setOptions.clear();
      this.#setOptions.set(which, (options = { ttl: entry.ttl, tags: entry.tags }));
    }
    this.#index(id, record);
    await this.#cache.set(kind, recordId(id), record, options);
    const redis = internalsOf(this.#cache).redis;
    const registry = this.registryKey(kind);
    if (redis) await redis.send(registry, false, ['ZADD', registry, String(record.at), id]);
    internalsOf(this.#cache).bus?.publish({ semantic: { kind, id } });
  }

  /** The stored vector of the answer `id`, or undefined (expired, invalidated, unreadable). */
  async read(kind: string, id: string): Promise<SemanticRecord | undefined> {
    const record = await this.#cache.get<SemanticRecord>(kind, recordId(id)).catch(() => undefined);
    return isRecord(record) ? record : undefined;
  }

  /** Forgets the answer `id`'s vector: here, in Redis and in the registry (lazy clean-up of a match gone stale). */
  drop(kind: string, id: string): void {
    this.index.remove(id);
    void this.#cache.delete(kind, recordId(id)).catch(() => {});
    const redis = internalsOf(this.#cache).redis;
    const registry = this.registryKey(kind);
    void redis?.send(registry, false, ['ZREM', registry, id]);
  }

  /** Redis errors seen so far: reads in between that found nothing really found nothing if it did not change. */
  failures(): number {
    const c = internalsOf(this.#cache).redis?.counters;
    return c ? c.errors + c.timeouts + c.skipped : 0;
  }

  /** Key of the registry of `kind`: `{namespace}:{kind}:{version}:sem~registry`. */
  registryKey(kind: string): string {
    const { namespace, version } = this.#cache.settings;
    return `${namespace}:${kind}:${version}:sem~registry`;
  }

  async #load(kind: string): Promise<void> {
    const redis = internalsOf(this.#cache).redis;
    if (!redis) return;
    const registry = this.registryKey(kind);
    let cursor = '0';
    do {
      const reply = (await redis.sendOrThrow(registry, true, ['ZSCAN', registry, cursor, 'COUNT', String(PAGE)])) as [
        unknown,
        unknown[],
      ];
      cursor = String(reply[0]);
      const ids: string[] = [];
      for (let i = 0; i < reply[1].length; i += 2) ids.push(String(reply[1][i]));
      const before = this.failures();
      const records = await Promise.all(ids.map((id) => this.read(kind, id)));
      const trusted = this.failures() === before;
      records.forEach((record, i) => {
        const id = ids[i]!;
        if (record) this.#index(id, record);
        else if (trusted) void redis.send(registry, false, ['ZREM', registry, id]);
      });
    } while (cursor !== '0');
  }

  /** Indexes a vector; one the index refuses (another embedder's length, all zeros) is left out. */
  #index(id: string, record: SemanticRecord): void {
    try {
      this.index.add(record.p, id, record.v);
    } catch {
      // a vector of another length (the embedder changed without a new kind) cannot match anyway
    }
  }

  #onMessage(m: Record<string, unknown>): void {
    const semantic = m.semantic as { kind?: unknown; id?: unknown } | undefined;
    if (typeof semantic === 'object' && semantic !== null) {
      const { kind, id } = semantic;
      if (typeof kind !== 'string' || typeof id !== 'string' || !this.#kinds.has(kind)) return;
      void this.read(kind, id).then((record) => record && this.#index(id, record));
    } else if (m.resync === true) {
      // the bus was down: other instances' new vectors may have been missed; read the registries again
      for (const kind of this.#kinds) if (this.#loads.delete(kind)) void this.ready(kind);
    } else if (m.all === true) this.index.clear();
    else if (typeof m.kind === 'string' && m.key === undefined) {
      this.index.removePartition(m.kind + PARTITION_SEPARATOR, true);
    }
  }
}

/** Id of the entry holding the vector of the answer `id`. */
function recordId(id: string): string {
  return `sem.${id}`;
}

function isRecord(value: unknown): value is SemanticRecord {
  const r = value as Partial<SemanticRecord> | undefined;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.v instanceof Float32Array &&
    typeof r.t === 'string' &&
    typeof r.p === 'string' &&
    typeof r.at === 'number'
  );
}
