/** Per-entry options (`wrap`'s last argument, the decorators' options), validated once per options object. */
import { ConfigError } from './errors.js';
import { parseDuration } from './duration.js';
import { validateSegment } from './keys.js';
import { TtlRegistry, type TtlSpec } from './ttl.js';
import { memoryBounds } from './config.js';
import { DEFAULTS } from './defaults.js';
import type { EntryOptions } from './options.js';
import type { MemoryBounds } from './memory.js';
import type { LockSettings } from './lease.js';
import { freshnessOptions, type ComputeTimeouts, type EarlyRefresh } from './freshness.js';

/** Entry options after validation. */
export interface ResolvedEntry {
  kind: string;
  ttl: TtlSpec | undefined;
  tags: (args: readonly unknown[]) => readonly string[];
  swr: number;
  memory: MemoryBounds | boolean;
  /** Memory hits share the stored value as it is (`memory.shared`), instead of a read-only copy. */
  shared: boolean;
  /** Who stores results of this entry, for warnings: `Class.method`, `route GET /path`, or the kind. */
  owner: string;
  when: ((result: unknown, args: readonly unknown[]) => boolean) | undefined;
  negative: { ttl: number; when: ((error: unknown) => boolean) | undefined } | undefined;
  serialize: ((value: unknown) => Uint8Array | Promise<Uint8Array>) | undefined;
  deserialize: ((bytes: Buffer) => unknown) | undefined;
  /** Cross-instance lease, when on. */
  lock: LockSettings | undefined;
  /** Internal (`WrapOptions.bypassReason`): why a computed value counts as a bypass, or undefined for a miss. */
  bypassReason: ((value: unknown) => string | undefined) | undefined;
  /** Milliseconds after expiry an expired value stands in for a failed or slow recomputation (`grace`); 0: never. */
  grace: number;
  /** Milliseconds an expired value is served after a graced failure before recomputing is tried again. */
  graceBackoff: number;
  /** Milliseconds an entry is kept after expiry: the longer of `swr` and `grace`. */
  retain: number;
  /** `timeout: { soft, hard }` in ms, when set. */
  timeout: ComputeTimeouts | undefined;
  /** Probabilistic early refresh (`earlyRefresh`), when on. */
  early: EarlyRefresh | undefined;
  /** `WrapOptions.forceFresh`: compute and overwrite, whatever is cached or running. */
  forceFresh: boolean;
  /** Keys remembered for `invalidateKind(kind, { rewarm })` (`rewarm`); 0: none. */
  rewarm: number;
}

const NO_TAGS: readonly string[] = Object.freeze([]);
const noTags = () => NO_TAGS;

function fn<T>(value: unknown, setting: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new ConfigError(setting, 'expected a function');
  return value as T;
}

function checkTags(tags: unknown, setting: string): readonly string[] {
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.length === 0)) {
    throw new ConfigError(setting, 'expected an array of non-empty strings');
  }
  return tags as string[];
}

function lockSettings(value: unknown, setting: string): LockSettings | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { ttl: DEFAULTS.lockTtlMs, wait: DEFAULTS.lockTtlMs };
  if (typeof value !== 'object' || value === null) {
    throw new ConfigError(setting, 'expected a boolean or { ttl, wait }');
  }
  const { ttl, wait } = value as { ttl?: unknown; wait?: unknown };
  const ttlMs = ttl === undefined ? DEFAULTS.lockTtlMs : parseDuration(ttl, `${setting}.ttl`);
  if (!(ttlMs > 0)) throw new ConfigError(`${setting}.ttl`, 'must be greater than 0');
  return { ttl: ttlMs, wait: wait === undefined ? ttlMs : parseDuration(wait, `${setting}.wait`) };
}

/** The `rewarm` option: how many recently used keys to remember (`true`: 100). */
function rewarmKeys(value: unknown, setting: string): number {
  if (value === undefined || value === false) return 0;
  if (value === true) return DEFAULTS.rewarmKeys;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new ConfigError(setting, 'expected a boolean or a whole number of keys >= 1');
  return value;
}

/** The `memory` option: whether and which tier (`true` the cache-wide one, bounds a kind's own), and `shared`. */
function memoryOption(value: unknown, setting: string): { memory: MemoryBounds | boolean; shared: boolean } {
  if (value === undefined || typeof value === 'boolean') return { memory: value ?? false, shared: false };
  if (typeof value !== 'object' || value === null || !('shared' in value))
    return { memory: memoryBounds(value, setting), shared: false };
  const { shared, ...bounds } = value as { shared?: unknown };
  if (typeof shared !== 'boolean') throw new ConfigError(`${setting}.shared`, 'expected a boolean');
  return { memory: Object.keys(bounds).length === 0 ? true : memoryBounds(bounds, setting), shared };
}

/**
 * The `memory` option with `shared: true` unless it says otherwise: for `@CachedModel`, whose results are live
 * objects meant to be shared. `false` stays false.
 */
export function sharedMemory(memory: EntryOptions['memory']): EntryOptions['memory'] {
  if (memory === false) return false;
  if (memory === undefined || memory === true) return { shared: true };
  return typeof memory === 'object' && memory !== null && !('shared' in memory) ? { ...memory, shared: true } : memory;
}

/** Validates entry options for `kind`; `where` prefixes setting names in errors (e.g. `@CachedPrediction(PriceService.predict)`). */
export function resolveEntry(kind: string, options: EntryOptions<any>, where: string): ResolvedEntry {
  validateSegment(kind, `${where}.kind`);
  if (kind.startsWith('__'))
    throw new ConfigError(`${where}.kind`, `kinds starting with '__' are reserved, got '${kind}'`);
  let tags: ResolvedEntry['tags'] = noTags;
  if (typeof options.tags === 'function') {
    const user = options.tags;
    tags = (args) => checkTags(user(...args), `${where}.tags()`);
  } else if (options.tags !== undefined) {
    const fixed = checkTags(options.tags, `${where}.tags`);
    tags = () => fixed;
  }
  let negative: ResolvedEntry['negative'];
  const ce = options.cacheErrors;
  if (ce === true) negative = { ttl: DEFAULTS.negativeTtlMs, when: undefined };
  else if (typeof ce === 'number' || typeof ce === 'string')
    negative = { ttl: parseDuration(ce, `${where}.cacheErrors`), when: undefined };
  else if (typeof ce === 'object' && ce !== null) {
    negative = {
      ttl: parseDuration(ce.ttl, `${where}.cacheErrors.ttl`),
      when: fn(ce.when, `${where}.cacheErrors.when`),
    };
  } else if (ce !== undefined && ce !== false)
    throw new ConfigError(`${where}.cacheErrors`, 'expected a boolean, a duration or { ttl, when }');
  const { memory, shared } = memoryOption(options.memory, `${where}.memory`);
  const serialize = fn<ResolvedEntry['serialize']>(options.serialize, `${where}.serialize`);
  const deserialize = fn<ResolvedEntry['deserialize']>(options.deserialize, `${where}.deserialize`);
  if (!serialize !== !deserialize) throw new ConfigError(`${where}.serialize`, 'give both serialize and deserialize');
  const swr =
    options.staleWhileRevalidate === undefined
      ? 0
      : parseDuration(options.staleWhileRevalidate, `${where}.staleWhileRevalidate`);
  const { grace, backoff, timeout, early } = freshnessOptions(options, where);
  const forceFresh = (options as { forceFresh?: unknown }).forceFresh ?? false;
  if (typeof forceFresh !== 'boolean') throw new ConfigError(`${where}.forceFresh`, 'expected a boolean');
  return {
    kind,
    ttl: options.ttl === undefined ? undefined : TtlRegistry.validate(options.ttl, `${where}.ttl`),
    tags,
    swr,
    memory,
    shared,
    owner: `kind '${kind}'`,
    when: fn(options.when, `${where}.when`),
    negative,
    serialize,
    deserialize,
    lock: lockSettings(options.lock, `${where}.lock`),
    bypassReason: fn((options as { bypassReason?: unknown }).bypassReason, `${where}.bypassReason`),
    grace,
    graceBackoff: backoff,
    retain: Math.max(swr, grace),
    timeout,
    early,
    forceFresh,
    rewarm: rewarmKeys(options.rewarm, `${where}.rewarm`),
  };
}
