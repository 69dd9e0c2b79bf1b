/**
 * The peers, each with its Redis store and in its documented cache-aside call: cache-manager 7 (Keyv + @keyv/redis),
 * cacheable 2 (@keyv/redis as the only store, and as the secondary behind its in-memory primary), BentoCache 1.6
 * (Redis driver over ioredis, alone and with its memory L1), @type-cacheable 14 (a node-redis CacheClient).
 */
import { createCache as createCacheManager } from 'cache-manager';
import { Cacheable } from 'cacheable';
import { Keyv } from 'keyv';
import KeyvRedis from '@keyv/redis';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { memoryDriver } from 'bentocache/drivers/memory';
import { Cacheable as TypeCacheable } from '@type-cacheable/core';
import { NodeRedisCacheClient } from './type-cacheable-client.js';
import { rawClient, TTL_SECONDS, type Compute, type Contender } from './contenders.js';

const TTL_MS = TTL_SECONDS * 1000;

/** cache-manager 7 with one Keyv store on @keyv/redis: `cache.wrap(key, fn, ttl)`. */
export async function cacheManager(url: string): Promise<Contender> {
  const keyv = new Keyv({ store: new KeyvRedis(url), namespace: 'cm' });
  const cache = createCacheManager({ stores: [keyv] });
  await keyv.get('warm-up'); // connects
  return {
    name: 'cache-manager redis',
    role: 'peer',
    tier: 'redis',
    note: 'cache-manager 7 createCache({ stores: [new Keyv({ store: new KeyvRedis(url) })] }).wrap(key, fn, ttl)',
    get: (key, fn) => cache.wrap(key, fn, TTL_MS),
    close: () => cache.disconnect().then(() => {}),
  };
}

/** cacheable 2: `getOrSet(key, fn, { ttl })`, Redis as the only store or behind its in-memory primary. */
export async function cacheable(url: string, memory: boolean): Promise<Contender> {
  const redis = new KeyvRedis(url);
  const cache = memory
    ? new Cacheable({ secondary: new Keyv({ store: redis, namespace: 'cbm' }), ttl: TTL_MS })
    : new Cacheable({ primary: new Keyv({ store: redis, namespace: 'cb' }), ttl: TTL_MS });
  await cache.get('warm-up'); // connects
  return {
    name: memory ? 'cacheable memory+redis' : 'cacheable redis',
    role: 'peer',
    tier: memory ? 'memory+redis' : 'redis',
    note: memory
      ? 'cacheable 2 new Cacheable({ secondary: KeyvRedis }).getOrSet(key, fn, { ttl })'
      : 'cacheable 2 new Cacheable({ primary: KeyvRedis }).getOrSet(key, fn, { ttl })',
    get: (key, fn) => cache.getOrSet(key, fn, { ttl: TTL_MS }),
    close: () => cache.disconnect(),
  };
}

/** BentoCache 1.6: `getOrSet({ key, factory, ttl })` on its Redis driver, alone (L2) or with its memory L1. */
export async function bentocache(url: string, memory: boolean): Promise<Contender> {
  const { hostname, port } = new URL(url);
  let store = bentostore();
  if (memory) store = store.useL1Layer(memoryDriver({ maxItems: 1000 }));
  store = store.useL2Layer(redisDriver({ connection: { host: hostname, port: Number(port) } }));
  const bento = new BentoCache({ default: 'store', stores: { store }, prefix: memory ? 'bcm' : 'bc' });
  await bento.get({ key: 'warm-up' });
  return {
    name: memory ? 'bentocache memory+redis' : 'bentocache redis',
    role: 'peer',
    tier: memory ? 'memory+redis' : 'redis',
    note: `BentoCache 1.6 bentostore()${memory ? '.useL1Layer(memoryDriver())' : ''}.useL2Layer(redisDriver()) getOrSet({ key, factory, ttl })`,
    get: (key, fn) => bento.getOrSet({ key, factory: fn, ttl: TTL_MS }),
    close: () => bento.disconnectAll(),
  };
}

/** @type-cacheable 14: a method decorated with `@Cacheable({ cacheKey, client })`, over a node-redis CacheClient. */
export async function typeCacheable(url: string): Promise<Contender> {
  const client = await rawClient(url);
  class Service {
    async compute(_key: string, fn: Compute): Promise<unknown> {
      return fn();
    }
  }
  // Applied by hand (the legacy decorator signature) so the benchmark compiles in either decorator mode.
  const descriptor = Object.getOwnPropertyDescriptor(Service.prototype, 'compute')!;
  const decorate = TypeCacheable({
    cacheKey: (args: unknown[]) => `tc:${String(args[0])}`,
    client: new NodeRedisCacheClient(client, TTL_SECONDS),
    ttlSeconds: TTL_SECONDS,
  });
  Object.defineProperty(Service.prototype, 'compute', decorate(Service.prototype, 'compute', descriptor));
  const service = new Service();
  return {
    name: '@type-cacheable redis',
    role: 'peer',
    tier: 'redis',
    note: '@type-cacheable/core 14 @Cacheable({ cacheKey, client }) over a node-redis CacheClient (bench/lib/type-cacheable-client.ts)',
    get: (key, fn) => service.compute(key, fn),
    close: () => client.close(),
  };
}
