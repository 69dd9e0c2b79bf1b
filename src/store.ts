/**
 * The two tiers behind one interface: reads that check invalidation generations in the same round trip,
 * writes that encode once, and the memory tiers (shared, or per kind when a kind gives its own bounds).
 */
import { hashArgs } from './keys.js';
import { MemoryTier, type MemoryEntry } from './memory.js';
import { memoryForm } from './frozen.js';
import { CodecError, UnserializableError } from './errors.js';
import { fromWire, parseGeneration, sameGenerations, toWire, type CacheRecord } from './record.js';
import type { Codec } from './codec.js';
import { isErrorReply, type RedisTier, type SendReport } from './redis/tier.js';
import type { Settings } from './config.js';
import type { ResolvedEntry } from './entry.js';
import type { Stats } from './stats.js';

const now = Date.now;

/** What a read found: a valid record (if any), the generations read with it, and whether Redis failed. */
export interface ReadResult {
  record: CacheRecord | undefined;
  gens: number[] | undefined;
  failed: boolean;
  /** The record's MessagePack body (decompressed, decrypted), when its value was decoded from it: for `remember`. */
  body?: Buffer;
  /** The length of that body (also with a user `deserialize`). */
  size?: number;
}

/** What `write` stores besides the value. */
export interface WriteOptions {
  /** The call's arguments, for `ttl` and `tags` functions. */
  args: readonly unknown[];
  /** Milliseconds the computation took. */
  ms: number;
  /** Generations read before the computation; without them (Redis failed) nothing goes to Redis. */
  gens: number[] | undefined;
  /** The value is a cached error (negative caching). @default false */
  error?: boolean;
  /** The entry's tags, when already computed. @default entry.tags(args) */
  tags?: readonly string[];
  /** The memory epoch the computation began in: a value computed across a drop is not kept in memory. */
  epoch?: number;
  /** Filled when the Redis write was sent and failed. */
  report?: SendReport;
}

/** How `remember` puts a record in memory. */
export interface RememberOptions {
  tags: readonly string[];
  /** The record's MessagePack body, when its value was encoded as it is (not by a user `serialize`). */
  body: Buffer | undefined;
  /** Its size against `memory.maxBytes`: the uncompressed encoded length (1 when the value cannot be encoded). */
  size: number;
  /** The memory epoch the value's computation or read began in. */
  epoch: number | undefined;
}

/** Kinds are few; past this many, generation keys are built on each read rather than remembered. */
const MAX_CACHED_GEN_KEYS = 1000;
/** Per-key drops remembered for reads in flight; more than this many between two wide drops count as one. */
const MAX_KEY_DROPS = 10_000;

/** Life of a tag counter created by a read, until the write it precedes sets it from the entry's (tags are many). */
const TAG_COUNTER_SEED_MS = 3_600_000;
/** A tag counter outlives the entries written with it by this much. */
const TAG_COUNTER_MARGIN_MS = 60_000;

/** Creates a missing counter with a fresh value, then increments it: one atomic round trip, one key (cluster-safe). */
const BUMP =
  "if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end return redis.call('INCR', KEYS[1])";

/**
 * A value for a counter that is created (or re-created after eviction): the time in µs plus noise, far from any value
 * an earlier counter of that name reached by increments, so that no entry stored under the old one matches it.
 * Counters are never trusted absent (0): an evicted counter would otherwise bring back what it invalidated.
 */
function freshGeneration(): string {
  return String(now() * 1000 + Math.floor(Math.random() * 1000));
}

/** Storage for records: memory tiers and the Redis tier. */
export class Tiers {
  readonly memory: MemoryTier;
  readonly #kindMemory = new Map<string, MemoryTier>();
  readonly #settings: Settings;
  readonly #redis: RedisTier | undefined;
  readonly #codec: Codec;
  readonly #stats: Stats;
  readonly #warnOnce: (id: string, message: string) => void;
  readonly #pendingBumps = new Set<string>();
  /** Generation keys of the namespace and of each kind. */
  #allGenKey: string | undefined;
  readonly #kindGenKeys = new Map<string, string>();
  /**
   * Counts memory drops (invalidations, deletes, bus messages). A value read or computed since `epoch` was taken is
   * not put in memory if a drop that covers its key came after (`droppedSince`): it may predate the change.
   */
  epoch = 0;
  /** `epoch` of the last drop of everything matching a kind, tags or all. */
  #wideDrop = 0;
  /** `epoch` of the last drop of one key; bounded (past the bound, counted as a wide drop). */
  readonly #keyDrops = new Map<string, number>();
  /** Told after an entry that is also in a memory tier reached Redis (the bus tells other instances). */
  onStored: ((key: string, kind: string) => void) | undefined;

  constructor(
    settings: Settings,
    redis: RedisTier | undefined,
    codec: Codec,
    stats: Stats,
    warnOnce: (id: string, message: string) => void,
  ) {
    this.#settings = settings;
    this.#redis = redis;
    this.#codec = codec;
    this.#stats = stats;
    this.#warnOnce = warnOnce;
    this.memory = new MemoryTier(settings.memory);
    redis?.onReady(() => void this.#replayBumps());
  }

  /** Key of a generation counter: of the namespace (`all`), of a kind, or of a tag. */
  genKey(scope: 'all' | 'kind' | 'tag', name = ''): string {
    // Read with every entry: built once (per kind), so each read reuses the same, already hashed, strings.
    if (scope === 'all') return (this.#allGenKey ??= this.#buildGenKey(scope, name));
    if (scope === 'tag') return this.#buildGenKey(scope, name);
    let key = this.#kindGenKeys.get(name);
    if (key === undefined) {
      key = this.#buildGenKey(scope, name);
      if (this.#kindGenKeys.size < MAX_CACHED_GEN_KEYS) this.#kindGenKeys.set(name, key);
    }
    return key;
  }

  #buildGenKey(scope: 'all' | 'kind' | 'tag', name: string): string {
    const ns = this.#settings.namespace;
    if (scope === 'all') return `${ns}:__gen:all`;
    const safe = !this.#settings.hashKeys && /^[A-Za-z0-9_.:@-]{1,128}$/.test(name) ? name : hashArgs(name);
    return `${ns}:__gen:${scope}:${safe}`;
  }

  /** The memory tier an entry of `kind` would be in. */
  memoryFor(kind: string): MemoryTier {
    return this.#kindMemory.get(kind) ?? this.memory;
  }

  /** The memory tier of an entry, or undefined when it does not use one. */
  tierOf(entry: ResolvedEntry): MemoryTier | undefined {
    if (!entry.memory) return undefined;
    if (entry.memory === true) return this.memory;
    let tier = this.#kindMemory.get(entry.kind);
    if (!tier) this.#kindMemory.set(entry.kind, (tier = new MemoryTier(entry.memory)));
    return tier;
  }

  /** Whether memory was dropped for `key` since `epoch` was read. */
  droppedSince(key: string, epoch: number): boolean {
    return this.#wideDrop > epoch || (this.#keyDrops.get(key) ?? 0) > epoch;
  }

  /** Drops one key from every memory tier (a delete, a write by another instance). */
  dropKey(key: string, kind: string): void {
    const epoch = ++this.epoch;
    if (this.#keyDrops.size >= MAX_KEY_DROPS) {
      this.#keyDrops.clear();
      this.#wideDrop = epoch;
    }
    this.#keyDrops.set(key, epoch);
    this.memory.delete(key);
    this.memoryFor(kind).delete(key);
  }

  /** Drops matching entries from every memory tier. */
  dropMemory(test: (entry: MemoryEntry) => boolean): void {
    this.#wideDrop = ++this.epoch;
    this.#keyDrops.clear();
    this.memory.deleteWhere(test);
    for (const tier of this.#kindMemory.values()) tier.deleteWhere(test);
  }

  /** Entries in every memory tier (the shared one and those of kinds with their own bounds). */
  memoryEntries(): number {
    let entries = this.memory.size.entries;
    for (const tier of this.#kindMemory.values()) entries += tier.size.entries;
    return entries;
  }

  /** Clears every memory tier. */
  clearMemory(): void {
    this.#wideDrop = ++this.epoch;
    this.#keyDrops.clear();
    this.memory.clear();
    for (const tier of this.#kindMemory.values()) tier.clear();
  }

  /**
   * Increments generation counters (one INCR per key, sent together). If Redis cannot take them, they are
   * retried when it reconnects, so an invalidation made during an outage is not lost; the error is rethrown.
   */
  async bump(keys: string[]): Promise<void> {
    if (!this.#redis) return;
    const redis = this.#redis;
    const results = await Promise.allSettled(keys.map((key) => this.#increment(redis, key)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed === -1) return;
    results.forEach((r, i) => r.status === 'rejected' && this.#pendingBumps.add(keys[i]!));
    throw (results[failed] as PromiseRejectedResult).reason;
  }

  /**
   * INCR (creating a missing counter with a fresh value first); a counter that holds something else than an integer
   * (garbage, a hash) is replaced by a fresh value, so that invalidation never gets stuck on it.
   */
  async #increment(redis: RedisTier, key: string): Promise<unknown> {
    try {
      return await redis.sendOrThrow(key, false, ['EVAL', BUMP, '1', key, freshGeneration()]);
    } catch (error) {
      if (!isErrorReply(error)) throw error;
      const value = freshGeneration();
      await redis.sendOrThrow(key, false, ['SET', key, value]);
      this.#replaced(key);
      return value;
    }
  }

  /** Warns (once per counter) that a counter of the wrong type or value was replaced by a fresh one. */
  #replaced(key: string): void {
    this.#warnOnce(`counter:${key}`, `infercache: replaced an invalidation counter that was not an integer`);
  }

  async #replayBumps(): Promise<void> {
    const keys = [...this.#pendingBumps];
    this.#pendingBumps.clear();
    if (keys.length) await this.bump(keys).catch(() => {});
  }

  /** The entry at `key` if it was stored under the current generations (of `tags`, or of its own with `anyTags`). */
  async read(
    key: string,
    kind: string,
    tags: readonly string[],
    entry: ResolvedEntry | undefined,
    gensOnly = false,
    anyTags = false,
  ): Promise<ReadResult> {
    const keys = gensOnly ? [] : [key];
    keys.push(this.genKey('all'), this.genKey('kind', kind));
    for (const tag of tags) keys.push(this.genKey('tag', tag));
    const replies = this.#redis ? await this.#redis.mget(keys) : undefined;
    if (!replies) return { record: undefined, gens: undefined, failed: this.#redis !== undefined };
    const offset = gensOnly ? 0 : 1;
    const gens = new Array<number>(keys.length - offset);
    let missing = false;
    for (let i = 0; i < gens.length; i++) if ((gens[i] = parseGeneration(replies[i + offset])) <= 0) missing = true;
    if (missing && !(await this.#seed(keys, offset, gens))) return { record: undefined, gens: undefined, failed: true };
    const raw = gensOnly ? null : replies[0];
    if (!raw) return { record: undefined, gens, failed: false };
    const found: ReadResult = { record: undefined, gens, failed: false, body: undefined, size: undefined };
    const decoded = this.#decode(key, kind, raw, entry, found);
    const record = decoded instanceof Promise ? await decoded : decoded; // a user deserialize only
    // with `anyTags`, only the namespace and kind generations are checked here: `readUntagged` checks the tags'
    const valid =
      record && (anyTags && record.tg ? sameGenerations(record.g.slice(0, 2), gens) : sameGenerations(record.g, gens));
    if (valid) found.record = record;
    return found;
  }

  /**
   * Creates the counters a read found missing (never used, or evicted) or unreadable (garbage, a wrong type), each
   * with a fresh value, and puts their values in `gens`: what is computed next is stored under them, and what was
   * stored before matches none. A read that finds one so costs this second round trip: once per kind or tag, and
   * after an eviction or a corruption.
   */
  async #seed(keys: string[], offset: number, gens: number[]): Promise<boolean> {
    const redis = this.#redis!;
    const seeds: Promise<boolean>[] = [];
    for (let i = 0; i < gens.length; i++) {
      if (gens[i]! > 0) continue;
      const key = keys[i + offset]!;
      // missing (0): create it unless another instance just did; garbage (-1): replace it, it can be trusted no more
      const create = gens[i] === 0 ? ['SET', key, freshGeneration(), 'NX'] : ['SET', key, freshGeneration()];
      if (i >= 2) create.push('PX', String(TAG_COUNTER_SEED_MS)); // [all, kind, ...tags]
      const created = redis.send(key, false, create);
      // sent behind the SET on the same connection; a counter of the wrong type (a hash) is replaced
      const read = redis.sendOrThrow(key, false, ['GET', key]).catch(async (error: unknown) => {
        if (!isErrorReply(error)) return undefined;
        const value = freshGeneration();
        if ((await redis.send(key, false, ['SET', key, value])) === undefined) return undefined;
        this.#replaced(key);
        return value;
      });
      seeds.push(
        Promise.all([created, read]).then(([, value]) => {
          gens[i] = parseGeneration(value as Buffer | string | null | undefined);
          return value != null && gens[i]! > 0;
        }),
      );
    }
    return (await Promise.all(seeds)).every(Boolean);
  }

  /**
   * Reads an entry without knowing its tags (`Cache.get`): the record names them, and their generations are
   * read in a second round trip only when it has any.
   */
  async readUntagged(key: string, kind: string): Promise<CacheRecord | undefined> {
    const first = await this.read(key, kind, [], undefined, false, true);
    const record = first.record;
    if (!record?.tg || !first.gens) return record;
    const { gens } = await this.read(key, kind, record.tg, undefined, true);
    return gens && sameGenerations(record.g, gens) ? record : undefined;
  }

  /**
   * Bytes → record; undefined (counted, warned once, deleted) when unreadable. A promise only for a user
   * `deserialize`. Puts the MessagePack body in `found.body` when the record's value was decoded from it.
   */
  #decode(
    key: string,
    kind: string,
    raw: Buffer,
    entry: ResolvedEntry | undefined,
    found: ReadResult,
  ): CacheRecord | undefined | Promise<CacheRecord | undefined> {
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
    if (record.x !== 2 || !entry?.deserialize) {
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
      record.v = await deserialize(Buffer.from(record.v as Uint8Array));
      record.x = 0;
      return record;
    } catch (error) {
      return this.#unreadable(key, kind, error);
    }
  }

  #unreadable(key: string, kind: string, error: unknown): undefined {
    this.#stats.error(kind);
    this.#warnOnce(
      `decode:${kind}`,
      `infercache: dropped an unreadable entry of kind '${kind}': ${(error as Error).message}`,
    );
    void this.#redis?.send(key, false, ['DEL', key]);
    return undefined;
  }

  /**
   * Stores a computed value (or a cached error): in the entry's memory tier, and in Redis when the generations were
   * read. Resolves true when Redis took it. A value that cannot be encoded is counted (`unstorable`), warned about
   * once per owner and reason, and kept in memory only when the entry shares its memory hits.
   */
  async write(key: string, entry: ResolvedEntry, value: unknown, options: WriteOptions): Promise<boolean> {
    const release = this.#redis?.hold(); // `close()` waits for a write, even one still in a user `serialize`
    try {
      return await this.#write(key, entry, value, options);
    } finally {
      release?.();
    }
  }

  async #write(key: string, entry: ResolvedEntry, value: unknown, options: WriteOptions): Promise<boolean> {
    const { args, ms, gens, epoch } = options;
    const tags = options.tags ?? entry.tags(args);
    const x = options.error ? 1 : 0;
    const ttl =
      x === 1
        ? entry.negative!.ttl
        : this.#settings.ttl.resolve(entry.kind, entry.ttl, args, value, (e) =>
            this.#warnOnce(
              `ttl:${entry.kind}`,
              `infercache: ttl function of kind '${entry.kind}' failed: ${(e as Error)?.message}`,
            ),
          );
    if (!(ttl > 0)) return false;
    const t = now();
    const record: CacheRecord = { v: value, t, f: t + ttl, s: t + ttl + entry.retain, c: ms, g: gens ?? [], x };
    if (tags.length) record.tg = tags;
    const custom = x === 0 && entry.serialize !== undefined;
    let body: Buffer | undefined;
    try {
      const wire = toWire(custom ? { ...record, v: await entry.serialize!(value as never), x: 2 } : record);
      body = this.#codec.pack(wire);
    } catch (error) {
      this.#refused(entry, error);
    }
    this.remember(key, entry, record, { tags, body: custom ? undefined : body, size: body?.length ?? 1, epoch });
    if (!body || !this.#redis || !gens) return false;
    const bytes = this.#codec.seal(body, key);
    if (bytes.length > this.#settings.maxEntryBytes) {
      this.#stats.oversize(entry.kind);
      this.#warnOnce(
        `oversize:${entry.kind}`,
        `infercache: an entry of kind '${entry.kind}' (${bytes.length} bytes) is above maxEntryBytes and was not stored`,
      );
      return false;
    }
    this.#stats.stored(entry.kind, bytes.length);
    const life = Math.ceil(record.s - t);
    for (const tag of tags) {
      const counter = this.genKey('tag', tag);
      void this.#redis.send(counter, false, ['PEXPIRE', counter, String(life + TAG_COUNTER_MARGIN_MS)]);
    }
    const sent: SendReport = options.report ?? {};
    const reply = await this.#redis.send(key, false, ['SET', key, bytes, 'PX', String(life)], sent);
    if (sent.failed !== undefined) this.#stats.error(entry.kind); // refused (OOM) or lost: the call is unaffected
    if (reply !== undefined && this.tierOf(entry)) this.onStored?.(key, entry.kind);
    return reply !== undefined;
  }

  /** Counts and reports (once per owner and reason) a value that cannot be stored, or a user `serialize` that threw. */
  #refused(entry: ResolvedEntry, error: unknown): void {
    const unstorable = error instanceof UnserializableError;
    if (unstorable) this.#stats.unstorable(entry.kind);
    else this.#stats.error(entry.kind); // the user's serialize failed
    const reason = unstorable ? error.reason : 'serialize threw';
    const fate = entry.memory && entry.shared ? 'kept in memory only' : 'not cached';
    const hint =
      entry.memory && !entry.shared ? ' (memory: { shared: true } keeps such results in memory as they are)' : '';
    // the codec saw the record's wire form: the value is its first item, `$[0]`; say where in the value
    const message = String((error as Error)?.message).replace(' at $[0]', ' at $');
    this.#warnOnce(
      `unstorable:${entry.owner}:${reason}`,
      `infercache: results of ${entry.owner} cannot be stored: ${message}; ${fate}${hint}`,
    );
  }

  /**
   * Puts a record in the entry's memory tier, unless the entry has none or memory was dropped for `key` since
   * `how.epoch` (the value may predate the drop).
   */
  remember(key: string, entry: ResolvedEntry, record: CacheRecord, how: RememberOptions): void {
    const tier = this.tierOf(entry);
    if (!tier || !tier.fits(how.size) || (how.epoch !== undefined && this.droppedSince(key, how.epoch))) return;
    const form = memoryForm(this.#codec, record, { shared: entry.shared, body: how.body, size: how.size });
    if (form) tier.set(key, { record: form.record, kind: entry.kind, tags: how.tags, copy: form.copy }, form.size);
    else if (entry.serialize) {
      // stored in Redis through the user's serialize, but the memory tier cannot make a copy the codec refuses
      this.#warnOnce(
        `memory-copy:${entry.owner}`,
        `infercache: results of ${entry.owner} are not kept in memory: they cannot be copied for each caller; ` +
          'memory: { shared: true } keeps them as they are',
      );
    }
  }
}
