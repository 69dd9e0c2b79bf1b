/**
 * Invalidation generations: the counters in Redis (of the namespace, of each kind, of each tag) that every entry is
 * stored under. Invalidating bumps a counter; an entry stored under an older value no longer matches.
 */
import { hashArgs } from './keys.js';
import { parseGeneration } from './record.js';
import { isErrorReply, type RedisTier } from './redis/tier.js';

const now = Date.now;

/** Kinds are few; past this many, generation keys are built on each read rather than remembered. */
const MAX_CACHED_GEN_KEYS = 1000;
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

/** Which counter: of the namespace (`all`), of a kind, or of a tag. */
export type GenerationScope = 'all' | 'kind' | 'tag';

/** The generation counters of one namespace. */
export class Generations {
  readonly #namespace: string;
  readonly #hashKeys: boolean;
  readonly #redis: RedisTier | undefined;
  readonly #warnOnce: (id: string, message: string) => void;
  readonly #pendingBumps = new Set<string>();
  #allKey: string | undefined;
  readonly #kindKeys = new Map<string, string>();

  constructor(
    settings: { namespace: string; hashKeys: boolean },
    redis: RedisTier | undefined,
    warnOnce: (id: string, message: string) => void,
  ) {
    this.#namespace = settings.namespace;
    this.#hashKeys = settings.hashKeys;
    this.#redis = redis;
    this.#warnOnce = warnOnce;
    redis?.onReady(() => void this.#replayBumps());
  }

  /** Key of a generation counter: of the namespace (`all`), of a kind, or of a tag. */
  key(scope: GenerationScope, name = ''): string {
    // Read with every entry: built once (per kind), so each read reuses the same, already hashed, strings.
    if (scope === 'all') return (this.#allKey ??= this.#build(scope, name));
    if (scope === 'tag') return this.#build(scope, name);
    let key = this.#kindKeys.get(name);
    if (key === undefined) {
      key = this.#build(scope, name);
      if (this.#kindKeys.size < MAX_CACHED_GEN_KEYS) this.#kindKeys.set(name, key);
    }
    return key;
  }

  /**
   * The keys a read sends: `key` (unless undefined: counters only), then the counters an entry of `kind` with `tags`
   * is stored under: all, kind, then each tag. Made at its final length: a hit's read grew a one-key array before.
   */
  keysOf(key: string | undefined, kind: string, tags: readonly string[]): string[] {
    const all = this.key('all');
    const ofKind = this.key('kind', kind);
    const keys = key === undefined ? [all, ofKind] : [key, all, ofKind];
    for (const tag of tags) keys.push(this.key('tag', tag));
    return keys;
  }

  #build(scope: GenerationScope, name: string): string {
    const ns = this.#namespace;
    if (scope === 'all') return `${ns}:__gen:all`;
    const safe = !this.#hashKeys && /^[A-Za-z0-9_.:@-]{1,128}$/.test(name) ? name : hashArgs(name);
    return `${ns}:__gen:${scope}:${safe}`;
  }

  /**
   * Puts in `gens` the generations in the counters' replies (`replies[offset…]`); false when one is missing or
   * unreadable (≤ 0): `seed` must create it before the read's generations can be used.
   */
  parse(replies: ReadonlyArray<Buffer | null>, offset: number, gens: number[]): boolean {
    let complete = true;
    for (let i = 0; i < gens.length; i++) if ((gens[i] = parseGeneration(replies[i + offset])) <= 0) complete = false;
    return complete;
  }

  /**
   * Creates the counters a read found missing (never used, or evicted) or unreadable (garbage, a wrong type), each
   * with a fresh value, and puts their values in `gens`: what is computed next is stored under them, and what was
   * stored before matches none. A read that finds one so costs this second round trip: once per kind or tag, and
   * after an eviction or a corruption.
   */
  async seed(keys: readonly string[], offset: number, gens: number[]): Promise<boolean> {
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

  /** Makes the counters of `tags` outlive an entry written now that Redis keeps for `lifeMs` (fire-and-forget). */
  extendTags(tags: readonly string[], lifeMs: number): void {
    const redis = this.#redis;
    if (!redis) return;
    for (const tag of tags) {
      const counter = this.key('tag', tag);
      void redis.send(counter, false, ['PEXPIRE', counter, String(lifeMs + TAG_COUNTER_MARGIN_MS)]);
    }
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
}
