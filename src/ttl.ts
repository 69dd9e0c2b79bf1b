/** The TTL registry: per-kind TTLs from options, `CACHE_TTL_<KIND>` variables and a default; dynamic TTLs; jitter. */
import { parseDuration, type Duration } from './duration.js';
import { ConfigError } from './errors.js';
import { DEFAULTS } from './defaults.js';
import { validateSegment } from './keys.js';

/** A TTL: a duration, or a function of the call's arguments and result returning one (e.g. "until midnight"). */
export type TtlSpec = Duration | ((args: readonly unknown[], result: unknown) => Duration);

/** Options of a TtlRegistry. */
export interface TtlRegistryOptions {
  /** Per kind, plus `default`. An `undefined` entry counts as not set. @default {} */
  ttl?: Record<string, TtlSpec | undefined>;
  /**
   * `CACHE_TTL_<KIND>` variables, matched to kinds by {@link ttlEnvName} (kind `price-model` reads
   * `CACHE_TTL_PRICE_MODEL`); other names are ignored, an empty value counts as not set. The registry never reads
   * `process.env` itself: `configFromEnv` is the one reader of the environment. @default {}
   */
  env?: Record<string, string | undefined>;
  /**
   * Fraction 0..1 of random jitter: each stored entry's TTL is shortened by a random amount of up to `jitter × ttl`
   * (uniform), so a kind written in a burst does not expire in the same second. Jitter never lengthens a TTL, so
   * "until midnight" still ends by midnight, and never turns a positive TTL into 0. @default 0
   */
  jitter?: number;
}

/** Where a kind's TTL comes from. */
type Source = 'option' | 'env' | 'default';

/** What the registry resolved for one kind; computed once per kind. */
interface KindEntry {
  /** Static TTL in ms, or null when the spec is a function. */
  readonly ms: number | null;
  /** The dynamic TTL function, if any. */
  readonly fn: ((args: readonly unknown[], result: unknown) => Duration) | null;
  /** Static fallback when `fn` (or an override function) fails: the kind's, else the default's, else 1 h. */
  readonly fallbackMs: number;
  readonly source: Source;
  /** Setting named when the function returns something invalid. */
  readonly setting: string;
}

interface Static {
  readonly spec: TtlSpec;
  readonly ms: number | null;
  readonly source: Source;
  readonly setting: string;
}

const DEFAULT_TTL_MS = DEFAULTS.ttlMs;
const BUILT_IN_DEFAULT: Static = {
  spec: DEFAULT_TTL_MS / 1000,
  ms: DEFAULT_TTL_MS,
  source: 'default',
  // Stryker disable next-line StringLiteral: the built-in default is static, so no error ever names its setting
  setting: 'ttl.default',
};
const ENV_PREFIX = 'CACHE_TTL_';

/**
 * The variable holding a kind's TTL: `CACHE_TTL_` and the kind upper-cased, with `-` and `.` turned into `_` (kind
 * `price-model` reads `CACHE_TTL_PRICE_MODEL`). Kinds that differ only in case or in `-`, `.`, `_` read the same
 * variable; `createCache` refuses two such kinds in its `ttl` option.
 */
export function ttlEnvName(kind: string): string {
  return ENV_PREFIX + kind.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** What may follow `CACHE_TTL_`: what {@link ttlEnvName} makes of a kind. */
const ENV_SUFFIX_RE = /^[A-Z0-9_]{1,64}$/;

/**
 * Checks a `CACHE_TTL_*` variable's name: one that no kind can map to (`CACHE_TTL_`, `CACHE_TTL_price`) would be
 * ignored silently, so it is an error naming the variable.
 */
export function checkTtlEnvName(name: string): void {
  const suffix = name.slice(ENV_PREFIX.length);
  if (!suffix) throw new ConfigError(name, 'names no kind (e.g. CACHE_TTL_PREDICTION)');
  if (!ENV_SUFFIX_RE.test(suffix)) {
    const kind = suffix.toLowerCase();
    throw new ConfigError(
      name,
      `no kind reads it: a kind's variable is CACHE_TTL_ and the kind upper-cased, with - and . as _ ` +
        `(kind '${kind}' reads ${ttlEnvName(kind)})`,
    );
  }
}

/**
 * Per-kind TTLs: options first, then CACHE_TTL_<KIND>, then `default` (options.ttl.default, then CACHE_TTL_DEFAULT,
 * then 1 h). Everything static is validated in the constructor (ConfigError naming e.g. `ttl.prediction` or
 * `CACHE_TTL_PREDICTION`); env vars are read once, in the constructor, for the kinds named in options plus any
 * CACHE_TTL_* present. resolve() for a static kind is a Map lookup plus optional jitter.
 */
export class TtlRegistry {
  readonly #options = new Map<string, Static>();
  /** By env variable name. */
  readonly #env = new Map<string, Static>();
  readonly #default: Static;
  readonly #jitter: number;
  readonly #kinds = new Map<string, KindEntry>();
  /** Parsed string overrides ('5m' → 300000), so a per-call override is not re-parsed every call. */
  readonly #parsed = new Map<string, number>();

  constructor(options: TtlRegistryOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('ttl', 'expected an options object');
    const { ttl = {}, env = {}, jitter = 0 } = options;
    if (typeof ttl !== 'object' || ttl === null || Array.isArray(ttl)) {
      throw new ConfigError('ttl', 'expected an object of TTLs per kind, e.g. { prediction: "5m", default: "1h" }');
    }
    if (typeof env !== 'object' || env === null) throw new ConfigError('env', 'expected an object of variables');
    if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
      throw new ConfigError('jitter', `expected a fraction from 0 to 1, got ${String(jitter)}`);
    }
    this.#jitter = jitter;

    const byVariable = new Map<string, string>();
    for (const [kind, spec] of Object.entries(ttl)) {
      const setting = `ttl.${kind}`;
      validateSegment(kind, setting);
      const variable = ttlEnvName(kind);
      const other = byVariable.get(variable);
      if (other !== undefined) {
        throw new ConfigError(
          setting,
          `kinds '${other}' and '${kind}' both read ${variable}: rename one (kinds differing only in case, - . _ ` +
            'share one variable)',
        );
      }
      byVariable.set(variable, kind);
      if (spec === undefined) continue;
      this.#options.set(kind, staticOf(TtlRegistry.validate(spec, setting), 'option', setting));
    }
    for (const [name, raw] of Object.entries(env)) {
      if (!name.startsWith(ENV_PREFIX) || raw === undefined || raw.trim() === '') continue;
      checkTtlEnvName(name);
      this.#env.set(name, { spec: raw, ms: parseDuration(raw, name), source: 'env', setting: name });
    }
    this.#default = this.#options.get('default') ?? this.#env.get(ttlEnvName('default')) ?? BUILT_IN_DEFAULT;
    for (const kind of this.#options.keys()) this.#entry(kind);
  }

  /**
   * TTL in ms for one entry: `override` (a per-call/per-decorator TtlSpec) wins over the kind's. Functions are
   * called with (args, result); if one throws or returns something invalid, the kind's static TTL (or the default's,
   * or 1 h) is used and the error is passed to `onError`; never throws. Jitter is applied last. 0 means do not store.
   */
  resolve(
    kind: string,
    override: TtlSpec | undefined,
    args: readonly unknown[],
    result: unknown,
    onError?: (err: unknown) => void,
  ): number {
    const entry = this.#kinds.get(kind) ?? this.#entry(kind);
    let ms: number;
    if (override === undefined) {
      ms = entry.ms ?? this.#call(entry.fn!, entry.setting, entry.fallbackMs, args, result, onError);
    } else if (typeof override === 'function') {
      ms = this.#call(override, 'ttl', entry.fallbackMs, args, result, onError);
    } else {
      ms = this.#parseOverride(override, entry.fallbackMs, onError);
    }
    // Stryker disable next-line ConditionalExpression: ms is whole (parseDuration rounds up): no jitter gives it back
    if (this.#jitter === 0 || ms === 0) return ms;
    return Math.max(1, Math.round(ms * (1 - this.#jitter * Math.random())));
  }

  /** Validates a TtlSpec given at decoration/wrap time (static ones parsed now); throws ConfigError naming `setting`. */
  static validate(spec: unknown, setting: string): TtlSpec {
    if (typeof spec === 'function') return spec as TtlSpec;
    parseDuration(spec, setting);
    return spec as Duration;
  }

  /**
   * What is configured, for info(): per kind { ms, source, dynamic } (ms is null for a dynamic TTL). Lists
   * `default`, the kinds named in options or resolved so far, and, for CACHE_TTL_* variables that match none of
   * those, the variable's lower-cased suffix (its kind as far as the name tells).
   */
  settings(): Record<string, { ms: number | null; source: Source; dynamic: boolean }> {
    const out: Record<string, { ms: number | null; source: Source; dynamic: boolean }> = {};
    const d = this.#default;
    // a default given in options is also among #kinds, reported below; one from the environment or built in is static
    // Stryker disable next-line ConditionalExpression: see above
    out.default = { ms: d.ms, source: d.source, dynamic: d.ms === null };
    // Stryker disable next-line ArrayDeclaration,StringLiteral: CACHE_TTL_DEFAULT as the default is reported alike
    const seenEnv = new Set<string>([ttlEnvName('default')]);
    for (const [kind, entry] of this.#kinds) {
      out[kind] = { ms: entry.ms, source: entry.source, dynamic: entry.ms === null };
      seenEnv.add(ttlEnvName(kind));
    }
    for (const [name, env] of this.#env) {
      if (seenEnv.has(name)) continue;
      out[name.slice(ENV_PREFIX.length).toLowerCase()] = { ms: env.ms, source: 'env', dynamic: false };
    }
    return out;
  }

  #entry(kind: string): KindEntry {
    const own = this.#options.get(kind) ?? this.#env.get(ttlEnvName(kind));
    const chosen = own ?? this.#default;
    const fallbackMs = own?.ms ?? this.#default.ms ?? DEFAULT_TTL_MS;
    const entry: KindEntry = {
      ms: chosen.ms,
      // Stryker disable next-line ConditionalExpression: fn is only called when ms is null
      fn: chosen.ms === null ? (chosen.spec as (args: readonly unknown[], result: unknown) => Duration) : null,
      fallbackMs,
      source: own ? own.source : 'default',
      setting: chosen.setting,
    };
    this.#kinds.set(kind, entry);
    return entry;
  }

  #call(
    fn: (args: readonly unknown[], result: unknown) => Duration,
    setting: string,
    fallbackMs: number,
    args: readonly unknown[],
    result: unknown,
    onError: ((err: unknown) => void) | undefined,
  ): number {
    try {
      return parseDuration(fn(args, result), `${setting} (returned by the TTL function)`);
    } catch (err) {
      report(onError, err);
      return fallbackMs;
    }
  }

  #parseOverride(spec: Duration, fallbackMs: number, onError: ((err: unknown) => void) | undefined): number {
    // Stryker disable next-line ConditionalExpression: only strings are remembered, so looking numbers up finds nothing
    const cached = typeof spec === 'string' ? this.#parsed.get(spec) : undefined;
    // Stryker disable next-line ConditionalExpression: never using what was remembered (false) parses again, alike
    if (cached !== undefined) return cached;
    try {
      const ms = parseDuration(spec, 'ttl');
      // Stryker disable next-line all: what is remembered, and until when, changes speed and memory, not the TTL
      if (typeof spec === 'string' && this.#parsed.size < 1000) this.#parsed.set(spec, ms);
      return ms;
    } catch (err) {
      report(onError, err);
      return fallbackMs;
    }
  }
}

function staticOf(spec: TtlSpec, source: Source, setting: string): Static {
  return { spec, ms: typeof spec === 'function' ? null : parseDuration(spec, setting), source, setting };
}

/** Calls the user's error callback; a callback that throws is ignored (resolve never throws). */
function report(onError: ((err: unknown) => void) | undefined, err: unknown): void {
  try {
    // Stryker disable next-line OptionalChaining: calling a missing callback throws a TypeError, ignored just below
    onError?.(err);
  } catch {
    // ignored on purpose
  }
}

/**
 * A dynamic TTL ending at the next local `hour:minute` (e.g. `ttl: untilNext(3)` for a nightly 03:00 retrain):
 * returns a function giving the seconds from now until then, always > 0 (at exactly 03:00 it is 24 h). Throws
 * ConfigError for an hour outside 0..23 or a minute outside 0..59. `clock` is for tests.
 */
export function untilNext(hour: number, minute = 0, clock: () => number = Date.now): () => number {
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw new ConfigError('untilNext(hour)', 'expected 0..23');
  if (!Number.isInteger(minute) || minute < 0 || minute > 59)
    throw new ConfigError('untilNext(minute)', 'expected 0..59');
  return () => secondsUntil(hour, minute, clock());
}

/**
 * Seconds from now until the next local midnight, a ready dynamic TTL: `ttl: untilMidnight`. Durations given as
 * numbers are seconds, so this returns seconds (0 < s ≤ 86 400, up to 90 000 on a day the clocks go back).
 */
export function untilMidnight(): number {
  return secondsUntil(0, 0, Date.now());
}

function secondsUntil(hour: number, minute: number, now: number): number {
  const d = new Date(now);
  let target = new Date(d.getFullYear(), d.getMonth(), d.getDate(), hour, minute).getTime();
  if (target <= now) target = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1, hour, minute).getTime();
  return (target - now) / 1000;
}
