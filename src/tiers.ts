/**
 * The storage behind one cache, assembled by job: the Redis tier, the invalidation generations, the memory tiers and
 * their coherence (with the bus), reads, writes and the cross-instance leases.
 */
import { createCodec } from './codec.js';
import { Generations } from './generations.js';
import { Coherence } from './coherence.js';
import { Decoder } from './decode.js';
import { Reader } from './read.js';
import { Writer } from './write.js';
import { Leases } from './lease.js';
import { RedisTier } from './redis/tier.js';
import { createBackend } from './redis/connection.js';
import type { Settings } from './config.js';
import type { Stats } from './stats.js';

/** The storage parts of one cache. */
export interface Tiers {
  /** The Redis tier, when configured and enabled (connecting in the background). */
  readonly redis: RedisTier | undefined;
  readonly generations: Generations;
  readonly coherence: Coherence;
  readonly reader: Reader;
  readonly writer: Writer;
  /** Cross-instance leases, with Redis. */
  readonly leases: Leases | undefined;
}

/** Creates the storage of a cache with settings `s`; starts connecting to Redis. */
export function createTiers(s: Settings, stats: Stats, warnOnce: (id: string, message: string) => void): Tiers {
  let redis: RedisTier | undefined;
  if (s.redis && s.enabled) {
    const backend = createBackend(s.redis, { connectTimeout: s.connectTimeout, socketTimeout: s.socketTimeout });
    redis = new RedisTier(backend, {
      operationTimeout: s.operationTimeout,
      breaker: s.breaker,
      logger: s.logger,
      secrets: s.secrets,
    });
    redis.connect().catch(() => {});
  }
  const codec = createCodec({ compressThreshold: s.compressThreshold, encryptionKey: s.encryptionKey });
  // before the bus: the bus replays its messages after the generations replay their bumps (both on 'ready')
  const generations = new Generations(s, redis, warnOnce);
  const coherence = new Coherence(s, redis, codec, warnOnce);
  const reader = new Reader(redis, generations, new Decoder(codec, redis, stats, warnOnce));
  const writer = new Writer({ settings: s, redis, codec, stats, generations, coherence, warnOnce });
  const leases = redis ? new Leases(redis) : undefined;
  return { redis, generations, coherence, reader, writer, leases };
}
