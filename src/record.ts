/** The stored form of one cached result, shared by the memory and Redis tiers. */

/** One cached result with what is needed to judge its freshness and validity. */
export interface CacheRecord {
  /** The value (or, for a cached error, its name/message/code). */
  v: unknown;
  /** Created at (ms since epoch). */
  t: number;
  /** Fresh until (ms since epoch). */
  f: number;
  /**
   * Kept until (ms since epoch): `f` plus the longer of the entry's stale-while-revalidate and grace periods (equals
   * `f` without either). Each reader decides from its options what an expired record is good for.
   */
  s: number;
  /** Milliseconds the computation took: the time a hit saves. */
  c: number;
  /** Invalidation generations (all, kind, tags…) current when the computation started. */
  g: number[];
  /** 1 when `v` is a cached error, 2 when `v` is bytes from a user `serialize`. */
  x: 0 | 1 | 2;
  /** Its tags, when it has any: `get` reads their generations without knowing them (stored only when non-empty). */
  tg?: readonly string[];
}

/** Converts a record to the array that the codec stores. */
export function toWire(record: CacheRecord): unknown[] {
  const wire = [record.v, record.t, record.f, record.s, record.c, record.g, record.x];
  if (record.tg?.length) wire.push(record.tg);
  return wire;
}

/** Reads the stored array back; `undefined` when it is not a record of ours. */
export function fromWire(wire: unknown): CacheRecord | undefined {
  if (!Array.isArray(wire) || (wire.length !== 7 && wire.length !== 8)) return undefined;
  const [v, t, f, s, c, g, x, tg] = wire as unknown[];
  if (typeof t !== 'number' || typeof f !== 'number' || typeof s !== 'number' || typeof c !== 'number')
    return undefined;
  if (!Array.isArray(g) || (x !== 0 && x !== 1 && x !== 2)) return undefined;
  if (tg === undefined) return { v, t, f, s, c, g: g as number[], x };
  if (!Array.isArray(tg) || !tg.every((tag) => typeof tag === 'string')) return undefined;
  return { v, t, f, s, c, g: g as number[], x, tg: tg as string[] };
}

/** Whether the record was computed under the invalidation generations read now. */
export function sameGenerations(stored: readonly number[], current: readonly number[]): boolean {
  if (stored.length !== current.length) return false;
  for (let i = 0; i < stored.length; i++) if (stored[i] !== current[i]) return false;
  return true;
}

/**
 * Turns a generation counter reply (bulk string or null) into a number: 0 when missing, -1 when it is not a
 * positive integer. Read with every entry, so a Buffer's digits are read in place (no string made).
 */
export function parseGeneration(reply: Buffer | string | null | undefined): number {
  if (!reply) return 0;
  if (typeof reply === 'string') {
    const n = /^\d{1,16}$/.test(reply) ? Number(reply) : -1;
    return n > 0 && n <= Number.MAX_SAFE_INTEGER ? n : -1;
  }
  const length = reply.length;
  if (length > 16) return -1; // counters start near 2e15 (µs since 1970) and never pass 2^53
  let n = 0;
  for (let i = 0; i < length; i++) {
    const digit = reply[i]! - 48;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n > 0 && n <= Number.MAX_SAFE_INTEGER ? n : -1;
}

/** A cached error, rebuilt on a negative-cache hit. */
export class CachedError extends Error {
  /** The original error's code, if it had one. */
  readonly code: string | undefined;
  constructor(stored: { name?: unknown; message?: unknown; code?: unknown }) {
    super(typeof stored.message === 'string' ? stored.message : 'cached error');
    this.name = typeof stored.name === 'string' ? stored.name : 'Error';
    this.code = typeof stored.code === 'string' ? stored.code : undefined;
  }
}
