/** Options of the fleet statistics (`createCache({ fleet })`), validated once (defaults in src/defaults.ts). */
import { ConfigError } from '../errors.js';
import { parseDuration, type Duration } from '../duration.js';
import { FLEET_DEFAULTS } from '../defaults.js';

/** How each instance adds its counters to Redis for `fleetStats()` and `hotKeys()`. */
export interface FleetOptions {
  /** Add this instance's counters to Redis. @default true (with Redis) */
  enabled?: boolean;
  /** How often the counters are written (one pipelined write per interval, off the request path). @default '5s' */
  interval?: Duration;
  /** How long the data stays in Redis: the longest window `fleetStats` can cover. @default '1h' */
  retention?: Duration;
  /**
   * One call in `sample` (a power of two) is timed for the latency histograms and counted for the hot keys; their
   * counts are scaled back up when written. 1 samples every call. @default 8
   */
  sample?: number;
  /** Top keys tracked per kind and instance between two writes; `false` turns hot keys off. @default { size: 64 } */
  hotKeys?: false | { size?: number };
  /** @internal Tests: the clock (ms since the epoch) the buckets are taken from. @default Date.now */
  clock?: () => number;
}

/** Fleet options after validation. */
export interface FleetSettings {
  interval: number;
  retention: number;
  /** Keys tracked per kind (0: hot keys off). */
  hotKeys: number;
  /** One call in `sample` is timed and counted for hot keys (a power of two). */
  sample: number;
  clock: () => number;
}

/** Width of one time bucket, in ms: counters of every instance for the same 10 s land in the same hash. */
export const BUCKET_MS = 10_000;

/** Validates `fleet` (ConfigError naming `fleet.<option>`); undefined when fleet statistics are off. */
export function resolveFleet(value: unknown, redis: boolean): FleetSettings | undefined {
  if (value === false || !redis) return undefined;
  const o = (value === undefined || value === true ? {} : value) as FleetOptions;
  if (typeof o !== 'object' || o === null) throw new ConfigError('fleet', 'expected true, false or an object');
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean') {
    throw new ConfigError('fleet.enabled', 'expected true or false');
  }
  const interval = o.interval === undefined ? FLEET_DEFAULTS.intervalMs : parseDuration(o.interval, 'fleet.interval');
  if (interval < 100) throw new ConfigError('fleet.interval', 'expected at least 100ms');
  const retention =
    o.retention === undefined ? FLEET_DEFAULTS.retentionMs : parseDuration(o.retention, 'fleet.retention');
  if (retention < BUCKET_MS) throw new ConfigError('fleet.retention', `expected at least ${BUCKET_MS / 1000}s`);
  let hotKeys: number = FLEET_DEFAULTS.hotKeys;
  if (o.hotKeys === false) hotKeys = 0;
  else if (o.hotKeys !== undefined) {
    if (typeof o.hotKeys !== 'object' || o.hotKeys === null) {
      throw new ConfigError('fleet.hotKeys', 'expected false or { size }');
    }
    hotKeys = o.hotKeys.size ?? hotKeys;
    if (!Number.isInteger(hotKeys) || hotKeys < 1 || hotKeys > 1000) {
      throw new ConfigError('fleet.hotKeys.size', 'expected an integer from 1 to 1000');
    }
  }
  const sample = o.sample ?? FLEET_DEFAULTS.sample;
  if (!Number.isInteger(sample) || sample < 1 || sample > 1024 || (sample & (sample - 1)) !== 0) {
    throw new ConfigError('fleet.sample', 'expected a power of two from 1 to 1024');
  }
  if (o.clock !== undefined && typeof o.clock !== 'function')
    throw new ConfigError('fleet.clock', 'expected a function');
  if (o.enabled === false) return undefined;
  return { interval, retention, hotKeys, sample, clock: o.clock ?? Date.now };
}
