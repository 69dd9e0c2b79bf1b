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

/** Takes a read's result: what was found, or undefined and the error of a read that failed other than fail-open. */
type Deliver = (found?: ReadResult, error?: unknown) => void;

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

  /**
   * {@link read} by callback, for the loader's hit path, which then needs no promise of the reader's: `deliver` gets
   * what was found, or, when reading failed in a way that is not fail-open (a bug), undefined and the error.
   */
  readThen(key: string, kind: string, how: ReadOptions, deliver: Deliver): void {
    this.#readThen(key, kind, how, 'all', deliver);
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

  #read(key: string | undefined, kind: string, how: ReadOptions, check: Check): Promise<ReadResult> {
    return new Promise((resolve, reject) =>
      this.#readThen(key, kind, how, check, (found, error) => (found ? resolve(found) : reject(error as Error))),
    );
  }

  /**
   * One MGET of the entry (unless `key` is undefined: counters only) and its counters; see {@link Check}. The replies
   * are handed over by a callback and read at once.
   */
  #readThen(key: string | undefined, kind: string, how: ReadOptions, check: Check, deliver: Deliver): void {
    const keys = this.#generations.keysOf(key, kind, how.tags);
    const redis = this.#redis;
    if (!redis) return deliver({ record: undefined, gens: undefined, failed: false });
    redis.read(keys, (replies) => {
      let found: ReadResult | Promise<ReadResult>;
      try {
        found = this.#found(key, kind, how, check, keys, replies);
      } catch (error) {
        return deliver(undefined, error);
      }
      if (found instanceof Promise) found.then(deliver, (error: unknown) => deliver(undefined, error));
      else deliver(found);
    });
  }

  /** What the replies hold; a promise only when counters must be seeded or a user `deserialize` runs. */
  #found(
    key: string | undefined,
    kind: string,
    how: ReadOptions,
    check: Check,
    keys: string[],
    replies: Array<Buffer | null> | undefined,
  ): ReadResult | Promise<ReadResult> {
    if (!replies) return { record: undefined, gens: undefined, failed: true };
    const offset = key === undefined ? 0 : 1;
    const gens = new Array<number>(keys.length - offset);
    const generations = this.#generations;
    if (generations.parse(replies, offset, gens)) return this.#entry(key, kind, how, check, replies[0], gens);
    return generations
      .seed(keys, offset, gens)
      .then((seeded) =>
        seeded
          ? this.#entry(key, kind, how, check, replies[0], gens)
          : { record: undefined, gens: undefined, failed: true },
      );
  }

  /** The entry read (`raw`, when `key` is given) decoded, kept if it was stored under `gens`. */
  #entry(
    key: string | undefined,
    kind: string,
    how: ReadOptions,
    check: Check,
    raw: Buffer | null | undefined,
    gens: number[],
  ): ReadResult | Promise<ReadResult> {
    if (key === undefined || !raw) return { record: undefined, gens, failed: false };
    const found: ReadResult = { record: undefined, gens, failed: false, body: undefined, size: undefined };
    const decoded = this.#decoder.decode(raw, { key, kind, entry: how.entry }, found);
    if (decoded instanceof Promise) return decoded.then((record) => valid(found, record, check)); // a user deserialize
    return valid(found, decoded, check);
  }
}

/** `found` with `record` kept in it when it was stored under the generations read with it. */
function valid(found: ReadResult, record: CacheRecord | undefined, check: Check): ReadResult {
  const gens = found.gens!;
  const current =
    record &&
    (check === 'untagged' && record.tags
      ? sameGenerations(record.generations.slice(0, 2), gens)
      : sameGenerations(record.generations, gens));
  if (current) found.record = record;
  return found;
}
