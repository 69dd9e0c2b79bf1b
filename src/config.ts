/** Validates `createCache` options once and fills in their defaults (which live in src/defaults.ts). */
import { ConfigError } from './errors.js';
import { DEFAULTS } from './defaults.js';
import { parseDuration, parseTimeout } from './duration.js';
import { parseRedisUrl } from './redis/url.js';
import { checkClient, redactUrl } from './redis/connection.js';
import { validateSegment } from './keys.js';
import { TtlRegistry } from './ttl.js';
import { parseEncryptionKey } from './codec.js';
import { didYouMean } from './suggest.js';
import {
  BREAKER_OPTIONS,
  CACHE_OPTIONS,
  CLUSTER_OPTIONS,
  MEMORY_OPTIONS,
  REDIS_OPTIONS,
  TELEMETRY_OPTIONS,
  type CacheOptions,
  type Logger,
  type RedisOptions,
} from './options.js';
import type { TelemetrySettings } from './telemetry/telemetry.js';
import type { MemoryBounds } from './memory.js';
import { resolveFleet, type FleetSettings } from './fleet/options.js';

/** Options after validation (internal: they hold the Redis options and the encryption key as given). */
export interface Settings {
  enabled: boolean;
  namespace: string;
  version: string;
  hashKeys: boolean;
  strict: boolean;
  operationTimeout: number;
  connectTimeout: number;
  socketTimeout: number | undefined;
  compressThreshold: number;
  maxEntryBytes: number;
  encryptionKey: Buffer | undefined;
  memory: MemoryBounds;
  breaker: { threshold: number; cooldown: number; maxCooldown: number };
  ttl: TtlRegistry;
  redis: RedisOptions | undefined;
  logger: Logger | undefined;
  secrets: string[];
  /** Publish and receive memory-tier invalidations (only with Redis). */
  bus: boolean;
  /** While the bus is down, longest time a memory entry is served after it was stored (ms). */
  busDownTtl: number;
  telemetry: TelemetrySettings;
  /** Cost of one computation per kind (a null-prototype record). */
  costPerCall: Readonly<Record<string, number>>;
  /** Fleet statistics (undefined: off, or no Redis). */
  fleet: FleetSettings | undefined;
}

/**
 * What `cache.settings` shows: the validated settings with no secret in them, safe to log, inspect or serialise.
 * The Redis options (passwords, TLS keys, a client object) are summed up as a mode and a URL without its password,
 * and the encryption key as a flag.
 */
export interface CacheSettings extends Readonly<Omit<Settings, 'redis' | 'encryptionKey' | 'secrets'>> {
  /** How Redis is reached; the URL (of the first root node, for a cluster) with its password as `***`. */
  readonly redis: { readonly mode: 'url' | 'client' | 'cluster'; readonly url: string | undefined } | undefined;
  /** Whether values are encrypted at rest (`encryptionKey`); the key itself is never shown. */
  readonly encrypted: boolean;
}

/** The public, secret-free view of `settings` (frozen). */
export function publicSettings(settings: Settings): CacheSettings {
  const { redis, encryptionKey, secrets: _secrets, ...rest } = settings;
  const url = redis?.url ?? redis?.cluster?.rootNodes[0]?.url;
  const mode = redis?.cluster ? 'cluster' : redis?.client ? 'client' : 'url';
  return Object.freeze({
    ...rest,
    redis: redis && Object.freeze({ mode, url: url === undefined ? undefined : redactUrl(url) }),
    encrypted: encryptionKey !== undefined,
  });
}

/**
 * Throws a ConfigError naming the first own key of `value` that `known` does not list, with the closest known name:
 * an option that is misspelt must not be ignored. `path` is the option holding them ('' at the top level).
 */
export function rejectUnknownOptions(value: object, known: Readonly<Record<string, true>>, path: string): void {
  for (const name of Object.keys(value)) {
    if (Object.hasOwn(known, name)) continue;
    throw new ConfigError(
      path ? `${path}.${name}` : name,
      `is not ${path ? `a ${path}` : 'an'} option${didYouMean(name, Object.keys(known))}`,
    );
  }
}

/**
 * Parses `operationTimeout` to ms: a timeout (> 0) of at most 10 s, naming `setting`. A number is seconds, so a
 * number above 10 is refused with the milliseconds it probably meant.
 */
export function operationTimeoutMs(value: unknown, setting: string): number {
  const ms = parseTimeout(value, setting);
  if (ms > DEFAULTS.maxOperationTimeoutMs) {
    const hint = typeof value === 'number' ? ` (a number is seconds: did you mean '${value}ms'?)` : '';
    throw new ConfigError(
      setting,
      `must be at most 10s, got ${JSON.stringify(value)}${hint}: a Redis operation on the request path should ` +
        'give up long before the computation it saves',
    );
  }
  return ms;
}

const consoleLogger: Logger = {
  warn: (message) => console.warn(message),
  info: () => {},
};

function positiveInt(value: unknown, fallback: number, setting: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(setting, `expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function bool(value: unknown, fallback: boolean, setting: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new ConfigError(setting, `expected true or false, got ${JSON.stringify(value)}`);
  return value;
}

function durationMs(value: unknown, fallback: number | undefined, setting: string): number | undefined {
  return value === undefined ? fallback : parseDuration(value, setting);
}

function timeoutMs(value: unknown, fallback: number | undefined, setting: string): number | undefined {
  return value === undefined ? fallback : parseTimeout(value, setting);
}

/** Validates the memory-tier bounds. */
export function memoryBounds(value: unknown, setting: string): MemoryBounds {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new ConfigError(setting, 'expected an object { maxEntries, maxBytes, maxTtl }');
  }
  const m = (value ?? {}) as Record<string, unknown>;
  rejectUnknownOptions(m, MEMORY_OPTIONS, setting);
  return {
    maxEntries: positiveInt(m.maxEntries, DEFAULTS.memory.maxEntries, `${setting}.maxEntries`),
    maxBytes: positiveInt(m.maxBytes, DEFAULTS.memory.maxBytes, `${setting}.maxBytes`),
    maxTtl: durationMs(m.maxTtl, undefined, `${setting}.maxTtl`),
  };
}

function redisOptions(value: unknown): RedisOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'object' || value === null)
    throw new ConfigError('redis', 'expected { url } | { client } | { cluster }');
  const r = value as RedisOptions;
  rejectUnknownOptions(r, REDIS_OPTIONS, 'redis');
  const sources = [r.url !== undefined, r.client !== undefined, r.cluster !== undefined].filter(Boolean).length;
  if (sources > 1) throw new ConfigError('redis', 'give only one of url, client, cluster');
  const fromUrl = r.url === undefined ? undefined : parseRedisUrl(r.url, 'redis.url');
  if (r.client !== undefined) checkClient(r.client, 'redis.client');
  if (r.cluster !== undefined && (typeof r.cluster !== 'object' || r.cluster === null)) {
    throw new ConfigError('redis.cluster', 'expected { rootNodes, defaults }');
  }
  if (r.cluster !== undefined) rejectUnknownOptions(r.cluster, CLUSTER_OPTIONS, 'redis.cluster');
  if (r.cluster !== undefined && (!Array.isArray(r.cluster.rootNodes) || r.cluster.rootNodes.length === 0)) {
    throw new ConfigError('redis.cluster.rootNodes', 'expected a non-empty array of { url }');
  }
  r.cluster?.rootNodes.forEach((node, i) => {
    if (node?.url === undefined) return; // node-redis also takes { socket: { host, port } }
    const setting = `redis.cluster.rootNodes[${i}].url`;
    if (parseRedisUrl(node.url, setting).db) throw new ConfigError(setting, 'Redis Cluster has only database 0');
  });
  if (r.password !== undefined && typeof r.password !== 'string') {
    throw new ConfigError('redis.password', 'expected a string');
  }
  if (r.password && fromUrl?.password !== undefined) {
    throw new ConfigError('redis.password', 'the URL has a password already: give it in one place only');
  }
  if (r.db !== undefined && (!Number.isInteger(r.db) || r.db < 0)) {
    throw new ConfigError('redis.db', 'expected a non-negative integer');
  }
  if (r.db !== undefined && fromUrl?.db !== undefined) {
    throw new ConfigError('redis.db', 'the URL has a database path already: give it in one place only');
  }
  const tls = (r.clientOptions?.socket as { tls?: unknown } | undefined)?.tls;
  if (fromUrl && tls !== undefined && tls !== fromUrl.tls) {
    throw new ConfigError(
      'redis.clientOptions.socket.tls',
      `is ${String(tls)} but the URL is ${fromUrl.tls ? 'rediss://' : 'redis://'}: let the URL's scheme say it`,
    );
  }
  return r;
}

/** Every password the options can carry (some with a username): scrubbed from every message, log line and report. */
function secretsOf(redis: RedisOptions | undefined): string[] {
  if (!redis) return [];
  const secrets = new Set<string>();
  const add = (password: unknown) => {
    if (typeof password === 'string' && password) secrets.add(password);
  };
  const addUrl = (url: unknown) => {
    if (typeof url !== 'string') return;
    try {
      const raw = new URL(url).password;
      add(raw); // as written (percent-encoded) and as sent
      add(decodeURIComponent(raw));
    } catch {
      // validated above, or not ours to validate (a client's own options)
    }
  };
  /** node-redis client options: `password`, `url`, and the same under `defaults` for a cluster. */
  const addClientOptions = (options: unknown) => {
    if (typeof options !== 'object' || options === null) return;
    const o = options as { password?: unknown; url?: unknown; defaults?: unknown; rootNodes?: unknown };
    add(o.password);
    addUrl(o.url);
    if (o.defaults) addClientOptions(o.defaults);
    if (Array.isArray(o.rootNodes)) for (const node of o.rootNodes) addClientOptions(node);
  };
  add(redis.password);
  addUrl(redis.url);
  addClientOptions(redis.clientOptions);
  addClientOptions(redis.cluster);
  // a client or cluster the user built: node-redis keeps its options (`options`; a cluster's are in `_options`)
  const given = redis.client as { options?: unknown; _options?: unknown } | undefined;
  addClientOptions(given?.options ?? given?._options);
  return [...secrets];
}

function telemetryOptions(value: unknown): TelemetrySettings {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new ConfigError(
      'telemetry',
      'expected an object { enabled, tracerProvider, meterProvider, recordKeys, traceMemoryHits, traceRedisHits }',
    );
  }
  const t = (value ?? {}) as Record<string, unknown>;
  rejectUnknownOptions(t, TELEMETRY_OPTIONS, 'telemetry');
  const provider = (p: unknown, name: string, method: string) => {
    if (p !== undefined && typeof (p as Record<string, unknown> | null)?.[method] !== 'function') {
      throw new ConfigError(`telemetry.${name}`, `expected an OpenTelemetry ${name} (with ${method}())`);
    }
    return p as never;
  };
  const recordKeys = t.recordKeys ?? false;
  if (recordKeys !== true && recordKeys !== false && recordKeys !== 'hash') {
    throw new ConfigError('telemetry.recordKeys', "expected true, false or 'hash'");
  }
  const share = (name: 'traceMemoryHits' | 'traceRedisHits'): number => {
    const traced = t[name] ?? false;
    if (typeof traced !== 'boolean' && (typeof traced !== 'number' || !(traced >= 0 && traced <= 1))) {
      throw new ConfigError(`telemetry.${name}`, 'expected true, false or a share between 0 and 1');
    }
    return traced === true ? 1 : traced === false ? 0 : traced;
  };
  return {
    enabled: bool(t.enabled, true, 'telemetry.enabled'),
    tracerProvider: provider(t.tracerProvider, 'tracerProvider', 'getTracer'),
    meterProvider: provider(t.meterProvider, 'meterProvider', 'getMeter'),
    recordKeys: recordKeys !== false,
    traceMemoryHits: share('traceMemoryHits'),
    traceRedisHits: share('traceRedisHits'),
  };
}

/** Checks `ttlEnv`: `CACHE_TTL_<KIND>` variables only, each a string (the TTL registry parses them). */
function ttlEnv(value: unknown): Record<string, string | undefined> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('ttlEnv', 'expected { CACHE_TTL_<KIND>: duration }, as configFromEnv() returns it');
  }
  for (const [name, raw] of Object.entries(value)) {
    if (!name.startsWith('CACHE_TTL_')) {
      throw new ConfigError(`ttlEnv.${name}`, 'only CACHE_TTL_<KIND> variables are read from ttlEnv');
    }
    if (raw !== undefined && typeof raw !== 'string')
      throw new ConfigError(name, `expected a string, got ${typeof raw}`);
  }
  return value as Record<string, string | undefined>;
}

function costs(value: unknown): Readonly<Record<string, number>> {
  const out = Object.create(null) as Record<string, number>;
  if (value === undefined) return out;
  if (typeof value !== 'object' || value === null) throw new ConfigError('costPerCall', 'expected { kind: number }');
  for (const [kind, cost] of Object.entries(value)) {
    if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
      throw new ConfigError(`costPerCall.${kind}`, `expected a non-negative number, got ${JSON.stringify(cost)}`);
    }
    out[kind] = cost;
  }
  return out;
}

/** Validates options; throws a ConfigError (a TypeError) naming the first bad one. */
export function resolveSettings(options: CacheOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'expected an object');
  rejectUnknownOptions(options, CACHE_OPTIONS, '');
  const redis = redisOptions(options.redis);
  const jitter = options.ttlJitter ?? 0;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) throw new ConfigError('ttlJitter', 'expected 0..1');
  if (options.ttl !== undefined && (typeof options.ttl !== 'object' || options.ttl === null)) {
    throw new ConfigError('ttl', 'expected an object of durations per kind');
  }
  if (options.breaker !== undefined && (typeof options.breaker !== 'object' || options.breaker === null)) {
    throw new ConfigError('breaker', 'expected an object { threshold, cooldown, maxCooldown }');
  }
  const breaker = (options.breaker ?? {}) as Record<string, unknown>;
  rejectUnknownOptions(breaker, BREAKER_OPTIONS, 'breaker');
  const logger = options.logger === false ? undefined : (options.logger ?? consoleLogger);
  if (logger && typeof logger.warn !== 'function') throw new ConfigError('logger', 'expected { warn(message) }');
  const operationTimeout =
    options.operationTimeout === undefined
      ? DEFAULTS.operationTimeoutMs
      : operationTimeoutMs(options.operationTimeout, 'operationTimeout');
  return {
    enabled: bool(options.enabled, true, 'enabled'),
    namespace: validateSegment(options.namespace ?? DEFAULTS.namespace, 'namespace'),
    version: validateSegment(options.version ?? DEFAULTS.version, 'version'),
    hashKeys: bool(options.hashKeys, false, 'hashKeys'),
    strict: bool(options.strict, false, 'strict'),
    operationTimeout,
    connectTimeout: timeoutMs(redis?.connectTimeout, DEFAULTS.connectTimeoutMs, 'redis.connectTimeout')!,
    socketTimeout: timeoutMs(redis?.socketTimeout, undefined, 'redis.socketTimeout'),
    compressThreshold: positiveInt(options.compressThreshold, DEFAULTS.compressThreshold, 'compressThreshold'),
    maxEntryBytes: positiveInt(options.maxEntryBytes, DEFAULTS.maxEntryBytes, 'maxEntryBytes'),
    encryptionKey:
      options.encryptionKey === undefined ? undefined : parseEncryptionKey(options.encryptionKey, 'encryptionKey'),
    memory: memoryBounds(options.memory, 'memory'),
    breaker: {
      threshold: positiveInt(breaker.threshold, DEFAULTS.breaker.threshold, 'breaker.threshold'),
      cooldown: durationMs(breaker.cooldown, DEFAULTS.breaker.cooldownMs, 'breaker.cooldown')!,
      maxCooldown: durationMs(breaker.maxCooldown, DEFAULTS.breaker.maxCooldownMs, 'breaker.maxCooldown')!,
    },
    ttl: new TtlRegistry({ ttl: options.ttl ?? {}, env: ttlEnv(options.ttlEnv), jitter }),
    redis,
    logger,
    secrets: secretsOf(redis),
    bus: bool(options.bus, DEFAULTS.bus, 'bus') && redis !== undefined,
    busDownTtl: durationMs(
      (options.memory as { busDownTtl?: unknown } | undefined)?.busDownTtl,
      DEFAULTS.busDownTtlMs,
      'memory.busDownTtl',
    )!,
    telemetry: telemetryOptions(options.telemetry),
    costPerCall: costs(options.costPerCall),
    fleet: resolveFleet(options.fleet, redis !== undefined),
  };
}
