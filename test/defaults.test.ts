/**
 * The defaults of src/defaults.ts are what the options' JSDoc `@default` says: the one place a default lives and the
 * documentation of it cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import {
  DEFAULTS,
  ENDPOINT_DEFAULTS,
  FLEET_DEFAULTS,
  LLM_DEFAULTS,
  ROUTE_DEFAULTS,
  WARM_UP_DEFAULTS,
} from '../src/defaults.js';
import { parseDuration } from '../src/duration.js';

/** The `@default` text of `property` in `interface name` of `file`. */
function documented(file: string, name: string, property: string): string {
  const source = readFileSync(file, 'utf8');
  const start = source.search(new RegExp(`interface ${name}\\b`));
  expect(start, `interface ${name} in ${file}`).to.be.greaterThan(-1);
  const body = source.slice(start, source.indexOf('\n}', start));
  const found = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*(?:readonly )?${property}\\?:`).exec(body);
  const tag = found && /@default\s+([\s\S]*)$/.exec(found[1]!);
  expect(tag, `@default of ${name}.${property}`).to.not.equal(null);
  return tag![1]!.replace(/\s*\*\s*/g, ' ').trim();
}

const MiB = 1024 * 1024;
/** A documented default read as what the code holds: a duration in ms, a size, a number, a string or an array. */
function value(text: string, as: 'ms' | 'plain'): unknown {
  const first = /^('[^']*'|\[[^\]]*\]|\{[^}]*\}|[\d.]+ MiB|[\w.]+)/.exec(text)![1]!;
  if (as === 'ms') return parseDuration(first.replace(/'/g, ''), 'doc');
  if (first.endsWith(' MiB')) return Number(first.slice(0, -4)) * MiB;
  if (first.startsWith("'")) return first.slice(1, -1);
  if (first.startsWith('['))
    return first
      .slice(1, -1)
      .split(',')
      .map((s) => s.trim().replace(/'/g, ''));
  if (first === 'true' || first === 'false') return first === 'true';
  return Number(first);
}

/** [file, interface, property, unit, the default in src/defaults.ts] */
const CASES: Array<[string, string, string, 'ms' | 'plain', unknown]> = [
  ['src/options.ts', 'CacheOptions', 'namespace', 'plain', DEFAULTS.namespace],
  ['src/options.ts', 'CacheOptions', 'version', 'plain', DEFAULTS.version],
  ['src/options.ts', 'CacheOptions', 'operationTimeout', 'ms', DEFAULTS.operationTimeoutMs],
  ['src/options.ts', 'CacheOptions', 'compressThreshold', 'plain', DEFAULTS.compressThreshold],
  ['src/options.ts', 'CacheOptions', 'maxEntryBytes', 'plain', DEFAULTS.maxEntryBytes],
  ['src/options.ts', 'CacheOptions', 'bus', 'plain', DEFAULTS.bus],
  ['src/options.ts', 'RedisOptions', 'connectTimeout', 'ms', DEFAULTS.connectTimeoutMs],
  ['src/options.ts', 'MemoryOptions', 'maxEntries', 'plain', DEFAULTS.memory.maxEntries],
  ['src/options.ts', 'MemoryOptions', 'maxBytes', 'plain', DEFAULTS.memory.maxBytes],
  ['src/options.ts', 'MemoryOptions', 'busDownTtl', 'ms', DEFAULTS.busDownTtlMs],
  ['src/options.ts', 'BreakerOptions', 'threshold', 'plain', DEFAULTS.breaker.threshold],
  ['src/options.ts', 'BreakerOptions', 'cooldown', 'ms', DEFAULTS.breaker.cooldownMs],
  ['src/options.ts', 'BreakerOptions', 'maxCooldown', 'ms', DEFAULTS.breaker.maxCooldownMs],
  ['src/codec.ts', 'CodecOptions', 'maxDecompressedBytes', 'plain', DEFAULTS.maxDecompressedBytes],
  ['src/warmup.ts', 'WarmUpOptions', 'concurrency', 'plain', WARM_UP_DEFAULTS.concurrency],
  ['src/rewarm.ts', 'RewarmOptions', 'concurrency', 'plain', WARM_UP_DEFAULTS.rewarmConcurrency],
  ['src/http/options.ts', 'RouteCacheOptions', 'kind', 'plain', ROUTE_DEFAULTS.kind],
  ['src/http/options.ts', 'RouteCacheOptions', 'methods', 'plain', ROUTE_DEFAULTS.methods],
  ['src/http/endpoints.ts', 'EndpointsOptions', 'prefix', 'plain', ENDPOINT_DEFAULTS.prefix],
  ['src/http/endpoints.ts', 'EndpointsOptions', 'warmUpConcurrency', 'plain', ENDPOINT_DEFAULTS.warmUpConcurrency],
  ['src/fleet/options.ts', 'FleetOptions', 'interval', 'ms', FLEET_DEFAULTS.intervalMs],
  ['src/fleet/options.ts', 'FleetOptions', 'retention', 'ms', FLEET_DEFAULTS.retentionMs],
  ['src/fleet/options.ts', 'FleetOptions', 'sample', 'plain', FLEET_DEFAULTS.sample],
  ['src/fleet/query.ts', 'FleetStatsOptions', 'window', 'ms', FLEET_DEFAULTS.windowMs],
  ['src/llm/options.ts', 'LlmCacheOptions', 'kind', 'plain', LLM_DEFAULTS.kind],
  ['src/llm/options.ts', 'LlmCacheOptions', 'temperature', 'plain', LLM_DEFAULTS.temperature],
  ['src/llm/options.ts', 'LlmCacheOptions', 'allowTruncated', 'plain', LLM_DEFAULTS.allowTruncated],
  ['src/llm/options.ts', 'LlmCacheOptions', 'pace', 'ms', LLM_DEFAULTS.pace],
  ['plugins/llm-proxy.ts', 'LlmProxyOptions', 'prefix', 'plain', LLM_DEFAULTS.proxyPrefix],
  ['plugins/llm-proxy.ts', 'LlmProxyOptions', 'bodyLimit', 'plain', LLM_DEFAULTS.proxyBodyLimit],
];

describe('defaults', () => {
  it('each option documents the default that src/defaults.ts holds', () => {
    for (const [file, name, property, as, expected] of CASES) {
      expect(value(documented(file, name, property), as), `${name}.${property}`).to.deep.equal(expected);
    }
  });

  it('the hot keys, TTL and fleet defaults are documented as held', () => {
    expect(documented('src/fleet/options.ts', 'FleetOptions', 'hotKeys')).to.equal(
      `{ size: ${FLEET_DEFAULTS.hotKeys} }`,
    );
    expect(parseDuration(/'(\w+)'/.exec(documented('src/options.ts', 'CacheOptions', 'ttl'))![1]!, 'doc')).to.equal(
      DEFAULTS.ttlMs,
    );
  });
});
