import { ConfigError } from './errors.js';

/** A duration: seconds as a number, or a string like '500ms', '30s', '5m', '6h', '1d' (also '1w'). */
export type Duration = number | string;

/** Milliseconds per unit suffix; a bare number (or numeric string) is seconds. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `12`, `1.5`, `.5`, each with an optional unit; surrounding whitespace is trimmed first. */
const DURATION_RE = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d|w)?$/;

const ACCEPTED = "a number of seconds >= 0 or a string like '500ms', '30s', '5m', '6h', '1d', '1w'";

/**
 * Parses a duration to whole milliseconds. Throws ConfigError naming `setting` for anything else (negative, NaN,
 * Infinity, '', '5x', '1.5.5m', whitespace-only, non-string/number, or more than Number.MAX_SAFE_INTEGER ms).
 * 0 is allowed (means "do not cache"). Fractions are allowed ('1.5h', 0.5) and rounded to the nearest millisecond,
 * but a positive duration never rounds down to 0. Units are lower-case; surrounding whitespace is ignored.
 */
export function parseDuration(value: unknown, setting: string): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value * 1000;
  } else if (typeof value === 'string') {
    const match = DURATION_RE.exec(value.trim());
    if (!match) throw new ConfigError(setting, `expected ${ACCEPTED}, got ${JSON.stringify(value)}`);
    ms = Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
  } else {
    throw new ConfigError(setting, `expected ${ACCEPTED}, got ${describe(value)}`);
  }
  if (!(ms >= 0) || ms > Number.MAX_SAFE_INTEGER) {
    throw new ConfigError(setting, `expected ${ACCEPTED}, got ${describe(value)}`);
  }
  const rounded = Math.round(ms);
  if (rounded === 0) return ms > 0 ? 1 : 0; // also turns -0 into 0
  return rounded;
}

/** Longest delay a Node.js timer takes (about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Parses a timeout: a duration greater than 0 and at most {@link MAX_TIMER_MS} (a longer timer would fire at once).
 * Throws ConfigError naming `setting`.
 */
export function parseTimeout(value: unknown, setting: string): number {
  const ms = parseDuration(value, setting);
  if (ms === 0) throw new ConfigError(setting, 'must be greater than 0');
  if (ms > MAX_TIMER_MS) throw new ConfigError(setting, 'must be at most 24 days (the longest timer Node.js allows)');
  return ms;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return typeof value;
}
