/** Reads the fleet statistics back: every instance's counters over a window, and the hot keys of a kind. */
import { ConfigError } from '../errors.js';
import { FLEET_DEFAULTS } from '../defaults.js';
import { parseDuration, type Duration } from '../duration.js';
import { emptyHistogram, summarise, LATENCY_BOUNDS_MS, type Histogram, type LatencySummary } from './histogram.js';
import { bucketsIn, countersKey, hotKeysKey, INSTANCE_FIELD, SEP } from './keys.js';
import type { RedisTier } from '../redis/tier.js';
import type { KindStats } from '../stats.js';

/** Counters of one kind (or of all), summed over every instance: those of `stats()`, plus latency. */
export interface FleetKindStats extends Pick<
  KindStats,
  | 'hits'
  | 'misses'
  | 'stale'
  | 'bypasses'
  | 'errors'
  | 'failures'
  | 'joined'
  | 'total'
  | 'timeSavedSeconds'
  | 'costSaved'
  | 'computeSeconds'
  | 'oversize'
  | 'hitRate'
  | 'bypassReasons'
> {
  /** Latency of `wrap` calls served from the cache (`hit`, stale included) and computed (`miss`). */
  latency: { hit: LatencySummary; miss: LatencySummary };
  /** Any other counter an instance reported (from a newer version, e.g. `unstorable`). */
  [counter: string]: unknown;
}

/** One 10 s bucket of the window: totals, for charts. */
export interface FleetPoint {
  /** Start of the bucket (ISO time). */
  at: string;
  hits: number;
  misses: number;
  stale: number;
  bypasses: number;
  errors: number;
  hitRate: number;
  /** Hit rate per kind in this bucket (kinds with lookups only). */
  kinds: Record<string, number>;
}

/** What `cache.fleetStats()` returns. */
export interface FleetStats extends FleetKindStats {
  kinds: Record<string, FleetKindStats>;
  /** Instances that wrote in the window. */
  instances: number;
  instanceIds: string[];
  windowSeconds: number;
  from: string;
  to: string;
  series: FleetPoint[];
}

/** Options of `fleetStats`. */
export interface FleetStatsOptions {
  /** How far back to add up (at most the `fleet.retention` the instances use). @default '1m' */
  window?: Duration;
}

interface Acc {
  counters: Record<string, number>;
  reasons: Record<string, number>;
  hit: Histogram;
  miss: Histogram;
}

const acc = (): Acc => ({ counters: {}, reasons: {}, hit: emptyHistogram(), miss: emptyHistogram() });

/**
 * Validates a window (ConfigError naming `window`), in ms: at most `maxMs`, the retention (older buckets are gone, and
 * each 10 s of window costs one read).
 */
export function windowMs(options: FleetStatsOptions | undefined, maxMs: number): number {
  const ms =
    options?.window === undefined ? Math.min(FLEET_DEFAULTS.windowMs, maxMs) : parseDuration(options.window, 'window');
  if (ms < 1 || ms > maxMs) {
    throw new ConfigError('window', `expected a duration from 1ms to ${maxMs / 1000}s (fleet.retention)`);
  }
  return ms;
}

/** A hash or sorted-set reply (RESP2 flat list, RESP3 map or pairs) as [field, value] pairs. */
export function pairs(reply: unknown): Array<[string, string]> {
  if (reply == null) return [];
  if (reply instanceof Map) return [...reply].map(([k, v]) => [String(k), String(v)]);
  if (Array.isArray(reply)) {
    if (reply.every((r) => Array.isArray(r))) return reply.map((r) => [String(r[0]), String(r[1])]);
    const out: Array<[string, string]> = [];
    for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), String(reply[i + 1])]);
    return out;
  }
  if (typeof reply === 'object') return Object.entries(reply).map(([k, v]) => [k, String(v)]);
  return [];
}

/** Adds every instance's counters over the window before `now` (ms); throws UnavailableError when Redis fails. */
export async function readFleetStats(
  redis: RedisTier,
  namespace: string,
  now: number,
  window: number,
): Promise<FleetStats> {
  const buckets = bucketsIn(now, window);
  const replies = await Promise.all(
    buckets.map((b) => redis.sendOrThrow(countersKey(namespace, b), true, ['HGETALL', countersKey(namespace, b)])),
  );
  const total = acc();
  const kinds = new Map<string, Acc>();
  const instances = new Set<string>();
  const series: FleetPoint[] = [];
  replies.forEach((reply, i) => {
    const point = new Map<string, Acc>();
    for (const [field, raw] of pairs(reply)) {
      if (field.startsWith(INSTANCE_FIELD)) {
        instances.add(field.slice(INSTANCE_FIELD.length));
        continue;
      }
      const cut = field.indexOf(SEP);
      const value = Number(raw);
      if (cut <= 0 || !Number.isFinite(value)) continue;
      const kind = field.slice(0, cut);
      const name = field.slice(cut + 1);
      let k = kinds.get(kind);
      if (!k) kinds.set(kind, (k = acc()));
      let p = point.get(kind);
      if (!p) point.set(kind, (p = acc()));
      for (const a of [k, total, p]) add(a, name, value);
    }
    series.push(pointOf(buckets[i]!, point));
  });
  const out = finish(total) as FleetStats;
  out.kinds = Object.fromEntries([...kinds].sort(([a], [b]) => a.localeCompare(b)).map(([k, a]) => [k, finish(a)]));
  out.instances = instances.size;
  out.instanceIds = [...instances].sort();
  out.windowSeconds = window / 1000;
  out.from = new Date(buckets[0]! * 1000).toISOString();
  out.to = new Date(now).toISOString();
  out.series = series;
  return out;
}

function add(a: Acc, name: string, value: number): void {
  if (name.startsWith('bypass:')) {
    const reason = name.slice(7);
    a.reasons[reason] = (a.reasons[reason] ?? 0) + value;
    return;
  }
  const h = /^(hit|miss)_ms(?::(\d+)|_sum)$/.exec(name);
  if (h) {
    const hist = h[1] === 'hit' ? a.hit : a.miss;
    if (h[2] === undefined) hist.sumMs += value;
    else if (Number(h[2]) <= LATENCY_BOUNDS_MS.length) hist.counts[Number(h[2])]! += value;
    return;
  }
  a.counters[name] = (a.counters[name] ?? 0) + value;
}

const BASE = [
  'hits',
  'misses',
  'stale',
  'bypasses',
  'errors',
  'failures',
  'joined',
  'total',
  'timeSavedSeconds',
  'costSaved',
  'computeSeconds',
  'oversize',
] as const;

function finish(a: Acc): FleetKindStats {
  const out: Record<string, unknown> = {};
  for (const name of BASE) out[name] = 0;
  for (const [name, value] of Object.entries(a.counters)) out[name] = round(value);
  const c = out as unknown as FleetKindStats;
  c.hitRate = rate(c.hits, c.stale, c.misses);
  c.bypassReasons = a.reasons;
  c.latency = { hit: summarise(a.hit), miss: summarise(a.miss) };
  return c;
}

function pointOf(start: number, kinds: Map<string, Acc>): FleetPoint {
  const sum = (name: string) => [...kinds.values()].reduce((n, a) => n + (a.counters[name] ?? 0), 0);
  const point: FleetPoint = {
    at: new Date(start * 1000).toISOString(),
    hits: sum('hits'),
    misses: sum('misses'),
    stale: sum('stale'),
    bypasses: sum('bypasses'),
    errors: sum('errors'),
    hitRate: 0,
    kinds: {},
  };
  point.hitRate = rate(point.hits, point.stale, point.misses);
  for (const [kind, a] of kinds) {
    const looked = (a.counters.hits ?? 0) + (a.counters.stale ?? 0) + (a.counters.misses ?? 0);
    if (looked > 0) point.kinds[kind] = rate(a.counters.hits ?? 0, a.counters.stale ?? 0, a.counters.misses ?? 0);
  }
  return point;
}

function rate(hits: number, stale: number, misses: number): number {
  const looked = hits + stale + misses;
  return looked === 0 ? 0 : (hits + stale) / looked;
}

/** Float sums drift (0.1 + 0.2): keep 9 decimals. */
function round(n: number): number {
  return Math.round(n * 1e9) / 1e9;
}

/** One hot key: its label and its estimated number of calls in the window, across the fleet. */
export interface HotKey {
  key: string;
  calls: number;
}

/** The `n` most called keys of `kind` over the window before `now`, merged across instances and buckets. */
export async function readHotKeys(
  redis: RedisTier,
  namespace: string,
  kind: string,
  n: number,
  now: number,
  window: number,
): Promise<HotKey[]> {
  const buckets = bucketsIn(now, window);
  const replies = await Promise.all(
    buckets.map((b) => {
      const key = hotKeysKey(namespace, b, kind);
      return redis.sendOrThrow(key, true, ['ZREVRANGE', key, '0', '199', 'WITHSCORES']);
    }),
  );
  const merged = new Map<string, number>();
  for (const reply of replies) {
    for (const [label, score] of pairs(reply)) merged.set(label, (merged.get(label) ?? 0) + Number(score));
  }
  return [...merged]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([key, calls]) => ({ key, calls }));
}
