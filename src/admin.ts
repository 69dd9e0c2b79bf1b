/** `health()` and `info()`: what the operational endpoints report. Admin-path only, never on a cached call. */
import type { RedisTier } from './redis/tier.js';
import type { Cache } from './cache.js';
import type { Bus, BusCounters } from './bus.js';
import { TimeoutError } from './errors.js';
import { TIMED_OUT, waitAtMost } from './timeout.js';

/** Health of the cache. */
export interface CacheHealth {
  status: 'healthy' | 'degraded' | 'unavailable' | 'disabled';
  redis: {
    configured: boolean;
    status: string;
    /**
     * Circuit breaker state when the check began (what calls were seeing), or after the probe if the probe opened
     * it. A successful probe closes the breaker, so the next check reports `closed`.
     */
    breaker: string;
    /** Round-trip time of the read/write probe, ms. */
    latencyMs: number | undefined;
    probe: 'ok' | 'failed' | 'skipped';
    /** Last Redis error, passwords redacted. */
    lastError: string | undefined;
    errors: number;
    timeouts: number;
  };
  checkedAt: string;
}

/** Description of the cache's configuration and contents. */
export interface CacheInfo {
  namespace: string;
  version: string;
  enabled: boolean;
  hashKeys: boolean;
  operationTimeoutMs: number;
  ttl: ReturnType<Cache['settings']['ttl']['settings']>;
  redis: { mode: string; url: string | undefined; status: string; usedMemory: string | undefined } | undefined;
  memory: { entries: number; bytes: number };
  /** The invalidation bus between instances (channel, whether the subscriber is up, message counters). */
  bus: ({ channel: string; up: boolean } & BusCounters) | undefined;
  /** Entries per kind in Redis (from a bounded SCAN; `truncated` when it stopped early). */
  entries: { byKind: Record<string, number>; truncated: boolean } | undefined;
}

const SCAN_LIMIT = 10_000;

/**
 * Waits for the first connection attempt while it is still in progress, for at most `limitMs`
 * (`redis.connectTimeout`): a health check made at start-up reports the connection, not the race with it. Once that
 * attempt has settled (connected or failed), returns at once.
 */
async function firstAttempt(redis: RedisTier, limitMs: number): Promise<void> {
  if (redis.status !== 'connecting') return;
  await waitAtMost(
    redis.connect().catch(() => {}),
    limitMs,
  );
}

/**
 * Runs the read/write probe and classifies the cache's health: `healthy` only once the probe's commands succeeded
 * on a connection that is ready, never on the client's word alone. While the first connection attempt is in
 * progress, waits for it first (at most `connectTimeoutMs`).
 */
export async function probeHealth(
  cache: Cache,
  redis: RedisTier | undefined,
  connectTimeoutMs: number,
): Promise<CacheHealth> {
  if (redis && cache.enabled) await firstAttempt(redis, connectTimeoutMs);
  const base: CacheHealth['redis'] = {
    configured: redis !== undefined,
    status: redis ? redis.status : 'not configured',
    breaker: redis ? redis.breaker.state : 'closed',
    latencyMs: undefined,
    probe: 'skipped',
    lastError: redis?.counters.lastError,
    errors: redis?.counters.errors ?? 0,
    timeouts: redis?.counters.timeouts ?? 0,
  };
  const checkedAt = new Date().toISOString();
  if (!cache.enabled) return { status: 'disabled', redis: base, checkedAt };
  if (!redis) return { status: 'healthy', redis: base, checkedAt };
  const key = `${cache.settings.namespace}:__health:${process.pid}`;
  const started = performance.now();
  try {
    const token = String(Math.random());
    await redis.sendOrThrow(key, false, ['SET', key, token, 'PX', '10000']);
    const read = await redis.sendOrThrow(key, true, ['GET', key]);
    if (String(read) !== token) throw new Error('probe read back a different value');
    await redis.sendOrThrow(key, false, ['DEL', key]);
    base.latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    base.probe = 'ok';
  } catch (error) {
    base.probe = 'failed';
    // "not connected" alone hides why (WRONGPASS, an untrusted certificate): keep the connection's own error
    const message = redis.message(error);
    const cause = redis.counters.lastError;
    base.lastError = !redis.backend.isReady() && cause && cause !== message ? `${message} (${cause})` : message;
  }
  base.status = redis.status;
  // A successful probe closes an open breaker: keep the state the calls were seeing when the check began.
  if (redis.breaker.state !== 'closed') base.breaker = redis.breaker.state;
  let status: CacheHealth['status'] = 'healthy';
  if (base.probe !== 'ok') status = 'unavailable';
  else if (base.status !== 'ready') status = 'degraded';
  else if (base.breaker !== 'closed' || (base.latencyMs ?? 0) > cache.settings.operationTimeout) status = 'degraded';
  return { status, redis: base, checkedAt };
}

/** What `info()` reads inside the cache. */
export interface Described {
  redis: RedisTier | undefined;
  bus: Bus | undefined;
  memory: { entries: number; bytes: number };
}

/** Collects `info()`. */
export async function describe(cache: Cache, { redis, bus, memory }: Described): Promise<CacheInfo> {
  const s = cache.settings;
  const info: CacheInfo = {
    namespace: s.namespace,
    version: s.version,
    enabled: cache.enabled,
    hashKeys: s.hashKeys,
    operationTimeoutMs: s.operationTimeout,
    ttl: s.ttl.settings(),
    redis: undefined,
    memory,
    bus: bus && { channel: bus.channel, up: bus.up, ...bus.counters },
    entries: undefined,
  };
  if (!redis || !s.redis) return info;
  info.redis = {
    mode: redis.backend.kind,
    url: s.redis.url, // without its password
    status: redis.status,
    usedMemory: undefined,
  };
  try {
    const text = String(await redis.sendOrThrow(undefined, true, ['INFO', 'memory']));
    info.redis.usedMemory = /used_memory_human:(\S+)/.exec(text)?.[1];
    info.entries = await countByKind(redis, s.namespace, s.operationTimeout);
  } catch {
    // Redis unavailable: report what is known locally
  }
  return info;
}

type Scan = (args: string[]) => Promise<unknown>;

/** One SCAN function per server: the client, or each master of a cluster (bounded by the operation timeout). */
async function scanners(redis: RedisTier, timeoutMs: number): Promise<Scan[]> {
  if (redis.backend.kind !== 'cluster') return [(args) => redis.sendOrThrow(undefined, true, args)];
  const servers = await redis.backend.servers();
  return servers.map((send) => (args) => bounded(send(args), timeoutMs));
}

async function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  const reply = await waitAtMost(promise, ms);
  if (reply === TIMED_OUT) throw new TimeoutError('SCAN', ms);
  return reply;
}

async function countByKind(
  redis: RedisTier,
  namespace: string,
  timeoutMs: number,
): Promise<{ byKind: Record<string, number>; truncated: boolean }> {
  const byKind: Record<string, number> = {};
  let cursor = '0';
  let seen = 0;
  for (const scan of await scanners(redis, timeoutMs)) {
    cursor = '0';
    do {
      const reply = (await scan(['SCAN', cursor, 'MATCH', `${namespace}:*`, 'COUNT', '1000'])) as [
        Buffer | string,
        Array<Buffer | string>,
      ];
      cursor = String(reply[0]);
      for (const raw of reply[1]) {
        const kind = raw
          .toString()
          .slice(namespace.length + 1)
          .split(':', 1)[0]!;
        if (kind.startsWith('__')) continue;
        byKind[kind] = (byKind[kind] ?? 0) + 1;
        seen++;
      }
    } while (cursor !== '0' && seen < SCAN_LIMIT);
    if (seen >= SCAN_LIMIT) break;
  }
  return { byKind, truncated: cursor !== '0' };
}
