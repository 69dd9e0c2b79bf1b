/**
 * Writes of computed values (or cached errors): the TTL and stale deadline, the encoding (once, for Redis and the
 * memory tier), the memory tier, the Redis SET with its expiry, and the bus message once Redis took it.
 */
import { UnserializableError, quoted } from './errors.js';
import { newRecord, toWire } from './record.js';
import type { Codec } from './codec.js';
import type { Coherence } from './coherence.js';
import type { Generations } from './generations.js';
import type { RedisTier, SendReport } from './redis/tier.js';
import type { Settings } from './config.js';
import type { ResolvedEntry } from './entry.js';
import type { Stats } from './stats.js';

const now = Date.now;

/** What `write` stores besides the value. */
export interface WriteOptions {
  /** The call's arguments, for `ttl` and `tags` functions. */
  args: readonly unknown[];
  /** Milliseconds the computation took. */
  computeMs: number;
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
  /**
   * When the other instances are told to drop their copies: `stored` once an entry that is also in a memory tier
   * reached Redis; `always` whatever happened (an explicit `set`). @default 'stored'
   */
  publish?: 'stored' | 'always';
}

/** The parts of the cache a `Writer` uses. */
export interface WriterParts {
  settings: Settings;
  redis: RedisTier | undefined;
  codec: Codec;
  stats: Stats;
  generations: Generations;
  coherence: Coherence;
  warnOnce: (id: string, message: string) => void;
}

/** Stores values in the memory tier and Redis for one cache. */
export class Writer {
  readonly #settings: Settings;
  readonly #redis: RedisTier | undefined;
  readonly #codec: Codec;
  readonly #stats: Stats;
  readonly #generations: Generations;
  readonly #coherence: Coherence;
  readonly #warnOnce: (id: string, message: string) => void;

  constructor(parts: WriterParts) {
    this.#settings = parts.settings;
    this.#redis = parts.redis;
    this.#codec = parts.codec;
    this.#stats = parts.stats;
    this.#generations = parts.generations;
    this.#coherence = parts.coherence;
    this.#warnOnce = parts.warnOnce;
  }

  /**
   * Stores a computed value (or a cached error): in the entry's memory tier, and in Redis when the generations were
   * read. Resolves true when Redis took it. A value that cannot be encoded is counted (`unstorable`), warned about
   * once per owner and reason, and kept in memory only when the entry shares its memory hits.
   */
  async write(key: string, entry: ResolvedEntry, value: unknown, options: WriteOptions): Promise<boolean> {
    const release = this.#redis?.hold(); // `close()` waits for a write, even one still in a user `serialize`
    try {
      const stored = await this.#write(key, entry, value, options);
      const publish = options.publish === 'always' || (stored && this.#coherence.tierOf(entry) !== undefined);
      if (publish) this.#coherence.publish({ key, kind: entry.kind });
      return stored;
    } finally {
      release?.();
    }
  }

  async #write(key: string, entry: ResolvedEntry, value: unknown, options: WriteOptions): Promise<boolean> {
    const { args, gens, epoch } = options;
    const tags = options.tags ?? entry.tags(args);
    const ttl = options.error
      ? entry.negative!.ttl
      : this.#settings.ttl.resolve(entry.kind, entry.ttl, args, value, (e) =>
          this.#warnOnce(
            `ttl:${entry.kind}`,
            `infercache: ttl function of kind '${entry.kind}' failed: ${(e as Error)?.message}`,
          ),
        );
    if (!(ttl > 0)) return false;
    const t = now();
    const state = options.error ? 'error' : 'value';
    const record = newRecord(value, t, t + ttl, t + ttl + entry.retain, options.computeMs, gens ?? [], state);
    if (tags.length) record.tags = tags;
    const custom = record.state === 'value' && entry.serialize !== undefined;
    let body: Buffer | undefined;
    try {
      const wire = toWire(
        custom ? { ...record, value: await entry.serialize!(value as never), state: 'bytes' } : record,
      );
      body = this.#codec.pack(wire);
    } catch (error) {
      this.#refused(entry, error);
    }
    this.#coherence.remember(key, entry, record, {
      tags,
      body: custom ? undefined : body,
      size: body?.length ?? 1,
      epoch,
    });
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
    const life = Math.ceil(record.staleUntil - t);
    this.#generations.extendTags(tags, life);
    const sent: SendReport = options.report ?? {};
    const reply = await this.#redis.send(key, false, ['SET', key, bytes, 'PX', String(life)], sent);
    if (sent.failed !== undefined) this.#stats.error(entry.kind); // refused (OOM) or lost: the call is unaffected
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
    const message = quoted(error).replace(' at $[0]', ' at $');
    this.#warnOnce(
      `unstorable:${entry.owner}:${reason}`,
      `infercache: results of ${entry.owner} cannot be stored: ${message}; ${fate}${hint}`,
    );
  }
}
