/**
 * The default of every option, in one place. Validators read their defaults from here; each option's JSDoc
 * `@default` (src/options.ts, codec.ts, warmup.ts, rewarm.ts, http/options.ts, http/endpoints.ts, fleet/options.ts,
 * fleet/query.ts, llm/options.ts, plugins/llm-proxy.ts) and the README's tables state the same values. Durations are
 * in milliseconds.
 */

/** `createCache` options (src/options.ts), and the entry options whose default is cache-wide. */
export const DEFAULTS = {
  namespace: 'infercache',
  version: 'v1',
  /** `ttl.default`: the TTL of kinds without their own. */
  ttlMs: 3_600_000,
  operationTimeoutMs: 50,
  /** Longest operation timeout accepted: a longer wait on the request path defeats failing open. */
  maxOperationTimeoutMs: 10_000,
  connectTimeoutMs: 2000,
  compressThreshold: 16 * 1024,
  maxEntryBytes: 4 * 1024 * 1024,
  /** The codec's guard against zlib bombs: the largest size an entry may inflate to. */
  maxDecompressedBytes: 256 * 1024 * 1024,
  memory: { maxEntries: 1000, maxBytes: 64 * 1024 * 1024 },
  breaker: { threshold: 5, cooldownMs: 500, maxCooldownMs: 5_000 },
  bus: true,
  busDownTtlMs: 1000,
  /** `cacheErrors: true`. */
  negativeTtlMs: 10_000,
  /** `lock: true`: the lease's ttl, and how long the others wait for it. */
  lockTtlMs: 10_000,
  /** `grace` without a `backoff`. */
  graceBackoffMs: 1000,
  /** `earlyRefresh: true`, or without a `beta`. */
  earlyRefreshBeta: 1,
  /** `rewarm: true`: recently used keys remembered per entry. */
  rewarmKeys: 100,
} as const;

/** `cache.warmUp(entries, options)` and `cache.rewarm(kind, options)`: jobs run at once. */
export const WARM_UP_DEFAULTS = { concurrency: 4, rewarmConcurrency: 2 } as const;

/** Route options (Fastify `config.cache`, Express `cacheRoute`). */
export const ROUTE_DEFAULTS = {
  kind: 'http',
  /** Route methods cached (a `CacheableMethod` list of src/http/options.ts). */
  methods: ['GET', 'HEAD'] as readonly ('GET' | 'HEAD' | 'POST')[],
} as const;

/** Options of the operational endpoints. */
export const ENDPOINT_DEFAULTS = { prefix: '/cache', warmUpConcurrency: WARM_UP_DEFAULTS.concurrency } as const;

/** `createCache({ fleet })` options. */
export const FLEET_DEFAULTS = {
  intervalMs: 5_000,
  retentionMs: 3_600_000,
  hotKeys: 64,
  sample: 8,
  /** `fleetStats({ window })`. */
  windowMs: 60_000,
} as const;

/** Defaults of the LLM mode's `semantic` option (src/llm/semantic/options.ts). */
export const SEMANTIC_DEFAULTS = Object.freeze({ band: 0, guards: true });

/** LLM response caching options (`infercache/llm`); `proxyPrefix` and `proxyBodyLimit` are the LLM proxy plugin's. */
export const LLM_DEFAULTS = Object.freeze({
  kind: 'llm',
  temperature: 'always' as const,
  allowTruncated: false,
  /** Between replayed chunks: none. */
  pace: 0,
  proxyPrefix: '/v1',
  proxyBodyLimit: 8 * 1024 * 1024,
});
