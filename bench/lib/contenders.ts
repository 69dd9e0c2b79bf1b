/**
 * The contenders: each one turns `get(key, fn)` into its own cache-aside call. The floor is what the call cannot
 * beat (a raw node-redis GET + msgpack decode, with a SET on a miss); the uncached function is what caching saves.
 */
import { createClient, RESP_TYPES, type RedisClientType } from 'redis';
import { createCache, type Cache } from '../../src/index.js';
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

/** The floor: hand-written cache-aside over node-redis: GET + msgpack decode; on a miss, compute, encode, SET PX. */
export async function floor(url: string): Promise<Contender> {
  const client = await rawClient(url);
  const binary = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const px = String(TTL_SECONDS * 1000);
  return {
    name: 'floor: node-redis GET+decode',
    role: 'floor',
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

/** infercache with the Redis tier only, or with the memory tier in front. */
export async function infercache(url: string, memory: boolean): Promise<Contender & { cache: Cache }> {
  // A generous operation timeout (default 50 ms): on a busy machine a scheduling stall would otherwise time out
  // a read, open the breaker and turn hits into cheap bypasses. The benchmark measures the hit path.
  const cache = createCache({
    redis: { url },
    namespace: memory ? 'icm' : 'ic',
    operationTimeout: '1s',
    setDefault: false,
    logger: false,
  });
  await cache.connect();
  const options = memory ? { ttl: TTL_SECONDS, memory: true } : { ttl: TTL_SECONDS };
  return {
    name: memory ? 'infercache memory+redis' : 'infercache redis',
    role: 'infercache',
    tier: memory ? 'memory+redis' : 'redis',
    note: `cache.wrap(kind, id, fn, ${memory ? '{ ttl, memory: true }' : '{ ttl }'})`,
    cache,
    get: (key, fn) => cache.wrap('bench', key, fn, options),
    close: () => cache.close(),
  };
}
