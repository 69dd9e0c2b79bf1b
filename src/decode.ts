/**
 * Decoding of the bytes read from Redis into records: the codec (decryption, decompression, MessagePack), a user
 * `deserialize`, and what happens to an entry that cannot be read (counted, warned once, deleted).
 */
import { CodecError, quoted } from './errors.js';
import { fromWire, type CacheRecord } from './record.js';
import type { Codec } from './codec.js';
import type { RedisTier } from './redis/tier.js';
import type { ResolvedEntry } from './entry.js';
import type { Stats } from './stats.js';

/** What decoding learnt besides the record, for the memory tier (`remember`). */
export interface Decoded {
  /** The record's MessagePack body (decompressed, decrypted), when its value was decoded from it. */
  body?: Buffer;
  /** The length of that body (also with a user `deserialize`). */
  size?: number;
}

/** Where the bytes were read: the key, its kind, and the entry's options when the reader has them. */
export interface DecodeSite {
  key: string;
  kind: string;
  /** For a user `deserialize`; without it, bytes from a user `serialize` stay bytes. */
  entry: ResolvedEntry | undefined;
}

/** Turns Redis bytes into records for one cache. */
export class Decoder {
  readonly #codec: Codec;
  readonly #redis: RedisTier | undefined;
  readonly #stats: Stats;
  readonly #warnOnce: (id: string, message: string) => void;

  constructor(
    codec: Codec,
    redis: RedisTier | undefined,
    stats: Stats,
    warnOnce: (id: string, message: string) => void,
  ) {
    this.#codec = codec;
    this.#redis = redis;
    this.#stats = stats;
    this.#warnOnce = warnOnce;
  }

  /**
   * Bytes → record; undefined (counted, warned once, deleted) when unreadable. A promise only for a user
   * `deserialize`. Puts the MessagePack body in `found.body` when the record's value was decoded from it.
   */
  decode(raw: Buffer, at: DecodeSite, found: Decoded): CacheRecord | undefined | Promise<CacheRecord | undefined> {
    const { key, kind, entry } = at;
    let record: CacheRecord | undefined;
    let body: Buffer;
    try {
      body = this.#codec.open(raw, key);
      record = fromWire(this.#codec.unpack(body));
      if (!record) throw new CodecError('not an infercache entry');
    } catch (error) {
      return this.#unreadable(key, kind, error);
    }
    found.size = body.length;
    // Bytes from a user `serialize`: only a reader with the matching `deserialize` can use them.
    if (record.state !== 'bytes' || !entry?.deserialize) {
      found.body = body;
      return record;
    }
    return this.#deserialize(key, kind, record, entry.deserialize);
  }

  async #deserialize(
    key: string,
    kind: string,
    record: CacheRecord,
    deserialize: NonNullable<ResolvedEntry['deserialize']>,
  ): Promise<CacheRecord | undefined> {
    try {
      record.value = await deserialize(Buffer.from(record.value as Uint8Array));
      record.state = 'value';
      return record;
    } catch (error) {
      return this.#unreadable(key, kind, error);
    }
  }

  #unreadable(key: string, kind: string, error: unknown): undefined {
    this.#stats.error(kind);
    this.#warnOnce(`decode:${kind}`, `infercache: dropped an unreadable entry of kind '${kind}': ${quoted(error)}`);
    void this.#redis?.send(key, false, ['DEL', key]);
    return undefined;
  }
}
