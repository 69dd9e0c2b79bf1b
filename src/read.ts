/**
 * Reads from the Redis tier: an entry and the generation counters it must match, in one round trip (one MGET), and
 * the check that it was stored under the current ones.
 */
import { sameGenerations, type CacheRecord } from './record.js';
import type { Generations } from './generations.js';
import type { Decoder, Decoded } from './decode.js';
import type { RedisTier } from './redis/tier.js';
import type { ResolvedEntry } from './entry.js';

/** What a read found: a valid record (if any), the generations read with it, and whether Redis failed. */
export interface ReadResult extends Decoded {
  record: CacheRecord | undefined;
  gens: number[] | undefined;
  failed: boolean;
}

/** How `read` reads an entry. */
export interface ReadOptions {
  /** The entry's tags: their counters are read with it. */
  tags: readonly string[];
  /** The entry's options, for a user `deserialize`; without them, bytes from a user `serialize` stay bytes. */
  entry?: ResolvedEntry;
}

/**
 * Which generations a read checks: `all` of them (the entry's tags given), or, for an entry read without knowing
 * its tags, only those of the namespace and kind (`readUntagged` then checks the tags' own).
 */
type Check = 'all' | 'untagged';

/** Reads entries of one cache from Redis. */
export class Reader {
  readonly #redis: RedisTier | undefined;
  readonly #generations: Generations;
  readonly #decoder: Decoder;

  constructor(redis: RedisTier | undefined, generations: Generations, decoder: Decoder) {
    this.#redis = redis;
    this.#generations = generations;
    this.#decoder = decoder;
  }

  /** The entry at `key` if it was stored under the current generations of its kind and `tags`. */
  read(key: string, kind: string, how: ReadOptions): Promise<ReadResult> {
    return this.#read(key, kind, how, 'all');
  }

  /** The current generations of `kind` and `tags` (to store a value under), or undefined when Redis failed. */
  async generations(kind: string, tags: readonly string[]): Promise<number[] | undefined> {
    return (await this.#read(undefined, kind, { tags }, 'all')).gens;
  }

  /**
   * Reads an entry without knowing its tags (`Cache.get`): the record names them, and their generations are
   * read in a second round trip only when it has any.
   */
  async readUntagged(key: string, kind: string): Promise<CacheRecord | undefined> {
    const first = await this.#read(key, kind, { tags: [] }, 'untagged');
    const record = first.record;
    if (!record?.tags || !first.gens) return record;
    const gens = await this.generations(kind, record.tags);
    return gens && sameGenerations(record.generations, gens) ? record : undefined;
  }

  /** One MGET of the entry (unless `key` is undefined: counters only) and its counters; see {@link Check}. */
  async #read(key: string | undefined, kind: string, how: ReadOptions, check: Check): Promise<ReadResult> {
    const keys = this.#generations.keysOf(key === undefined ? [] : [key], kind, how.tags);
    const replies = this.#redis ? await this.#redis.mget(keys) : undefined;
    if (!replies) return { record: undefined, gens: undefined, failed: this.#redis !== undefined };
    const offset = key === undefined ? 0 : 1;
    const gens = new Array<number>(keys.length - offset);
    const generations = this.#generations;
    if (!generations.parse(replies, offset, gens) && !(await generations.seed(keys, offset, gens)))
      return { record: undefined, gens: undefined, failed: true };
    const raw = key === undefined ? null : replies[0];
    if (!raw) return { record: undefined, gens, failed: false };
    const found: ReadResult = { record: undefined, gens, failed: false, body: undefined, size: undefined };
    const decoded = this.#decoder.decode(raw, { key: key!, kind, entry: how.entry }, found);
    const record = decoded instanceof Promise ? await decoded : decoded; // a user deserialize only
    const valid =
      record &&
      (check === 'untagged' && record.tags
        ? sameGenerations(record.generations.slice(0, 2), gens)
        : sameGenerations(record.generations, gens));
    if (valid) found.record = record;
    return found;
  }
}
