/**
 * The codec's walk of a value on the miss path (before msgpackr packs it): it refuses what cannot round-trip exactly
 * (functions, symbols, class instances, cycles, nesting deeper than 1000), wraps in {@link Tagged} the few things
 * msgpackr would alter (Map, -0, strings with lone surrogates, `__proto__` keys, null-prototype objects, RegExps with
 * lone surrogates), and marks the plain objects whose shape (their keys, in order) repeats in the value, which the
 * codec writes as records.
 */
import { UnserializableError } from './errors.js';

const MAX_DEPTH = 1000;

/** The codec's one MessagePack extension type (application range 0-127; msgpackr's built-ins avoid it). */
export const EXTENSION_TYPE = 0x49;
/** Tag of a Map: `[key, value, key, value…]`. */
export const TAG_MAP = 0;
/** Tag of -0. */
export const TAG_NEGATIVE_ZERO = 1;
/** Tag of a string with lone surrogates: its UTF-16 code units. */
export const TAG_STRING = 2;
/** Tag of a plain object with exotic keys (`__proto__`, lone surrogates): `[key, value, key, value…]`. */
export const TAG_OBJECT = 3;
/** Tag of a null-prototype object: `[key, value, key, value…]`. */
export const TAG_NULL_OBJECT = 4;
/** Tag of a RegExp whose source has lone surrogates: `[source, flags]`. */
export const TAG_REGEXP = 5;

/** A value msgpackr would alter, written as `[tag, payload]` under {@link EXTENSION_TYPE}. */
export class Tagged {
  constructor(readonly data: readonly [tag: number, payload: unknown]) {}
}
const NEGATIVE_ZERO = new Tagged([TAG_NEGATIVE_ZERO, 0]);

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

/** Objects of the value being walked to write as records (see {@link noteShape}); undefined when none. */
let records: Set<object> | undefined;
/**
 * The shapes met so far in the value being walked, by {@link shapeOf}: the first object of each, until a second one
 * of that shape marks both (then `null`).
 */
let shapes: Map<number, object | null> | undefined;
/** Records are for objects of at most this many keys (each record's reader is compiled from its keys). */
const MAX_RECORD_KEYS = 256;

/**
 * Folds a key into an object's shape hash (FNV-1a over its code units, the first and last 16 of a longer key; order
 * matters: msgpackr's structures are ordered key lists).
 */
function foldKey(hash: number, key: string): number {
  const n = key.length;
  hash = Math.imul(hash ^ n, 0x01000193);
  if (n <= 32) {
    for (let c = 0; c < n; c++) hash = Math.imul(hash ^ key.charCodeAt(c), 0x01000193);
    return hash;
  }
  for (let c = 0; c < 16; c++) hash = Math.imul(hash ^ key.charCodeAt(c), 0x01000193);
  for (let c = n - 16; c < n; c++) hash = Math.imul(hash ^ key.charCodeAt(c), 0x01000193);
  return hash;
}

/** The number a shape is known by: its hash of keys and its number of keys (collisions cost speed, never exactness). */
const shapeOf = (hash: number, keys: number): number => (hash >>> 0) * 512 + keys;

/**
 * Notes a plain object the walk returns with `keys` keys hashed to `hash`: when an object of the same shape was met
 * before anywhere in the value, both are marked to be written as records (rows, tokens, choices, stream chunks and
 * their parts, objects keyed by id or label repeat a shape; a lone object stays a map). An object with an own
 * `hasOwnProperty` key is never one: msgpackr's record writer would then take inherited enumerable keys too.
 */
function noteShape(object: object, keys: number, hash: number, recordable: boolean): void {
  if (!recordable || keys === 0 || keys > MAX_RECORD_KEYS) return;
  const shape = shapeOf(hash, keys);
  const first = (shapes ??= new Map()).get(shape);
  if (first === undefined) {
    shapes.set(shape, object);
    return;
  }
  records ??= new Set();
  if (first !== null) {
    records.add(first);
    shapes.set(shape, null);
  }
  records.add(object);
}

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

function prepareArray(array: unknown[], ancestors: Ancestors, depth: number): unknown[] {
  let copy: unknown[] | undefined;
  let i = 0;
  try {
    for (; i < array.length; i++) {
      const item = array[i];
      const prepared = prepare(item, ancestors, depth);
      if (prepared !== item) (copy ??= array.slice())[i] = prepared;
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
  let hash = 0;
  let recordable = true;
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue; // an enumerable property someone added to Object.prototype
    if (key === '__proto__' || !isWellFormed(key)) return rewriteObject(object, bare, ancestors, depth, i, UNSET);
    hash = foldKey(hash, key);
    if (key === 'hasOwnProperty') recordable = false;
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
  noteShape(object, i, hash, recordable);
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
  let hash = 0;
  for (let k = 0; k < keys.length; k++) {
    copy[keys[k]!] = values[k];
    hash = foldKey(hash, keys[k]!);
  }
  noteShape(copy, keys.length, hash, !keys.includes('hasOwnProperty'));
  return copy;
}

/** A value made ready for msgpackr: what to pack, and which of its objects to write as records. */
export interface Prepared {
  value: unknown;
  records: Set<object> | undefined;
}

/**
 * Runs the walk; anything it cannot take becomes an UnserializableError naming the type and where it is. The value
 * is `value` itself when msgpackr writes it exactly.
 */
export function prepareValue(value: unknown): Prepared {
  try {
    let prepared: unknown;
    try {
      prepared = prepare(value, undefined, 0);
    } catch (error) {
      if (!(error instanceof TooDeep)) throw error;
      records = undefined;
      shapes = undefined;
      prepared = prepare(value, new Set(), 0); // a cycle or a value too deep: this walk says which, and where
    }
    return { value: prepared, records };
  } catch (error) {
    if (error instanceof Refusal) {
      const path = error.path.length > 200 ? `${error.path.slice(0, 200)}…` : error.path;
      throw new UnserializableError(`infercache: cannot serialise ${error.message} at $${path}`, {
        reason: error.message,
      });
    }
    const reason = error instanceof RangeError ? 'value nested too deeply' : 'reading the value threw';
    throw new UnserializableError(`infercache: cannot serialise value: ${reason}`, { cause: error, reason });
  } finally {
    records = undefined; // the state of one walk: none outside it
    shapes = undefined;
  }
}
