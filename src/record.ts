/**
 * The record of one cached result: named fields in memory, a compact array on the wire (Redis), and the named checks
 * that decide what a record is good for at a given time.
 */

/** What a record's `value` holds: the result, a cached error (its name/message/code), or a user `serialize`'s bytes. */
export type RecordState = 'value' | 'error' | 'bytes';

/** One cached result with what is needed to judge its freshness and validity. */
export interface CacheRecord {
  /** The result (or, for a cached error, its name/message/code; for `bytes`, a user `serialize`'s output). */
  value: unknown;
  /** Created at (ms since epoch). */
  createdAt: number;
  /** Fresh until (ms since epoch). */
  freshUntil: number;
  /**
   * Kept until (ms since epoch): `freshUntil` plus the longer of the entry's stale-while-revalidate and grace periods
   * (equals `freshUntil` without either). Each reader decides from its options what an expired record is good for.
   */
  staleUntil: number;
  /** Milliseconds the computation took: the time a hit saves. */
  computeMs: number;
  /** Invalidation generations (all, kind, tags…) current when the computation started. */
  generations: number[];
  /** What `value` holds. */
  state: RecordState;
  /** Its tags, when it has any: `get` reads their generations without knowing them (stored only when non-empty). */
  tags?: readonly string[];
}

/** Whether `record` is fresh at `now`: served as a hit. */
export function isFresh(record: CacheRecord, now: number): boolean {
  return now <= record.freshUntil;
}

/** Whether `record` is still kept at `now` (fresh, or expired within its stale-while-revalidate or grace period). */
export function isKept(record: CacheRecord, now: number): boolean {
  return now <= record.staleUntil;
}

/** Whether an expired `record` may be served at `now` while one refresh runs: within `swr` ms of its expiry, and kept. */
export function inStaleWindow(record: CacheRecord, now: number, swr: number): boolean {
  return now <= record.staleUntil && now - record.freshUntil <= swr;
}

/** Whether `record` holds a value (not a cached error, not bytes) that may be handed out at `now` (`Cache.get`). */
export function isServable(record: CacheRecord, now: number): boolean {
  return record.state === 'value' && now <= record.staleUntil;
}

/** Wire codes of `state` (`x`), by state and by code. */
const STATE_CODE = { value: 0, error: 1, bytes: 2 } as const;
const CODE_STATE: readonly RecordState[] = ['value', 'error', 'bytes'];

/**
 * Converts a record to the array that the codec stores: `[v, t, f, s, c, g, x]`, plus `tg` when it has tags. The
 * order and the codes of `x` (0 value, 1 cached error, 2 bytes) are the wire format: entries already in Redis
 * depend on them.
 */
export function toWire(record: CacheRecord): unknown[] {
  const wire = [
    record.value,
    record.createdAt,
    record.freshUntil,
    record.staleUntil,
    record.computeMs,
    record.generations,
    STATE_CODE[record.state],
  ];
  if (record.tags?.length) wire.push(record.tags);
  return wire;
}

/**
 * Records are made with `new`, never as object literals: V8 allocates a literal's objects straight in the old
 * generation once most of them outlive a young collection, which the records a memory tier keeps for minutes do;
 * a record then read or written for one call, allocated old, kept its value alive through young collections
 * (measured: the 64-in-flight Redis-tier hit lost a quarter of its throughput whenever a memory tier shared the
 * process). Use {@link newRecord}.
 */
class RecordObject implements CacheRecord {
  declare tags?: readonly string[];
  constructor(
    public value: unknown,
    public createdAt: number,
    public freshUntil: number,
    public staleUntil: number,
    public computeMs: number,
    public generations: number[],
    public state: RecordState,
  ) {}
}

/** A new record (see {@link RecordObject} for why not a literal); `tags` may be set on it afterwards. */
export function newRecord(
  value: unknown,
  createdAt: number,
  freshUntil: number,
  staleUntil: number,
  computeMs: number,
  generations: number[],
  state: RecordState,
): CacheRecord {
  return new RecordObject(value, createdAt, freshUntil, staleUntil, computeMs, generations, state);
}

/** Reads the stored array back; `undefined` when it is not a record of ours. */
export function fromWire(wire: unknown): CacheRecord | undefined {
  if (!Array.isArray(wire) || (wire.length !== 7 && wire.length !== 8)) return undefined;
  const [v, t, f, s, c, g, x, tg] = wire as unknown[];
  if (typeof t !== 'number' || typeof f !== 'number' || typeof s !== 'number' || typeof c !== 'number')
    return undefined;
  if (!Array.isArray(g) || (x !== 0 && x !== 1 && x !== 2)) return undefined;
  const record = newRecord(v, t, f, s, c, g as number[], CODE_STATE[x]!);
  if (tg === undefined) return record;
  if (!Array.isArray(tg) || !tg.every((tag) => typeof tag === 'string')) return undefined;
  record.tags = tg as string[];
  return record;
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
