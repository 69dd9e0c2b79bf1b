/**
 * Freshness without stampedes: the options that decide what an expired entry is good for (grace on failure, soft and
 * hard timeouts of a recomputation, probabilistic early refresh) and their pure rules. The loader applies them.
 */
import { ComputeTimeoutError, ConfigError } from './errors.js';
import { parseDuration } from './duration.js';
import { DEFAULTS } from './defaults.js';
import type { CacheRecord } from './record.js';
import type { EntryOptions } from './options.js';

/** Why an expired value was served instead of a fresh one (besides stale-while-revalidate). */
export type GraceReason = 'error' | 'backoff' | 'soft-timeout' | 'hard-timeout';

/** Validated `timeout` option, in milliseconds (`undefined`: no such timeout). */
export interface ComputeTimeouts {
  soft: number | undefined;
  hard: number | undefined;
}

/** Validated `earlyRefresh` option. */
export interface EarlyRefresh {
  beta: number;
  random: () => number;
}

/** The freshness part of an entry's options, validated. */
export interface FreshnessSettings {
  /** How long after expiry the old value may stand in for a failed or slow recomputation (ms; 0: never). */
  grace: number;
  /** After a graced failure, how long the expired value is served without trying to recompute (ms). */
  backoff: number;
  timeout: ComputeTimeouts | undefined;
  early: EarlyRefresh | undefined;
}

/** Re-exported for the loader; the class lives in errors.ts with every other error. */
export { ComputeTimeoutError };

function positive(value: unknown, setting: string): number {
  const ms = parseDuration(value, setting);
  if (!(ms > 0)) throw new ConfigError(setting, 'must be greater than 0');
  return ms;
}

/** Validates `grace`, `timeout` and `earlyRefresh`; `where` prefixes setting names in errors. */
export function freshnessOptions(options: EntryOptions<any>, where: string): FreshnessSettings {
  const { grace, backoff } = graceOption(options.grace, `${where}.grace`);
  let timeout: ComputeTimeouts | undefined;
  const t = options.timeout;
  if (t !== undefined) {
    if (typeof t !== 'object' || t === null) throw new ConfigError(`${where}.timeout`, 'expected { soft?, hard? }');
    const soft = t.soft === undefined ? undefined : positive(t.soft, `${where}.timeout.soft`);
    const hard = t.hard === undefined ? undefined : positive(t.hard, `${where}.timeout.hard`);
    if (soft !== undefined && grace === 0)
      throw new ConfigError(
        `${where}.timeout.soft`,
        'needs grace: the expired value is kept only for the grace period',
      );
    if (soft !== undefined && hard !== undefined && hard <= soft)
      throw new ConfigError(`${where}.timeout.hard`, 'must be longer than timeout.soft');
    if (soft !== undefined || hard !== undefined) timeout = { soft, hard };
  }
  let early: EarlyRefresh | undefined;
  const e = options.earlyRefresh;
  if (e === true) early = { beta: DEFAULTS.earlyRefreshBeta, random: Math.random };
  else if (typeof e === 'object' && e !== null) {
    const beta = e.beta ?? DEFAULTS.earlyRefreshBeta;
    if (typeof beta !== 'number' || !(beta > 0) || !Number.isFinite(beta))
      throw new ConfigError(`${where}.earlyRefresh.beta`, 'expected a finite number greater than 0');
    if (e.random !== undefined && typeof e.random !== 'function')
      throw new ConfigError(`${where}.earlyRefresh.random`, 'expected a function');
    early = { beta, random: e.random ?? Math.random };
  } else if (e !== undefined && e !== false)
    throw new ConfigError(`${where}.earlyRefresh`, 'expected a boolean or { beta }');
  return { grace, backoff, timeout, early };
}

/** The `grace` option: a duration, or `{ duration, backoff }`. */
function graceOption(value: unknown, setting: string): { grace: number; backoff: number } {
  if (value === undefined) return { grace: 0, backoff: 0 };
  if (typeof value !== 'object' || value === null)
    return { grace: parseDuration(value, setting), backoff: DEFAULTS.graceBackoffMs };
  const { duration, backoff } = value as { duration?: unknown; backoff?: unknown };
  return {
    grace: parseDuration(duration, `${setting}.duration`),
    backoff: backoff === undefined ? DEFAULTS.graceBackoffMs : parseDuration(backoff, `${setting}.backoff`),
  };
}

/**
 * The XFetch rule (Vattani, Chierichetti, Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015):
 * refresh a fresh entry now if `now - delta * beta * ln(random()) >= expiry`, where delta is the time its last
 * computation took (`record.computeMs`). The chance rises as expiry nears, and sooner for slower computations.
 */
export function refreshEarly(record: CacheRecord, now: number, early: EarlyRefresh): boolean {
  return now - record.computeMs * early.beta * Math.log(early.random()) >= record.freshUntil;
}

/**
 * Whether an expired record may still be served in place of a failed or slow recomputation at `now`: a value (not
 * a cached error) within `grace` of its expiry and still kept.
 */
export function inGrace(record: CacheRecord, now: number, grace: number): boolean {
  return grace > 0 && record.state === 'value' && now <= record.staleUntil && now - record.freshUntil <= grace;
}

/** Sentinel of {@link within}: the soft timeout passed first. */
export const SOFT = Symbol('soft timeout');

/**
 * Waits for `computing` up to the timeouts: resolves `SOFT` after `soft` (when given), rejects with
 * ComputeTimeoutError after `hard`. The computation is not cancelled; its own failure is left to its other listeners.
 */
export function within<T>(
  computing: Promise<T>,
  timeouts: ComputeTimeouts,
  kind: string,
  soft: boolean,
): Promise<T | typeof SOFT> {
  const timers: NodeJS.Timeout[] = [];
  const race = new Promise<T | typeof SOFT>((resolve, reject) => {
    if (soft && timeouts.soft !== undefined) timers.push(setTimeout(() => resolve(SOFT), timeouts.soft));
    const hard = timeouts.hard;
    if (hard !== undefined) timers.push(setTimeout(() => reject(new ComputeTimeoutError(kind, hard)), hard));
    computing.then(resolve, reject);
  });
  return race.finally(() => timers.forEach(clearTimeout));
}
