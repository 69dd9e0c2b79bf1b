/**
 * Every span name, attribute, event and metric infercache emits, in one place (the README table lists them).
 * Attribute names follow OpenTelemetry semantic conventions where one exists (`db.*`, `error.type`).
 */

/** Instrumentation scope name of the tracer and the meter. */
export const SCOPE_NAME = 'infercache';

/** Prefix of every span name: `infercache <Class>.<method>`, `infercache wrap`, `infercache get`. */
export const SPAN_PREFIX = 'infercache';
/** Child span around the user's function on a miss. */
export const SPAN_COMPUTE = 'infercache compute';
/** Child span around the write of a computed value to Redis (it may end after the call's span). */
export const SPAN_STORE = 'infercache store';

/** Span of a stale-while-revalidate background refresh (a child of the call that served the stale value). */
export const SPAN_REFRESH = 'infercache refresh';

/** Kind of result (`prediction`, `model`, ...). */
export const ATTR_KIND = 'infercache.kind';
/** `hit | miss | stale | bypass | error`. */
export const ATTR_RESULT = 'infercache.result';
/**
 * Why a call bypassed the cache, on `infercache.requests` with result `bypass` only: `disabled`, `unkeyable`,
 * `unavailable`; for routes also `method`, `no-cache`, `authorization`, `cookie`, `body-type`, `unparsed-body`,
 * `key`, `vary`.
 */
export const ATTR_BYPASS_REASON = 'infercache.bypass.reason';
/** Tier that served a hit: `memory | redis`. */
export const ATTR_TIER = 'infercache.tier';
/** Encoded size in bytes of the entry read from Redis. */
export const ATTR_ENTRY_SIZE = 'infercache.entry.size';
/** True when the call joined a computation already running in this process (single-flight). */
export const ATTR_JOINED = 'infercache.single_flight.joined';
/** Operation: `wrap | get | set | delete | invalidate_kind | invalidate_tags | invalidate_all | refresh`. */
export const ATTR_OPERATION = 'infercache.operation';
/** SHA-256 (first 16 hex digits) of the cache key; only with `telemetry.recordKeys`. */
export const ATTR_KEY_HASH = 'infercache.key.hash';
/** Seconds since the served value was computed. */
export const ATTR_AGE = 'infercache.age';
/** OpenTelemetry database conventions, on spans that touch Redis. */
export const ATTR_DB_SYSTEM = 'db.system.name';
export const ATTR_DB_OPERATION = 'db.operation.name';
/** Class of an error (its name), on failed spans, error events and error metrics. */
export const ATTR_ERROR_TYPE = 'error.type';
/** Circuit breaker state: `closed | open | half-open`. */
export const ATTR_BREAKER_STATE = 'infercache.breaker.state';

/** Span event: a Redis error that the cache swallowed (fail-open); the call went on without Redis. */
export const EVENT_REDIS_ERROR = 'infercache.redis.error';
/** Attribute of that event: the scrubbed error message, or `skipped` when Redis was not tried. */
export const ATTR_EVENT_MESSAGE = 'infercache.redis.error.message';

/** Counter of cached calls by kind and result. */
export const METRIC_REQUESTS = 'infercache.requests';
/** Histogram (s) of cache operations, end to end, by kind, operation and result. */
export const METRIC_OPERATION_DURATION = 'infercache.operation.duration';
/** Histogram (s) of the user's computations on misses and refreshes, by kind. */
export const METRIC_COMPUTE_DURATION = 'infercache.compute.duration';
/** Counter (s) of computation avoided by hits and stale hits, by kind. */
export const METRIC_TIME_SAVED = 'infercache.time_saved';
/** Counter of money avoided by hits (`costPerCall` of the kind per hit), by kind. */
export const METRIC_COST_SAVED = 'infercache.cost_saved';
/** Histogram (By) of encoded entries written to Redis, by kind. */
export const METRIC_ENTRY_SIZE = 'infercache.entry.size';
/** Counter of errors that did not fail the call (unreadable entry, failed encode), by kind. */
export const METRIC_ERRORS = 'infercache.errors';
/** Observable gauge of entries in the in-process tier. */
export const METRIC_MEMORY_ENTRIES = 'infercache.memory.entries';
/** Observable gauge of the Redis circuit breaker: 1 for the current state, 0 for the others. */
export const METRIC_BREAKER_STATE = 'infercache.breaker.state';
/** Observable gauge (By) of the memory Redis uses (`used_memory`), read every few seconds off the request path. */
export const METRIC_REDIS_MEMORY_USED = 'infercache.redis.memory.used';
/** Observable gauge (By) of Redis's `maxmemory`: 0 when Redis has no limit. */
export const METRIC_REDIS_MEMORY_MAX = 'infercache.redis.memory.max';

/** Bucket advice (seconds) for operation durations: a memory hit is microseconds, a Redis hit about a millisecond. */
export const OPERATION_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
/** Bucket advice (seconds) for computations: predictions are milliseconds, model loads and LLM calls seconds. */
export const COMPUTE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Bucket advice (bytes) for entry sizes. */
export const SIZE_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];

// ---- LLM mode (infercache/llm) ----

/** Span of one LLM request through the LLM mode: `infercache llm <endpoint>` (`chat.completions`, `responses`...). */
export const SPAN_LLM = 'infercache llm';
/** Model requested (OpenTelemetry GenAI conventions), on LLM spans and LLM metrics. */
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
/** Kind of tokens saved: `input | output | cached_input`. */
export const ATTR_LLM_TOKEN_TYPE = 'infercache.llm.token.type';
/** Counter of tokens not sent to the provider thanks to hits, by kind, model and token type. */
export const METRIC_LLM_TOKENS_SAVED = 'infercache.llm.tokens_saved';
/** Counter of money not spent thanks to hits (from the `prices` table), by kind and model. */
export const METRIC_LLM_COST_SAVED = 'infercache.llm.cost_saved';
/** Histogram of the nearest similarity found by each semantic lookup, by kind and outcome (`hit | miss`). */
export const METRIC_LLM_SEMANTIC_SIMILARITY = 'infercache.llm.semantic.similarity';
/** Outcome of a semantic lookup: `hit | miss`. */
export const ATTR_LLM_SEMANTIC_OUTCOME = 'infercache.llm.semantic.outcome';
/** Bucket advice (cosine similarity) for the semantic tier's nearest similarity. */
export const SIMILARITY_BUCKETS = [
  0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1,
];
