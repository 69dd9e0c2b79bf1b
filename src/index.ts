/** infercache: Redis caching for ML and LLM inference, with decorators, fail-open tiers and telemetry. */
export { Cache, createCache } from './cache.js';
export { configFromEnv, ENV_VARIABLES } from './env.js';
export { CachedModel, CachedPrediction } from './decorators/cached.js';
export { Invalidates, UseCache } from './decorators/invalidates.js';
export { getDefaultCache } from './default-cache.js';
export { getCachedMethods } from './decorators/adapter.js';
export { parseDuration } from './duration.js';
export { untilMidnight, untilNext } from './ttl.js';
export { hashArgs } from './keys.js';
export { redactUrl } from './redis/connection.js';
export { CachedError } from './record.js';
export {
  InfercacheError,
  ConfigError,
  UnkeyableError,
  CodecError,
  UnserializableError,
  TimeoutError,
  UnavailableError,
  DecoratorError,
  ComputeTimeoutError,
  isInfercacheError,
} from './errors.js';
export type { InfercacheErrorCode, InfercacheErrorByCode } from './errors.js';
export type { WrapOptions, WrapOutcome } from './cache.js';
export type { WarmUpEntry, WarmUpReport, WarmUpOptions } from './warmup.js';
export type { RewarmOptions, RewarmReport } from './rewarm.js';
export type {
  CacheOptions,
  EntryOptions,
  RedisOptions,
  MemoryOptions,
  EntryMemoryOptions,
  BreakerOptions,
  Logger,
  TelemetryOptions,
} from './options.js';
export type { CachedOptions, CachedModelOptions } from './decorators/cached.js';
export type { InvalidatesOptions } from './decorators/invalidates.js';
export type { AsyncMethodDecorator } from './decorators/adapter.js';
export type { CacheStats, KindStats, CacheResult } from './stats.js';
export type { CacheHealth, CacheInfo } from './admin.js';
export type { CacheSettings } from './config.js';
export type { FleetStats, FleetKindStats, FleetPoint, FleetStatsOptions, HotKey } from './fleet/query.js';
export type { FleetOptions } from './fleet/options.js';
export type { LatencySummary } from './fleet/histogram.js';
export type { Duration } from './duration.js';
export type { TtlSpec } from './ttl.js';
