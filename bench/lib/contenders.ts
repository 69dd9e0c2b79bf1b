/**
 * The contenders: each one turns `get(key, fn)` into its own cache-aside call. The floors are what the call cannot
 * beat: hand-written cache-aside over raw node-redis, a GET + decode (a SET on a miss), with msgpackr (the codec
 * infercache uses) and with JSON (what most people write); the uncached function is what caching saves.
 */
import { createClient, RESP_TYPES, type RedisClientType } from 'redis';
import type { Cache } from '../../src/index.js';
import { loadCore } from './package.js';
import { floorPackr } from './value.js';

/** The computation being cached. */
export type Compute = () => Promise<unknown>;

/** Which layer serves a hit. */
export type Tier = 'none' | 'redis' | 'memory+redis';

/** One contender: a cache (or not) behind a uniform cache-aside call. */
export interface Contender {
  /** Short name used in tables and JSON. */
  readonly name: string;
  readonly role: 'floor' | 'reference' | 'infercache' | 'peer';
  readonly tier: Tier;
  /** For a floor: its codec. */
  readonly codec?: 'msgpackr' | 'json';
  /** For infercache: the entry options are a new object each call (`{ memory: true }` written inline). */
  readonly inline?: boolean;
  /** One-line description of the configuration, for the report. */
  readonly note: string;
  /** Returns the value cached under `key`, computing it with `fn` and storing it on a miss. */
  get(key: string, fn: Compute): Promise<unknown>;
  close(): Promise<void>;
}

/** Entry TTL used by every contender. */
export const TTL_SECONDS = 300;

/** A node-redis client with Buffer replies and no per-command timer (what the floor uses). */
export async function rawClient(url: string): Promise<RedisClientType> {
  const client = createClient({ url, commandOptions: { timeout: 0 } } as never) as unknown as RedisClientType;
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** The msgpackr floor: hand-written cache-aside over node-redis: GET + unpack; on a miss, compute, pack, SET PX. */
export async function floor(url: string): Promise<Contender> {
  const client = await rawClient(url);
  const binary = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const px = String(TTL_SECONDS * 1000);
  return {
    name: 'floor: node-redis GET+msgpackr',
    role: 'floor',
    codec: 'msgpackr',
    tier: 'redis',
    note: 'raw node-redis 6 GET + msgpackr unpack; miss: compute, pack, SET PX (awaited); per-command timer off',
    async get(key, fn) {
      const raw = (await binary.get(key)) as Buffer | null;
      if (raw !== null) return floorPackr.unpack(raw);
      const value = await fn();
      await binary.sendCommand(['SET', key, floorPackr.pack(value), 'PX', px]);
      return value;
    },
    close: () => client.close(),
  };
}

/** The JSON floor: the cache-aside most people write: GET + JSON.parse; on a miss, compute, JSON.stringify, SET PX. */
export async function jsonFloor(url: string): Promise<Contender> {
  const client = await rawClient(url);
  const px = String(TTL_SECONDS * 1000);
  return {
    name: 'floor: node-redis GET+JSON',
    role: 'floor',
    codec: 'json',
    tier: 'redis',
    note: 'raw node-redis 6 GET + JSON.parse; miss: compute, JSON.stringify, SET PX (awaited); per-command timer off',
    async get(key, fn) {
      const raw = (await client.get(key)) as string | null;
      if (raw !== null) return JSON.parse(raw) as unknown;
      const value = await fn();
      await client.sendCommand(['SET', key, JSON.stringify(value), 'PX', px]);
      return value;
    },
    close: () => client.close(),
  };
}

/** The uncached function itself. */
export function uncached(): Contender {
  return {
    name: 'uncached function',
    role: 'reference',
    tier: 'none',
    note: 'calls fn every time',
    get: (_key, fn) => fn(),
    close: async () => {},
  };
}

/**
 * `BENCH_OPERATION_TIMEOUT` (e.g. `1s`) instead of the default operation timeout: for the smoke test, which checks
 * that hits hit on a machine too busy for 50 ms; the benchmark itself runs with the default.
 */
export function benchTimeout(): { operationTimeout?: string } {
  const timeout = process.env.BENCH_OPERATION_TIMEOUT;
  return timeout ? { operationTimeout: timeout } : {};
}

/** How an infercache contender is set up. */
export interface InfercacheSetup {
  /** Use the memory tier in front of Redis. */
  memory: boolean;
  /** Write the entry options inline: a new `{ memory: true }` object on every call, as most code does. */
  inline?: boolean;
}

/**
 * infercache with default settings (only `redis.url`, plus `logger: false` and `setDefault: false`, which change
 * nothing on these paths): the Redis tier only, or with the memory tier in front, options reused or written inline.
 */
export async function infercache(url: string, setup: InfercacheSetup): Promise<Contender & { cache: Cache }> {
  const { memory, inline = false } = setup;
  const { createCache } = await loadCore();
  const cache = createCache({
    redis: { url },
    namespace: inline ? 'ici' : memory ? 'icm' : 'ic',
    setDefault: false,
    logger: false,
    ...benchTimeout(),
  });
  await cache.connect();
  const options = memory ? { ttl: TTL_SECONDS, memory: true } : { ttl: TTL_SECONDS };
  const name = inline ? 'infercache memory+redis, inline options' : `infercache ${memory ? 'memory+redis' : 'redis'}`;
  return {
    name,
    role: 'infercache',
    tier: memory ? 'memory+redis' : 'redis',
    inline,
    note: inline
      ? 'cache.wrap(kind, id, fn, { memory: true }), a new options object each call'
      : `cache.wrap(kind, id, fn, ${memory ? '{ ttl, memory: true }' : '{ ttl }'}), one options object reused`,
    cache,
    get: inline
      ? (key, fn) => cache.wrap('bench', key, fn, { memory: true })
      : (key, fn) => cache.wrap('bench', key, fn, options),
    close: () => cache.close(),
  };
}
