/** `configFromEnv()`: cache options from environment variables, validated at start-up, naming the variable at fault. */
import { ConfigError } from './errors.js';
import { parseDuration, parseTimeout } from './duration.js';
import { parseRedisUrl } from './redis/url.js';
import { parseEncryptionKey } from './codec.js';
import { checkTtlEnvName } from './ttl.js';
import { validateSegment } from './keys.js';
import { operationTimeoutMs } from './config.js';
import type { CacheOptions } from './options.js';

/** Environment variables read by {@link configFromEnv}, with their meaning. */
export const ENV_VARIABLES = {
  REDIS_URL: 'redis:// or rediss:// URL (user, password and db may be in it); unset means memory only',
  REDIS_PASSWORD: 'password, when not in REDIS_URL (needs REDIS_URL)',
  REDIS_DB: 'database number, when not in REDIS_URL (needs REDIS_URL)',
  REDIS_CONNECT_TIMEOUT: 'duration of one connection attempt, with a unit, > 0 (default 2s; needs REDIS_URL)',
  REDIS_SOCKET_TIMEOUT: 'close an idle socket after this duration, with a unit, > 0 (default none; needs REDIS_URL)',
  CACHE_ENABLED: 'true/false, 1/0, yes/no, on/off (default true)',
  CACHE_NAMESPACE: 'key prefix (default infercache)',
  CACHE_VERSION: 'version segment of every key (default v1)',
  CACHE_OPERATION_TIMEOUT:
    'longest wait for one Redis operation, with a unit (50ms, 1s), > 0 and <= 10s (default 50ms)',
  CACHE_HASH_KEYS: 'hash explicit ids and tags too (default false)',
  CACHE_TTL_DEFAULT: 'TTL of kinds without their own (default 1h)',
  'CACHE_TTL_<KIND>': 'TTL of one kind (kind upper-cased, - and . as _): CACHE_TTL_PRICE_MODEL=5m for price-model',
  CACHE_ENCRYPTION_KEY: '32-byte AES-256-GCM key as 64 hex chars or base64',
} as const;

/** Variables that only configure the Redis connection: set without REDIS_URL they are an error, not ignored. */
const NEEDS_URL = ['REDIS_PASSWORD', 'REDIS_DB', 'REDIS_CONNECT_TIMEOUT', 'REDIS_SOCKET_TIMEOUT'] as const;

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

function bool(env: Record<string, string | undefined>, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(env[name])}`);
}

/**
 * A timeout variable: a duration with a unit, > 0, that a Node.js timer can take. A bare number is refused: options
 * read numbers as seconds, so `CACHE_OPERATION_TIMEOUT=50` would wait 50 s where 50 ms was meant.
 */
function timeout(env: Record<string, string | undefined>, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (/^(\d+(\.\d*)?|\.\d+)$/.test(raw)) {
    throw new ConfigError(
      name,
      `needs a unit: write ${raw}ms for milliseconds (e.g. 50ms), or ${raw}s if you meant seconds (got ${JSON.stringify(raw)})`,
    );
  }
  parseTimeout(raw, name);
  return raw;
}

/** The Redis connection options from REDIS_URL and the variables that refine it; undefined without REDIS_URL. */
function redisFromEnv(env: Record<string, string | undefined>): CacheOptions['redis'] {
  // Every variable is checked, REDIS_URL or not, so a typo fails at start-up whatever else is set.
  const url = env.REDIS_URL?.trim() || undefined;
  const fromUrl = url === undefined ? undefined : parseRedisUrl(url, 'REDIS_URL');
  const password = env.REDIS_PASSWORD || undefined;
  // eslint-disable-next-line no-control-regex
  if (password !== undefined && /[\u0000-\u001f\u007f]/.test(password)) {
    throw new ConfigError('REDIS_PASSWORD', 'contains a line break or control character (a trailing newline?)');
  }
  const rawDb = env.REDIS_DB?.trim() || undefined;
  if (rawDb !== undefined && !/^\d{1,9}$/.test(rawDb)) {
    throw new ConfigError('REDIS_DB', `expected a non-negative integer, got ${JSON.stringify(rawDb)}`);
  }
  const connectTimeout = timeout(env, 'REDIS_CONNECT_TIMEOUT');
  const socketTimeout = timeout(env, 'REDIS_SOCKET_TIMEOUT');
  if (!fromUrl) {
    const stray = NEEDS_URL.find((name) => env[name]?.trim());
    if (stray)
      throw new ConfigError(
        stray,
        'is set but REDIS_URL is not: set REDIS_URL too (without it the cache is memory only)',
      );
    return undefined;
  }
  if (password !== undefined && fromUrl.password !== undefined) {
    throw new ConfigError('REDIS_PASSWORD', 'REDIS_URL has a password already: give it in one place only');
  }
  if (rawDb !== undefined && fromUrl.db !== undefined) {
    throw new ConfigError('REDIS_DB', 'REDIS_URL has a database path already: give it in one place only');
  }
  const redis: NonNullable<Exclude<CacheOptions['redis'], false>> = { url: url! };
  if (password !== undefined) redis.password = password;
  if (rawDb !== undefined) redis.db = Number(rawDb);
  if (connectTimeout !== undefined) redis.connectTimeout = connectTimeout;
  if (socketTimeout !== undefined) redis.socketTimeout = socketTimeout;
  return redis;
}

/**
 * Builds `createCache` options from `env` (default `process.env`), reading nothing else; throws a ConfigError naming
 * the bad variable. The one reader of the environment: `createCache` itself reads no variable.
 */
export function configFromEnv(env: Record<string, string | undefined> = process.env): CacheOptions {
  const options: CacheOptions = {};
  const redis = redisFromEnv(env);
  if (redis) options.redis = redis;
  const enabled = bool(env, 'CACHE_ENABLED');
  if (enabled !== undefined) options.enabled = enabled;
  const hashKeys = bool(env, 'CACHE_HASH_KEYS');
  if (hashKeys !== undefined) options.hashKeys = hashKeys;
  if (env.CACHE_NAMESPACE?.trim()) options.namespace = validateSegment(env.CACHE_NAMESPACE.trim(), 'CACHE_NAMESPACE');
  if (env.CACHE_VERSION?.trim()) options.version = validateSegment(env.CACHE_VERSION.trim(), 'CACHE_VERSION');
  const operationTimeout = timeout(env, 'CACHE_OPERATION_TIMEOUT');
  if (operationTimeout !== undefined) {
    operationTimeoutMs(operationTimeout, 'CACHE_OPERATION_TIMEOUT');
    options.operationTimeout = operationTimeout;
  }
  // CACHE_TTL_<KIND> stay keyed by variable: the TTL registry finds a kind's variable with ttlEnvName(kind), the one
  // mapping between the two (a variable name cannot tell `price-model` from `price_model`).
  const ttlEnv: Record<string, string> = {};
  for (const name of Object.keys(env)) {
    if (!name.startsWith('CACHE_TTL_')) continue;
    const raw = env[name]?.trim();
    if (!raw) continue;
    checkTtlEnvName(name);
    parseDuration(raw, name);
    ttlEnv[name] = raw;
  }
  if (Object.keys(ttlEnv).length) options.ttlEnv = ttlEnv;
  const encryptionKey = env.CACHE_ENCRYPTION_KEY?.trim();
  if (encryptionKey) options.encryptionKey = parseEncryptionKey(encryptionKey, 'CACHE_ENCRYPTION_KEY');
  return options;
}
