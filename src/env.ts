/** `configFromEnv()`: cache options from environment variables, validated at start-up, naming the variable at fault. */
import { ConfigError } from './errors.js';
import { parseDuration } from './duration.js';
import { parseEncryptionKey } from './codec.js';
import type { CacheOptions } from './options.js';

/** Environment variables read by {@link configFromEnv}, with their meaning. */
export const ENV_VARIABLES = {
  REDIS_URL: 'redis:// or rediss:// URL (user, password and db may be in it); unset means memory only',
  REDIS_PASSWORD: 'password, when not in REDIS_URL',
  REDIS_DB: 'database number, when not in REDIS_URL',
  REDIS_CONNECT_TIMEOUT: 'duration of one connection attempt (default 2s)',
  REDIS_SOCKET_TIMEOUT: 'close an idle socket after this duration (default none)',
  CACHE_ENABLED: 'true/false, 1/0, yes/no, on/off (default true)',
  CACHE_NAMESPACE: 'key prefix (default infercache)',
  CACHE_VERSION: 'version segment of every key (default v1)',
  CACHE_OPERATION_TIMEOUT: 'longest wait for one Redis operation (default 50ms)',
  CACHE_HASH_KEYS: 'hash explicit ids and tags too (default false)',
  CACHE_TTL_DEFAULT: 'TTL of kinds without their own (default 1h)',
  'CACHE_TTL_<KIND>': 'TTL of one kind, e.g. CACHE_TTL_PREDICTION=5m',
  CACHE_ENCRYPTION_KEY: '32-byte AES-256-GCM key as 64 hex chars or base64',
} as const;

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

function bool(env: Record<string, string | undefined>, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(env[name])}`);
}

function duration(env: Record<string, string | undefined>, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  parseDuration(/^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw, name);
  return raw;
}

/** Builds `createCache` options from `env` (default `process.env`); throws a ConfigError naming the bad variable. */
export function configFromEnv(env: Record<string, string | undefined> = process.env): CacheOptions {
  const options: CacheOptions = {};
  const url = env.REDIS_URL?.trim();
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError('REDIS_URL', 'is not a valid URL');
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
      throw new ConfigError('REDIS_URL', `expected redis:// or rediss://, got ${parsed.protocol}//`);
    }
    const redis: NonNullable<Exclude<CacheOptions['redis'], false>> = { url };
    if (env.REDIS_PASSWORD) redis.password = env.REDIS_PASSWORD;
    const db = env.REDIS_DB?.trim();
    if (db) {
      if (!/^\d+$/.test(db))
        throw new ConfigError('REDIS_DB', `expected a non-negative integer, got ${JSON.stringify(db)}`);
      redis.db = Number(db);
    }
    const connectTimeout = duration(env, 'REDIS_CONNECT_TIMEOUT');
    if (connectTimeout) redis.connectTimeout = toDuration(connectTimeout);
    const socketTimeout = duration(env, 'REDIS_SOCKET_TIMEOUT');
    if (socketTimeout) redis.socketTimeout = toDuration(socketTimeout);
    options.redis = redis;
  }
  const enabled = bool(env, 'CACHE_ENABLED');
  if (enabled !== undefined) options.enabled = enabled;
  const hashKeys = bool(env, 'CACHE_HASH_KEYS');
  if (hashKeys !== undefined) options.hashKeys = hashKeys;
  if (env.CACHE_NAMESPACE?.trim()) options.namespace = checkSegment(env.CACHE_NAMESPACE.trim(), 'CACHE_NAMESPACE');
  if (env.CACHE_VERSION?.trim()) options.version = checkSegment(env.CACHE_VERSION.trim(), 'CACHE_VERSION');
  const opTimeout = duration(env, 'CACHE_OPERATION_TIMEOUT');
  if (opTimeout) options.operationTimeout = toDuration(opTimeout);
  const ttl: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('CACHE_TTL_') || value === undefined || value.trim() === '') continue;
    const kind = name.slice('CACHE_TTL_'.length).toLowerCase();
    if (!kind) throw new ConfigError(name, 'names no kind');
    duration(env, name);
    ttl[kind] = toDuration(value.trim());
  }
  if (Object.keys(ttl).length) options.ttl = ttl;
  const encryptionKey = env.CACHE_ENCRYPTION_KEY?.trim();
  if (encryptionKey) options.encryptionKey = parseEncryptionKey(encryptionKey, 'CACHE_ENCRYPTION_KEY');
  return options;
}

function toDuration(raw: string): string | number {
  return /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
}

function checkSegment(value: string, name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value))
    throw new ConfigError(name, 'expected 1 to 64 characters of A-Z a-z 0-9 _ . -');
  return value;
}
