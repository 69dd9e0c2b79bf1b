/**
 * A minimal @type-cacheable `CacheClient` over node-redis 6. The official `@type-cacheable/redis-adapter` targets
 * the node-redis 3 callback API, so the benchmark uses this instead; it does what that adapter does on the paths
 * measured: `JSON.stringify` on set (`SET key value EX ttl`), `GET` + `parseIfRequired` (JSON.parse with a Date
 * reviver) on get.
 */
import { parseIfRequired, type CacheClient } from '@type-cacheable/core';
import type { RedisClientType } from 'redis';

/** CacheClient over a connected node-redis client. */
export class NodeRedisCacheClient implements CacheClient {
  constructor(
    private readonly client: RedisClientType,
    private readonly defaultTtlSeconds: number,
  ) {}

  async get(cacheKey: string): Promise<unknown> {
    const raw = await this.client.get(cacheKey);
    return raw === null ? null : parseIfRequired(raw);
  }

  async set(cacheKey: string, value: unknown, ttl?: number): Promise<unknown> {
    const seconds = ttl ?? this.defaultTtlSeconds;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return seconds > 0 ? this.client.set(cacheKey, text, { EX: seconds }) : this.client.set(cacheKey, text);
  }

  async del(cacheKey: string | string[]): Promise<unknown> {
    return this.client.del(cacheKey);
  }

  async keys(pattern: string): Promise<string[]> {
    return this.client.keys(pattern);
  }

  async delHash(hashKeyOrKeys: string | string[]): Promise<unknown> {
    return this.client.del(hashKeyOrKeys);
  }

  getClientTTL(): number {
    return this.defaultTtlSeconds;
  }
}
