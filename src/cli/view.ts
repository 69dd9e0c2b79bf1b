/** `infercache stats` and `infercache top`: the fleet's counters per kind, as a table. */
import type { Cache } from '../cache.js';
import type { FleetStats, HotKey } from '../fleet/query.js';
import { millis, money, percent, seconds, table } from './format.js';

/** The fleet statistics as a table per kind, with a total line. */
export function statsText(fleet: FleetStats): string {
  const head = ['kind', 'calls', 'hits', 'misses', 'stale', 'bypass', 'errors', 'hit rate', 'p95 hit', 'p95 miss'];
  const rows = [head, ...Object.entries(fleet.kinds).map(([kind, k]) => row(kind, k)), row('TOTAL', fleet)];
  const reasons = Object.entries(fleet.bypassReasons)
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  return [
    `${fleet.instances} live instance(s), last ${seconds(fleet.windowSeconds)}, hit rate ${percent(fleet.hitRate)}`,
    `time saved ${seconds(fleet.timeSavedSeconds)}, cost saved ${money(fleet.costSaved)}`,
    reasons ? `bypasses: ${reasons}` : 'bypasses: none',
    '',
    table(rows),
  ].join('\n');
}

function row(kind: string, k: FleetStats['kinds'][string]): string[] {
  return [
    kind,
    String(k.total),
    String(k.hits),
    String(k.misses),
    String(k.stale),
    String(k.bypasses),
    String(k.errors + k.failures),
    percent(k.hitRate),
    k.latency.hit.count ? millis(k.latency.hit.p95Ms) : '-',
    k.latency.miss.count ? millis(k.latency.miss.p95Ms) : '-',
  ];
}

/** The `top` screen: the stats table and the hot keys of each kind. */
export async function topText(cache: Cache, window: string, hot: number): Promise<string> {
  const fleet = await cache.fleetStats({ window });
  const lines = [`infercache top — namespace ${cache.settings.namespace} — ${new Date().toISOString()}`, ''];
  lines.push(statsText(fleet), '');
  for (const kind of Object.keys(fleet.kinds)) {
    const keys: HotKey[] = await cache.hotKeys(kind, hot, { window });
    if (keys.length === 0) continue;
    lines.push(`hot keys of ${kind}:`);
    for (const k of keys) lines.push(`  ${String(Math.round(k.calls)).padStart(8)}  ${k.key}`);
  }
  return lines.join('\n');
}
