/**
 * The codec: values to bytes and back, exactly. Supported: primitives (-0, NaN, lone surrogates and BigInts
 * of any size included), null, undefined, plain and null-prototype objects, arrays, Map, Set, Date (invalid
 * too), RegExp, Buffer, every typed array, ArrayBuffer and DataView, nested freely. Anything else (functions,
 * symbols, class instances, subclasses of the above, cycles, nesting deeper than 1000) is refused on encode.
 *
 * MessagePack (msgpackr) carries the values; one walk on the miss path refuses what cannot round-trip and
 * wraps the few things msgpackr would alter (Map, -0, strings with lone surrogates, `__proto__` keys,
 * null-prototype objects) in one private extension; the same walk marks the objects of an array that share a shape,
 * which are written as msgpackr records (see `packr`). The envelope around the MessagePack bytes (header,
 * compression, encryption) is in crypto.ts.
 *
 * Not preserved: sparse arrays come back dense (holes as `undefined`), a RegExp's `lastIndex`, properties
 * that are non-enumerable or keyed by symbols, extra properties on arrays and built-ins, and shared
 * references (an object reached twice comes back as two equal copies).
 */
import { Packr, Unpackr, addExtension } from 'msgpackr';
import { CodecError, UnserializableError } from './errors.js';
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

const MAX_DEPTH = 1000;

/** The codec's one MessagePack extension type (application range 0-127; msgpackr's built-ins avoid it). */
const EXTENSION_TYPE = 0x49;
const TAG_MAP = 0;
const TAG_NEGATIVE_ZERO = 1;
const TAG_STRING = 2;
const TAG_OBJECT = 3;
const TAG_NULL_OBJECT = 4;
const TAG_REGEXP = 5;

/** A value msgpackr would alter, written as `[tag, payload]` under {@link EXTENSION_TYPE}. */
class Tagged {
  constructor(readonly data: readonly [tag: number, payload: unknown]) {}
}
const NEGATIVE_ZERO = new Tagged([TAG_NEGATIVE_ZERO, 0]);

addExtension({
  Class: Tagged,
  type: EXTENSION_TYPE,
  write: (tagged: Tagged) => tagged.data,
  read: untag,
});

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
 * The encoder. Objects are MessagePack maps, except those {@link prepareArray} finds repeating a shape in an array
 * (rows, tokens, choices): those are msgpackr records, whose keys are written and decoded once per message and whose
 * objects are built from one literal. Measured on the benchmark's value (an object with 20 token objects): decoding
 * 12-17 % faster with a kilobyte less garbage, 30 % smaller; 100 rows of 4 fields decode 3x faster in half the
 * bytes. Records for every object would slow small values (a lone `{ label, score }` decodes 60 % slower).
 * The structures are the message's own (none shared): each entry decodes alone, by any version of infercache.
 */
const packr = new Packr({ ...OPTIONS, useRecords: (object: object) => records?.has(object) === true });

/**
 * The decoder: reads maps and records alike. Its own instance with `useRecords: false`, so that it keeps no record
 * structures from one message to the next: with structures kept, an entry written before records (where the bytes
 * 0x40-0x7f are small integers) would read them as references to another entry's records.
 */
const unpackr = new Unpackr({ ...OPTIONS, useRecords: false });

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

const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();
/** Prototypes of the built-ins msgpackr round-trips as they are (subclasses are refused). */
const BUILT_INS: { prototype: object }[] = [Date, Buffer, ArrayBuffer, DataView, Int8Array, Uint8Array];
BUILT_INS.push(Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array);
BUILT_INS.push(BigInt64Array, BigUint64Array);
const AS_IS = new Set<unknown>(BUILT_INS.map((builtIn) => builtIn.prototype));

/** Thrown by the walk and annotated with the path on its way out; its message is the reason (what was refused). */
class Refusal extends Error {
  path = '';
}

/**
 * Thrown by the walk without `ancestors` past {@link MAX_DEPTH}: a cycle, or a value that deep. The walk is then run
 * again with `ancestors` to tell which and where (without them a walk costs a third less: measured).
 */
class TooDeep extends Error {}

/** Adds one path segment to a refusal passing through a container. */
function within(error: unknown, segment: string): unknown {
  if (error instanceof Refusal) error.path = segment + error.path;
  return error;
}

/** Objects of the value being packed to write as records (see {@link packr}); undefined when none. */
let records: Set<object> | undefined;
/** Records are for objects of at most this many keys (each record's reader is compiled from its keys). */
const MAX_RECORD_KEYS = 256;
/** Set by {@link prepareObject} and {@link rewriteObject} as they return a plain object: its number of keys… */
let shapeKeys = 0;
/** …and its first key: the object's shape, as far as {@link prepareArray} compares them. */
let shapeFirst: string | undefined;

/** The objects on the path from the root to the one being walked, when cycles are being looked for. */
type Ancestors = Set<object> | undefined;

/** A string written safely: as is when well formed, as UTF-16 code units when it holds lone surrogates. */
function prepareString(text: string): unknown {
  return isWellFormed(text) ? text : new Tagged([TAG_STRING, Buffer.from(text, 'utf16le')]);
}

/**
 * The miss-path walk: returns `value` itself when msgpackr writes it exactly, else an equivalent with
 * {@link Tagged} parts (containers are copied only on the way to a change). `ancestors`, when given, catches cycles
 * where they close; without them a cycle ends as {@link TooDeep}.
 */
function prepare(value: unknown, ancestors: Ancestors, depth: number): unknown {
  switch (typeof value) {
    case 'number':
      return value === 0 && 1 / value < 0 ? NEGATIVE_ZERO : value;
    case 'string':
      return prepareString(value);
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return value;
    case 'function':
      throw new Refusal(value.name ? `function ${value.name}` : 'function');
    case 'symbol':
      throw new Refusal('symbol');
  }
  if (value === null) return null;
  const object = value as object;
  const proto: unknown = Object.getPrototypeOf(object);
  const isArray = proto === Array.prototype;
  if (!isArray && proto !== Object.prototype) {
    if (AS_IS.has(proto)) return value;
    if (proto === RegExp.prototype) {
      const { source, flags } = value as RegExp;
      return isWellFormed(source) ? value : new Tagged([TAG_REGEXP, [prepareString(source), flags]]);
    }
    if (proto !== null && proto !== Map.prototype && proto !== Set.prototype) {
      const name = (proto as { constructor?: { name?: unknown } } | undefined)?.constructor?.name;
      throw new Refusal(
        typeof name === 'string' && name ? `class instance ${name}` : 'object with a foreign prototype',
      );
    }
  }
  if (ancestors?.has(object)) throw new Refusal('circular reference');
  if (depth > MAX_DEPTH) {
    if (!ancestors) throw new TooDeep();
    throw new Refusal(`value nested deeper than ${MAX_DEPTH} levels`);
  }
  ancestors?.add(object);
  let result: unknown;
  if (isArray) result = prepareArray(value as unknown[], ancestors, depth + 1);
  else if (proto === Object.prototype || proto === null)
    result = prepareObject(value as Record<string, unknown>, proto === null, ancestors, depth + 1);
  else if (proto === Map.prototype) result = prepareMap(value as Map<unknown, unknown>, ancestors, depth + 1);
  else result = prepareSet(value as Set<unknown>, ancestors, depth + 1);
  ancestors?.delete(object);
  return result;
}

/**
 * An array; its plain objects that share a shape (as many keys, same first key) with the plain object before them
 * are marked to be written as records (see {@link packr}).
 */
function prepareArray(array: unknown[], ancestors: Ancestors, depth: number): unknown[] {
  let copy: unknown[] | undefined;
  let last: object | undefined;
  let lastKeys = 0;
  let lastFirst: string | undefined;
  let i = 0;
  try {
    for (; i < array.length; i++) {
      const item = array[i];
      const prepared = prepare(item, ancestors, depth);
      if (prepared !== item) (copy ??= array.slice())[i] = prepared;
      if (typeof prepared !== 'object' || prepared === null || Object.getPrototypeOf(prepared) !== Object.prototype)
        continue;
      if (last && shapeKeys === lastKeys && shapeFirst === lastFirst && shapeKeys > 0 && shapeKeys <= MAX_RECORD_KEYS)
        (records ??= new Set()).add(last).add(prepared);
      last = prepared;
      lastKeys = shapeKeys;
      lastFirst = shapeFirst;
    }
  } catch (error) {
    throw within(error, `[${i}]`);
  }
  return copy ?? array;
}

function prepareMap(map: Map<unknown, unknown>, ancestors: Ancestors, depth: number): Tagged {
  const flat = new Array<unknown>(map.size * 2);
  let i = 0;
  try {
    for (const [key, item] of map) {
      flat[i] = prepare(key, ancestors, depth);
      flat[i + 1] = prepare(item, ancestors, depth);
      i += 2;
    }
  } catch (error) {
    throw within(error, `[map entry ${i / 2}]`);
  }
  return new Tagged([TAG_MAP, flat]);
}

function prepareSet(set: Set<unknown>, ancestors: Ancestors, depth: number): Set<unknown> {
  let changed = false;
  const items = Array.from(set);
  let i = 0;
  try {
    for (; i < items.length; i++) {
      const item = items[i];
      if ((items[i] = prepare(item, ancestors, depth)) !== item) changed = true;
    }
  } catch (error) {
    throw within(error, `[set item ${i}]`);
  }
  return changed ? new Set(items) : set;
}

/** Where a refusal happened inside an object: `.key`, or `["key"]` for keys that are not identifiers. */
const segmentOf = (key: string): string => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
/** No value prepared yet (see {@link rewriteObject}). */
const UNSET = Symbol('unset');

/**
 * A plain object: returned as it is when nothing in it changes, walked without allocating (collecting the keys of
 * every object took 1.7 KB of the 20.7 KB a miss of the benchmark's value allocated); else {@link rewriteObject}.
 */
function prepareObject(object: Record<string, unknown>, bare: boolean, ancestors: Ancestors, depth: number): unknown {
  if (bare) return rewriteObject(object, bare, ancestors, depth, 0, UNSET);
  let i = 0;
  let first: string | undefined;
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue; // an enumerable property someone added to Object.prototype
    if (key === '__proto__' || !isWellFormed(key)) return rewriteObject(object, bare, ancestors, depth, i, UNSET);
    first ??= key;
    const item = object[key];
    let prepared: unknown;
    try {
      prepared = prepare(item, ancestors, depth);
    } catch (error) {
      throw within(error, segmentOf(key));
    }
    if (prepared !== item) return rewriteObject(object, bare, ancestors, depth, i, prepared);
    i++;
  }
  shapeKeys = i;
  shapeFirst = first;
  return object;
}

/**
 * An object with something to change: a copy with prepared values, or, with exotic keys (`__proto__`, lone
 * surrogates) or a null prototype, a {@link Tagged} list of pairs. The keys before `from` needed no change; `first`
 * is the prepared value of key `from` when it is already known.
 */
function rewriteObject(
  object: Record<string, unknown>,
  bare: boolean,
  ancestors: Ancestors,
  depth: number,
  from: number,
  first: unknown,
): unknown {
  const keys = Object.keys(object);
  let exotic = bare;
  const values: unknown[] = keys.slice(0, from).map((k) => object[k]);
  let i = from;
  if (first !== UNSET) {
    values.push(first);
    i++;
  }
  try {
    for (; i < keys.length; i++) {
      const key = keys[i]!;
      if (key === '__proto__' || !isWellFormed(key)) exotic = true;
      values.push(prepare(object[key], ancestors, depth));
    }
  } catch (error) {
    throw within(error, segmentOf(keys[i]!));
  }
  if (exotic) {
    const flat = new Array<unknown>(keys.length * 2);
    for (let k = 0; k < keys.length; k++) {
      flat[2 * k] = prepareString(keys[k]!);
      flat[2 * k + 1] = values[k];
    }
    return new Tagged([bare ? TAG_NULL_OBJECT : TAG_OBJECT, flat]);
  }
  const copy: Record<string, unknown> = {};
  for (let k = 0; k < keys.length; k++) copy[keys[k]!] = values[k];
  shapeKeys = keys.length;
  shapeFirst = keys[0];
  return copy;
}

/** Runs the walk; anything it cannot take becomes an UnserializableError naming the type and where it is. */
function prepareRoot(value: unknown): unknown {
  try {
    try {
      return prepare(value, undefined, 0);
    } catch (error) {
      if (!(error instanceof TooDeep)) throw error;
      return prepare(value, new Set(), 0); // a cycle or a value too deep: this walk says which, and where
    }
  } catch (error) {
    if (error instanceof Refusal) {
      const path = error.path.length > 200 ? `${error.path.slice(0, 200)}…` : error.path;
      throw new UnserializableError(`infercache: cannot serialise ${error.message} at $${path}`, {
        reason: error.message,
      });
    }
    const reason = error instanceof RangeError ? 'value nested too deeply' : 'reading the value threw';
    throw new UnserializableError(`infercache: cannot serialise value: ${reason}`, { cause: error, reason });
  }
}

/** A CodecError for an entry that failed to open or unpack. */
function invalid(error: unknown): CodecError {
  if (error instanceof CodecError) return error;
  return new CodecError('infercache: entry is not valid MessagePack of an infercache value', { cause: error });
}

/** Codec over the one shared Packr; holds no per-call state. */
class MessagePackCodec implements Codec {
  constructor(private readonly envelope: Envelope) {}

  encode(value: unknown, aad?: string): Buffer {
    return this.envelope.wrap(this.pack(value), aad);
  }

  decode(bytes: Uint8Array, aad?: string): unknown {
    return this.unpack(this.envelope.unwrap(bytes, aad));
  }

  pack(value: unknown): Buffer {
    records = undefined;
    try {
      const prepared = prepareRoot(value);
      try {
        return packr.pack(prepared);
      } catch (cause) {
        const reason = 'MessagePack encoding failed';
        throw new UnserializableError(`infercache: cannot serialise value: ${reason}`, { cause, reason });
      }
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
      return unpackr.unpack(body);
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
