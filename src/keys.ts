/**
 * Cache keys: a canonical, unambiguous encoding of call arguments, its SHA-256, and the
 * `{namespace}:{kind}:{version}:{discriminator}` layout.
 */
import * as crypto from 'node:crypto';
import { types } from 'node:util';
import { ConfigError, UnkeyableError } from './errors.js';

/*
 * Encoding grammar. Every value's encoding starts with a one-character tag and is self-delimiting (its end can be
 * found without looking further), so a concatenation of encodings decodes one way only: two values share an
 * encoding only if they are equal in the sense documented on canonicalEncode.
 *
 *   u  undefined        n  null             T / F  true / false      h  array hole
 *   d<String(n)>;       number ('-0', 'NaN', 'Infinity' spelled out)
 *   b<digits>;          bigint
 *   s<len>:<chars>      string (len in UTF-16 units)
 *   w<len>:<hex>        string with lone surrogates: its UTF-16 units in hex (4 digits each), so UTF-8 stays lossless
 *   D<ms>;              Date (invalid: NaN)
 *   [<item>*]           array
 *   {(<key s…><value>)*}                       plain object (Object.prototype or null prototype), keys sorted
 *   M(<key><value>)*)   Map, entries sorted by their encoding     S<member>*)   Set, members sorted by encoding
 *   V<len>:<type><len>:<hex>                   ArrayBuffer view: 'Buffer', 'DataView' or the typed array's type
 *   B<len>:<hex>  H<len>:<hex>                 ArrayBuffer, SharedArrayBuffer
 *   R<source s…><len>:<flags>                  RegExp
 *   O<primitive>                               boxed primitive (new Number(1), Object(1n)...)
 *   E<ctor s…><name s…><message s…>{…}         Error, with its own enumerable properties
 *   C<ctor s…>[J<toJSON()>]{…}                 other class instance: constructor name, toJSON() if it has one,
 *                                              and its own enumerable properties
 */

/** Node >= 20.12 has a one-shot hash that skips the Hash object; fall back to createHash before that. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;

const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Deterministic, unambiguous encoding of call arguments. Object keys are sorted; `Date` (by time), `BigInt`, `Map`
 * (entries sorted by their encoded key), `Set` (members sorted by encoding, order irrelevant), `Buffer` and typed
 * arrays (type tag + bytes), `DataView`, `ArrayBuffer`, `RegExp`, boxed primitives and `Error` are encoded by value;
 * `undefined` vs `null` vs a missing key, array holes vs `undefined`, `-0` vs `0`, `NaN`, `'1'` vs `1`, arrays vs
 * objects with numeric keys are all distinguished. Objects with a null prototype encode like plain objects.
 *
 * Class instances are encoded by their constructor name, `toJSON()` when they have one (URL, ObjectId, Decimal,
 * Luxon...), and their own enumerable string-keyed properties. State the encoding cannot see (private `#fields`,
 * closures, internal slots) is not part of the key: give such arguments an explicit `key` option. Two classes with
 * the same name and the same data encode alike. Symbol-keyed properties and non-index array properties are ignored;
 * Map/Set subclasses encode as Map/Set.
 *
 * Throws UnkeyableError for functions, symbols, circular references, WeakMap/WeakSet/WeakRef/Promise, iterators,
 * generators and key objects, and (with the original as `cause`) when a getter or `toJSON` throws or the value is
 * too deeply nested. The same object may appear several times (shared, non-circular references are fine).
 */
export function canonicalEncode(value: unknown): string {
  try {
    return encode(value, []);
  } catch (err) {
    if (err instanceof UnkeyableError) throw err;
    throw new UnkeyableError(`infercache: cannot build a key from the arguments: ${String(err)}`, { cause: err });
  }
}

/** SHA-256 (node:crypto) of canonicalEncode(value), base64url without padding (43 chars). */
export function hashArgs(value: unknown): string {
  const encoded = canonicalEncode(value);
  return oneShotHash
    ? oneShotHash('sha256', encoded, 'base64url')
    : crypto.createHash('sha256').update(encoded).digest('base64url');
}

/** Where a key lives. */
export interface KeySpec {
  namespace: string;
  kind: string;
  version: string;
  hashKeys: boolean;
}

/**
 * `{namespace}:{kind}:{version}:{discriminator}`. The discriminator is `parts` itself when parts is a string or a
 * finite number and hashKeys is false (readable in redis-cli, e.g. `prediction:failure:v1:CHG_001`; the number 1 and
 * the string '1' then name the same entry) — unless the string is longer than 200 chars, contains
 * whitespace, control or invisible format characters or lone surrogates, or looks like a hash (43 base64url chars,
 * so an id can never land on another call's hashed key); then it is hashed. Anything else is hashArgs(parts).
 * With hashKeys true, strings and numbers are hashed too ('1' and 1 still differ). An empty key (see isEmptyKey:
 * `undefined`, `null`, `''`, `NaN`, or an array or object of only such leaves, as a key function returns for missing
 * fields) throws UnkeyableError: it would put every call in one entry. The segments are not checked here (this runs on every call): validate them once with validateSegment.
 */
export function buildKey(spec: KeySpec, parts: unknown): string {
  const memo = memoOf(spec);
  if (!spec.hashKeys) {
    if (typeof parts === 'string') {
      let key = memo.ids.get(parts);
      // Stryker disable next-line ConditionalExpression: never using the memo (false) gives the same keys, slower
      if (key !== undefined) return key;
      if (isReadableId(parts)) {
        key = memo.prefix + parts;
        // Stryker disable next-line all: when the memo is emptied changes its memory and speed, not the keys
        if (memo.ids.size >= MAX_MEMO_IDS) memo.ids.clear();
        memo.ids.set(parts, key);
        return key;
      }
    } else if (typeof parts === 'number' && Number.isFinite(parts)) {
      let key = memo.ids.get(parts);
      // Stryker disable next-line ConditionalExpression: never using the memo (true) gives the same keys, slower
      if (key === undefined) {
        key = memo.prefix + String(parts);
        // Stryker disable next-line all: when the memo is emptied changes its memory and speed, not the keys
        if (memo.ids.size >= MAX_MEMO_IDS) memo.ids.clear();
        memo.ids.set(parts, key);
      }
      return key;
    }
  }
  // Past the readable-id fast path: an empty key would put every call in one entry.
  if (isEmptyKey(parts)) throw emptyKey(parts);
  return memo.prefix + hashArgs(parts);
}

/**
 * Whether key parts are empty, as a key function returns for missing fields: `undefined`, `null`, `''`, `NaN`, or an
 * array or plain object all of whose leaves (recursively) are empty, an empty array or object included
 * (`{ tenant: undefined, sha: undefined }`, `[undefined, '']`, `[]`). buildKey refuses them, since every such call
 * would share one entry; so do route keys. A part with one non-empty leaf is keyed as it is. Strings and numbers are
 * decided at once; only arrays and plain objects are walked, stopping at the first non-empty leaf (they are hashed
 * anyway, which costs far more). A value the walk cannot read (a circular reference, a throwing getter) counts as
 * not empty: encoding it reports the problem.
 */
export function isEmptyKey(parts: unknown): boolean {
  if (typeof parts === 'string') return parts === '';
  if (typeof parts === 'number') return parts !== parts;
  if (parts === undefined || parts === null) return true;
  // Stryker disable next-line ConditionalExpression: emptyLeaves says false for any other value too (its prototype)
  if (typeof parts !== 'object') return false;
  try {
    return emptyLeaves(parts, []);
  } catch {
    return false;
  }
}

/** Whether every leaf of an array or plain object is empty (false for any other object). */
function emptyLeaves(value: object, ancestors: object[]): boolean {
  let items: unknown[];
  if (Array.isArray(value)) items = value;
  else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    items = Object.values(value);
  }
  if (ancestors.indexOf(value) !== -1) return false; // circular: canonicalEncode refuses it
  ancestors.push(value);
  // a for loop rather than for-of: holes read as undefined, which is empty
  // Stryker disable next-line EqualityOperator: reading one past the end gives undefined, which is empty too
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === undefined || item === null || item === '') continue;
    if (typeof item === 'number') {
      if (item !== item) continue;
      return false;
    }
    // Stryker disable next-line ConditionalExpression: emptyLeaves says false for any other value too (its prototype)
    if (typeof item !== 'object' || !emptyLeaves(item, ancestors)) return false;
  }
  ancestors.pop();
  return true;
}

function emptyKey(parts: unknown): UnkeyableError {
  const what =
    typeof parts === 'object' && parts !== null
      ? `${Array.isArray(parts) ? 'an array' : 'an object'} without a non-empty value`
      : parts === ''
        ? "''"
        : String(parts);
  return new UnkeyableError(`infercache: the key is empty (${what}), so every such call would share one entry`);
}

/**
 * Per key spec (treated as immutable; a changed segment rebuilds it): its prefix, and the keys of the explicit ids
 * seen lately. A repeated id then yields the same key
 * string object, whose hash the JavaScript engine computed once: each Map lookup of a freshly concatenated key
 * (memory tier, single-flight) would otherwise flatten and hash it again (~0.15 µs on the hit path).
 */
interface SpecMemo {
  namespace: string;
  kind: string;
  version: string;
  prefix: string;
  /** Explicit id (string or finite number; 1 and '1' name the same entry) → key. */
  ids: Map<string | number, string>;
}

/** Ids remembered per spec; the memo is emptied when full (ids of a working set keep coming back). */
const MAX_MEMO_IDS = 1000;
const memos = new WeakMap<KeySpec, SpecMemo>();

function memoOf(spec: KeySpec): SpecMemo {
  let memo = memos.get(spec);
  if (
    // Stryker disable next-line ConditionalExpression: a memo built anew each call gives the same keys, slower
    memo === undefined ||
    memo.namespace !== spec.namespace ||
    memo.kind !== spec.kind ||
    memo.version !== spec.version
  ) {
    const { namespace, kind, version } = spec;
    memo = { namespace, kind, version, prefix: namespace + ':' + kind + ':' + version + ':', ids: new Map() };
    memos.set(spec, memo);
  }
  return memo;
}

const SEGMENT_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Validates a namespace/kind/version segment: 1..64 chars of [A-Za-z0-9_.-]; throws ConfigError naming `setting` otherwise. */
export function validateSegment(value: unknown, setting: string): string {
  if (typeof value === 'string' && SEGMENT_RE.test(value)) return value;
  const got = typeof value === 'string' ? JSON.stringify(value) : typeof value;
  throw new ConfigError(setting, `expected 1 to 64 characters of A-Z a-z 0-9 _ . -, got ${got}`);
}

const MAX_ID_LENGTH = 200;
/** 43 base64url characters: tested only on an id of length 43, so it needs no anchors. */
const HASH_LIKE = /[A-Za-z0-9_-]{43}/;
/** Whitespace (\s includes the line and paragraph separators U+2028, U+2029), controls, format chars, lone surrogates. */
const UNREADABLE = /[\s\p{Cc}\p{Cf}\p{Cs}]/u;

function isReadableId(id: string): boolean {
  const length = id.length;
  if (length === 0 || length > MAX_ID_LENGTH) return false;
  if (length === 43 && HASH_LIKE.test(id)) return false;
  for (let i = 0; i < length; i++) {
    const c = id.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return false;
    if (c >= 0x80) return !UNREADABLE.test(id); // rare: let Unicode property classes decide
  }
  return true;
}

function encode(value: unknown, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      // Stryker disable next-line EqualityOperator: 1 / value is +Infinity or -Infinity here, never 0
      return value === 0 ? (1 / value < 0 ? 'd-0;' : 'd0;') : 'd' + value + ';';
    case 'boolean':
      return value ? 'T' : 'F';
    case 'undefined':
      return 'u';
    case 'bigint':
      return 'b' + value + ';';
    case 'object':
      return value === null ? 'n' : encodeObject(value, ancestors);
    case 'function':
      throw unkeyable(`a function${value.name ? ` (${value.name})` : ''}`);
    default:
      throw unkeyable(`a ${typeof value}`);
  }
}

function encodeString(s: string): string {
  if (isWellFormed ? isWellFormed.call(s) : !LONE_SURROGATE.test(s)) return 's' + s.length + ':' + s;
  let hex = '';
  for (let i = 0; i < s.length; i++) hex += s.charCodeAt(i).toString(16).padStart(4, '0');
  return 'w' + s.length + ':' + hex;
}

function encodeObject(obj: object, ancestors: object[]): string {
  // Ancestors only (not every object seen): a shared, non-circular reference is fine. Nesting is shallow in
  // practice, so a linear scan of a small array beats a Set.
  if (ancestors.indexOf(obj) !== -1) throw unkeyable('a circular reference');
  ancestors.push(obj);
  let out: string;
  if (Array.isArray(obj)) {
    out = '[';
    for (let i = 0; i < obj.length; i++) {
      const item: unknown = obj[i];
      // Stryker disable next-line ConditionalExpression: only a hole is both undefined and not `in` the array
      out += item === undefined && !(i in obj) ? 'h' : encode(item, ancestors);
    }
    out += ']';
  } else {
    const proto: unknown = Object.getPrototypeOf(obj);
    // Stryker disable next-line ConditionalExpression: without it, encodeSpecial's other-realm case encodes it alike
    if (proto === Object.prototype || proto === null) out = encodeProps(obj, ancestors);
    else if (obj instanceof Date) out = 'D' + obj.getTime() + ';';
    else out = encodeSpecial(obj, proto as object, ancestors);
  }
  ancestors.pop();
  return out;
}

/** `{` + sorted own enumerable string keys with their values + `}`. */
function encodeProps(obj: object, ancestors: object[]): string {
  const keys = Object.keys(obj);
  // Stryker disable next-line EqualityOperator,ConditionalExpression: sorting one key or none changes nothing
  if (keys.length > 1) keys.sort();
  let out = '{';
  for (const key of keys) out += encodeString(key) + encode((obj as Record<string, unknown>)[key], ancestors);
  return out + '}';
}

function encodeSpecial(obj: object, proto: object, ancestors: object[]): string {
  if (types.isMap(obj)) {
    const entries: string[] = [];
    for (const [k, v] of obj as Map<unknown, unknown>) entries.push(encode(k, ancestors) + encode(v, ancestors));
    // Key encodings are prefix-free, so sorting key+value strings sorts by key, then by value for equal-looking keys.
    return 'M' + entries.sort().join('') + ')';
  }
  if (types.isSet(obj)) {
    const members: string[] = [];
    for (const m of obj as Set<unknown>) members.push(encode(m, ancestors));
    return 'S' + members.sort().join('') + ')';
  }
  if (ArrayBuffer.isView(obj)) {
    const type = Buffer.isBuffer(obj) ? 'Buffer' : types.isDataView(obj) ? 'DataView' : typedArrayName(obj);
    return 'V' + type.length + ':' + type + hexOf(Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength));
  }
  if (types.isDate(obj)) return 'D' + (obj as Date).getTime() + ';'; // from another realm
  if (types.isArrayBuffer(obj)) return 'B' + hexOf(Buffer.from(obj as ArrayBuffer));
  if (types.isSharedArrayBuffer(obj)) return 'H' + hexOf(Buffer.from(obj as SharedArrayBuffer));
  if (types.isRegExp(obj)) {
    const re = obj as RegExp;
    return 'R' + encodeString(re.source) + re.flags.length + ':' + re.flags;
  }
  if (types.isBoxedPrimitive(obj)) return 'O' + encode(obj.valueOf(), ancestors);
  const ctor = constructorName(proto);
  if (types.isNativeError(obj) || obj instanceof Error) {
    const err = obj as Error;
    return (
      'E' +
      encodeString(ctor) +
      encodeString(String(err.name)) +
      encodeString(String(err.message)) +
      encodeProps(obj, ancestors)
    );
  }
  if (
    types.isPromise(obj) ||
    types.isWeakMap(obj) ||
    types.isWeakSet(obj) ||
    obj instanceof WeakRef ||
    obj instanceof FinalizationRegistry ||
    types.isGeneratorObject(obj) ||
    types.isMapIterator(obj) ||
    types.isSetIterator(obj) ||
    types.isKeyObject(obj) ||
    types.isCryptoKey(obj)
  ) {
    throw unkeyable(`a ${ctor || 'stateful object'}`);
  }
  // A plain object from another realm (vm context): its prototype is that realm's Object.prototype.
  if (ctor === 'Object' && Object.getPrototypeOf(proto) === null) return encodeProps(obj, ancestors);
  let out = 'C' + encodeString(ctor);
  if (obj instanceof URLSearchParams) out += 'J' + encodeString(obj.toString());
  else if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
    out += 'J' + encode((obj as { toJSON(key: string): unknown }).toJSON(''), ancestors);
  }
  return out + encodeProps(obj, ancestors);
}

function typedArrayName(view: ArrayBufferView): string {
  const tag: unknown = (view as unknown as Record<symbol, unknown>)[Symbol.toStringTag];
  return typeof tag === 'string' ? tag : 'ArrayBufferView';
}

function hexOf(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return hex.length + ':' + hex;
}

function constructorName(proto: object): string {
  const ctor: unknown = (proto as { constructor?: unknown }).constructor;
  const name: unknown = typeof ctor === 'function' ? ctor.name : undefined;
  return typeof name === 'string' ? name : '';
}

function unkeyable(what: string): UnkeyableError {
  return new UnkeyableError(
    `infercache: cannot build a key from arguments containing ${what}; give the call an explicit \`key\` option`,
  );
}
