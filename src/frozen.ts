/**
 * Memory-tier values that callers cannot corrupt. A value kept in memory is a copy that nobody else holds, decoded
 * from its MessagePack body on its first hit (`memoryForm` keeps the bytes, `settle` decodes them); `freezeDeep`
 * freezes every plain object and array in it whose contents are immutable, so one frozen copy is handed to every
 * caller at no cost per hit (writing to it throws in strict mode). What cannot be frozen (a Date, Map, Set, RegExp,
 * Buffer, typed array, and the objects that contain one) is copied for each caller by `copyUnfrozen`, which shares
 * every frozen part it meets.
 */
import type { Codec } from './codec.js';
import { fromWire, newRecord, type CacheRecord } from './record.js';
import type { MemoryEntry } from './memory.js';

/**
 * Bodies from this size on are kept as bytes until the first hit. Below it, bytes held on their own cost more memory
 * than the decoded value (measured for entries never hit: +280 bytes each at 58 bytes of body, +80 at 149, −1450 at
 * 1 KB), and decoding them at once costs little.
 */
export const LAZY_BYTES = 256;

/** A record ready for the memory tier, with its size and whether callers get copies. */
export interface MemoryForm {
  record: CacheRecord;
  /** Counted against `memory.maxBytes`: the uncompressed encoded length (1 when the value cannot be encoded). */
  size: number;
  /** Callers get their own copy of the value's unfrozen parts (see `MemoryEntry.copy`). */
  copy: boolean;
  /** The value is still these bytes, decoded on the first hit (see `MemoryEntry.pending`). */
  pending?: PendingValue;
}

/** A value kept as its record's MessagePack (bytes of its own), with the codec that decodes it. */
export interface PendingValue {
  body: Buffer;
  codec: Codec;
}

/**
 * What the memory tier keeps for `record`: the record itself when its entry shares memory hits (`shared`); else a
 * copy that no caller can change: its MessagePack (`body`, the record's, when its value was encoded as it is),
 * decoded and frozen where it can be on the first hit (from {@link LAZY_BYTES} on), or a copy decoded now. Undefined
 * when the value cannot be encoded.
 */
export function memoryForm(
  codec: Codec,
  record: CacheRecord,
  how: { shared: boolean; body: Buffer | undefined; size: number },
): MemoryForm | undefined {
  if (how.shared) return { record, size: how.size, copy: false };
  const { body } = how;
  if (body && body.length >= LAZY_BYTES && record.state === 'value') {
    // its own bytes: `body` may be a view into a Redis reply or an encoder's buffer, which it would keep alive
    const own = Buffer.allocUnsafeSlow(body.length);
    body.copy(own);
    const bare = newRecord(
      undefined,
      record.createdAt,
      record.freshUntil,
      record.staleUntil,
      record.computeMs,
      record.generations,
      record.state,
    );
    if (record.tags) bare.tags = record.tags;
    return { record: bare, size: body.length, copy: false, pending: { body: own, codec } };
  }
  let copy: CacheRecord | undefined;
  let size: number;
  try {
    if (body) {
      copy = fromWire(codec.unpack(body));
      size = body.length;
    } else {
      const packed = codec.pack(record.value);
      copy = { ...record, value: codec.unpack(packed) };
      size = packed.length;
    }
  } catch {
    return undefined; // refused by the codec: only a shared tier keeps it
  }
  return copy && { record: copy, size, copy: !freezeDeep(copy.value) };
}

/**
 * Decodes a memory entry's pending bytes into its record's value, frozen where it can be, once (`MemoryTier.get`).
 * False when they do not decode: not expected (they were encoded, or decoded from Redis, by this codec before).
 */
export function settle(entry: MemoryEntry): boolean {
  const pending = entry.pending!;
  let decoded: CacheRecord | undefined;
  try {
    decoded = fromWire(pending.codec.unpack(pending.body));
  } catch {
    return false;
  }
  if (!decoded) return false;
  entry.record.value = decoded.value;
  entry.copy = !freezeDeep(decoded.value);
  entry.pending = undefined;
  return true;
}

/**
 * Freezes the plain objects and arrays of `value` (a codec copy: only the types the codec decodes), bottom up, that
 * hold only primitives and frozen parts. True when `value` itself is then immutable: it can be shared as it is.
 */
export function freezeDeep(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Array.prototype) {
    let all = true;
    for (const item of value as unknown[]) if (!freezeDeep(item)) all = false;
    if (all) Object.freeze(value);
    return all;
  }
  if (proto === Object.prototype || proto === null) {
    let all = true;
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) if (!freezeDeep(object[key])) all = false;
    if (all) Object.freeze(value);
    return all;
  }
  // their contents can be frozen, the containers cannot: `copyUnfrozen` copies the container only
  if (proto === Map.prototype) {
    for (const [key, item] of value as Map<unknown, unknown>) {
      freezeDeep(key);
      freezeDeep(item);
    }
  } else if (proto === Set.prototype) {
    for (const item of value as Set<unknown>) freezeDeep(item);
  }
  return false;
}

/** A copy of `value` for one caller: frozen parts (and primitives) are shared, everything else is copied. */
export function copyUnfrozen(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Array.prototype) return (value as unknown[]).map(copyUnfrozen);
  if (proto === Object.prototype || proto === null) {
    const object = value as Record<string, unknown>;
    const copy: Record<string, unknown> = proto === null ? Object.create(null) : {};
    for (const key of Object.keys(object)) {
      const item = copyUnfrozen(object[key]);
      // defineProperty, so a `__proto__` key stays an own property, as the codec decodes it
      if (key === '__proto__')
        Object.defineProperty(copy, key, { value: item, writable: true, enumerable: true, configurable: true });
      else copy[key] = item;
    }
    return copy;
  }
  if (proto === Map.prototype) {
    const copy = new Map<unknown, unknown>();
    for (const [key, item] of value as Map<unknown, unknown>) copy.set(copyUnfrozen(key), copyUnfrozen(item));
    return copy;
  }
  if (proto === Set.prototype) return new Set(Array.from(value as Set<unknown>, copyUnfrozen));
  if (proto === Date.prototype) return new Date((value as Date).getTime());
  if (proto === RegExp.prototype) return new RegExp((value as RegExp).source, (value as RegExp).flags);
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof DataView) {
    return new DataView(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  }
  if (ArrayBuffer.isView(value)) {
    const TypedArray = value.constructor as new (source: ArrayBufferView) => unknown;
    return new TypedArray(value);
  }
  if (value instanceof ArrayBuffer) return value.slice(0);
  return value; // not a type the codec decodes: never reached for values it gave
}
