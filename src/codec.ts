/**
 * The codec: values to bytes and back, exactly. Supported: primitives (-0, NaN, lone surrogates and BigInts
 * of any size included), null, undefined, plain and null-prototype objects, arrays, Map, Set, Date (invalid
 * too), RegExp, Buffer, every typed array, ArrayBuffer and DataView, nested freely. Anything else (functions,
 * symbols, class instances, subclasses of the above, cycles, nesting deeper than 1000) is refused on encode.
 *
 * MessagePack (msgpackr) carries the values; one walk on the miss path (prepare.ts) refuses what cannot round-trip,
 * wraps the few things msgpackr would alter (Map, -0, strings with lone surrogates, `__proto__` keys,
 * null-prototype objects) in one private extension, and marks the plain objects whose shape (keys, in order)
 * repeats in the value, which are written as msgpackr records (see `packr`). The envelope around the MessagePack
 * bytes (header, compression, encryption) is in crypto.ts.
 *
 * Not preserved: sparse arrays come back dense (holes as `undefined`), a RegExp's `lastIndex`, properties
 * that are non-enumerable or keyed by symbols, extra properties on arrays and built-ins, and shared
 * references (an object reached twice comes back as two equal copies).
 */
import { Packr, Unpackr as CompilingUnpackr, addExtension } from 'msgpackr';
import { Unpackr, addExtension as addLoopExtension } from 'msgpackr/unpack-no-eval';
import { CodecError, UnserializableError } from './errors.js';
import {
  EXTENSION_TYPE,
  TAG_MAP,
  TAG_NEGATIVE_ZERO,
  TAG_NULL_OBJECT,
  TAG_OBJECT,
  TAG_REGEXP,
  TAG_STRING,
  Tagged,
  prepareValue,
} from './prepare.js';
import { Envelope, parseEncryptionKey } from './crypto.js';

export { parseEncryptionKey } from './crypto.js';

/** Options of the codec. */
export interface CodecOptions {
  /** Compress encoded values at or above this many bytes (zlib, sync). Infinity disables. */
  compressThreshold: number;
  /** 32-byte AES-256-GCM key; when set every entry is encrypted and authenticated. */
  encryptionKey?: Buffer;
  /** Largest size an entry may inflate to when decoded (guards against zlib bombs). @default 256 MiB */
  maxDecompressedBytes?: number;
}

/**
 * Turns values into stored bytes and back, in two steps each way: the value's MessagePack body (`pack`/`unpack`),
 * and the stored entry around it, compressed and encrypted (`seal`/`open`).
 */
export interface Codec {
  /** Value → bytes. `aad` (e.g. the Redis key) is bound into the authentication tag when encrypting, so an entry copied under another key fails to decode. Throws UnserializableError for values it cannot round-trip exactly. */
  encode(value: unknown, aad?: string): Buffer;
  /** Bytes → value. Throws CodecError on anything that is not a valid entry (garbage, truncated, wrong key, tampered, wrong aad, unknown format version). Never returns garbage. */
  decode(bytes: Uint8Array, aad?: string): unknown;
  /** Value → its MessagePack body, before compression and encryption (its length is the value's uncompressed size). Throws UnserializableError like `encode`. */
  pack(value: unknown): Buffer;
  /** Body → stored entry: `encode(value, aad)` is `seal(pack(value), aad)`. */
  seal(body: Buffer, aad?: string): Buffer;
  /** Stored entry → body (decompressed, decrypted); CodecError like `decode`. */
  open(bytes: Uint8Array, aad?: string): Buffer;
  /** Body → a new copy of the value; CodecError like `decode`. `decode(bytes, aad)` is `unpack(open(bytes, aad))`. */
  unpack(body: Buffer): unknown;
}

addExtension({ Class: Tagged, type: EXTENSION_TYPE, write: (tagged: Tagged) => tagged.data, read: untag });
addLoopExtension({ type: EXTENSION_TYPE, read: untag });

const OPTIONS = {
  mapsAsObjects: true, // Maps travel as TAG_MAP, so a MessagePack map is always a plain object
  variableMapSize: true, // objects with more than 65535 keys
  moreTypes: true, // Set, RegExp, typed arrays (Uint8Array stays apart from Buffer), ArrayBuffer, big BigInt
  structuredClone: false, // cycles are refused on encode; refuse reference extensions on decode
  copyBuffers: true, // a decoded Buffer must not pin (or alias) the bytes it came from
  useToJSON: false,
  int64AsType: 'bigint',
} as const;

/**
 * The encoder. Objects are MessagePack maps, except those whose shape the walk (prepare.ts) finds more than once in
 * the value (rows, tokens, choices, stream chunks and their parts, objects keyed by id): those are msgpackr records,
 * whose keys are written and decoded once per message. Measured on the
 * benchmark's value (an object with 20 token objects): decoding 12-17 % faster with a kilobyte less garbage, 30 %
 * smaller; 100 rows of 4 fields decode 3x faster in half the bytes; a captured stream of 200 chunks 4x faster in 44 %
 * of the bytes. Records for every object would slow small values (a lone `{ label, score }` decodes 60 % slower).
 * The structures are the message's own (none shared): each entry decodes alone, by any version of infercache.
 */
const packr = new Packr({ ...OPTIONS, useRecords: (object: object) => records?.has(object) === true });
/** The objects to write as records in the value being packed now. */
let records: Set<object> | undefined;

/**
 * The decoders: they read maps and records alike, and build the same values. Below `COMPILE_FROM_BYTES`, msgpackr's
 * build without code generation (`unpack-no-eval`), which builds records in a loop; from there on, its main build,
 * which compiles a reader (`new Function`, its source made from the keys) for a shape met a fourth time in a message.
 * Structures being each message's own, that compilation is paid again by every entry and its code is never
 * optimised: it pays only in long entries. Measured (decode alone, then decode after a Redis round trip, caches
 * cold): the benchmark's value (637 B) 10.8 µs in the loop against 13.7 compiled, +20 µs against +39 after a round
 * trip (`JSON.parse` of it: +27); 100 rows of 4 fields (1.5 KB) 31.6 against 20.3, +42 against +46; 100 stream
 * chunks (6 KB) 118 against 68, +126 against +89. Each its own instance with `useRecords: false`, so that it keeps
 * no record structures from one message to the next: with structures kept, an entry written before records (where
 * the bytes 0x40-0x7f are small integers) would read them as references to another entry's records.
 */
const COMPILE_FROM_BYTES = 4096;
const loopUnpackr = new Unpackr({ ...OPTIONS, useRecords: false });
const compilingUnpackr = new CompilingUnpackr({ ...OPTIONS, useRecords: false });
/** The `[key, value, key, value…]` payload of a Map or object; throws when it is not one. */
function pairs(payload: unknown): unknown[] {
  if (Array.isArray(payload) && payload.length % 2 === 0) return payload;
  throw new Error('malformed extension');
}

/** Rebuilds a {@link Tagged} value on decode; throws on anything our encoder does not write. */
function untag(data: unknown): unknown {
  const [tag, payload] = Array.isArray(data) && data.length === 2 ? data : [];
  if (tag === TAG_NEGATIVE_ZERO) return -0;
  if (tag === TAG_STRING && Buffer.isBuffer(payload) && payload.length % 2 === 0) return payload.toString('utf16le');
  if (tag === TAG_MAP) {
    const flat = pairs(payload);
    const map = new Map<unknown, unknown>();
    for (let i = 0; i < flat.length; i += 2) map.set(flat[i], flat[i + 1]);
    return map;
  }
  if (tag === TAG_OBJECT || tag === TAG_NULL_OBJECT) {
    const flat = pairs(payload);
    const object: Record<string, unknown> = tag === TAG_OBJECT ? {} : Object.create(null);
    for (let i = 0; i < flat.length; i += 2) {
      const key = flat[i];
      if (typeof key !== 'string') throw new Error('malformed object key');
      // defineProperty, so a `__proto__` key is an own property and never the prototype
      Object.defineProperty(object, key, { value: flat[i + 1], writable: true, enumerable: true, configurable: true });
    }
    return object;
  }
  const [source, flags] = tag === TAG_REGEXP && Array.isArray(payload) ? payload : [];
  if (typeof source === 'string' && typeof flags === 'string') return new RegExp(source, flags);
  throw new Error('malformed extension');
}
/** A CodecError for an entry that failed to open or unpack. */
function invalid(error: unknown): CodecError {
  if (error instanceof CodecError) return error;
  return new CodecError('infercache: entry is not valid MessagePack of an infercache value', { cause: error });
}

/** Codec over the shared Packr and Unpackrs; per call, only the records of the value being packed (`records`). */
class MessagePackCodec implements Codec {
  constructor(private readonly envelope: Envelope) {}

  encode(value: unknown, aad?: string): Buffer {
    return this.envelope.wrap(this.pack(value), aad);
  }

  decode(bytes: Uint8Array, aad?: string): unknown {
    return this.unpack(this.envelope.unwrap(bytes, aad));
  }

  pack(value: unknown): Buffer {
    const prepared = prepareValue(value);
    records = prepared.records;
    try {
      return packr.pack(prepared.value);
    } catch (cause) {
      const reason = 'MessagePack encoding failed';
      throw new UnserializableError(`infercache: cannot serialise value: ${reason}`, { cause, reason });
    } finally {
      records = undefined;
    }
  }

  seal(body: Buffer, aad?: string): Buffer {
    return this.envelope.wrap(body, aad);
  }

  open(bytes: Uint8Array, aad?: string): Buffer {
    try {
      return this.envelope.unwrap(bytes, aad);
    } catch (error) {
      throw invalid(error);
    }
  }

  unpack(body: Buffer): unknown {
    try {
      return (body.length < COMPILE_FROM_BYTES ? loopUnpackr : compilingUnpackr).unpack(body);
    } catch (error) {
      throw invalid(error);
    }
  }
}

/** Creates a codec; options are validated here, once (a bad one throws ConfigError naming it). */
export function createCodec(options: CodecOptions): Codec {
  const { encryptionKey } = options;
  const key = encryptionKey === undefined ? undefined : parseEncryptionKey(encryptionKey, 'encryptionKey');
  return new MessagePackCodec(new Envelope(options.compressThreshold, key, options.maxDecompressedBytes));
}
