/** The metric instruments of one cache, created together once a recording meter provider is there. */
import type { Counter, Meter } from '@opentelemetry/api';
import * as C from './semconv.js';
import { BatchedHistogram } from './batched.js';
import type { MetricKinds } from './metrics.js';
import type { RedisMemory } from '../redis/memory.js';

/** Where the observable gauges read from. */
export interface Observed {
  /** Entries in the in-process tiers. */
  memoryEntries(): number;
  /** Circuit breaker state, or undefined without a Redis tier. */
  breakerState(): 'closed' | 'open' | 'half-open' | undefined;
  /** The last Redis memory figures read, or undefined (no Redis tier, or not read yet). */
  redisMemory(): RedisMemory | undefined;
  /** Starts reading the Redis memory figures in the background (called once the gauges exist). */
  watchRedisMemory(): void;
}

/**
 * Synchronous instruments; the observable gauges report through callbacks, and so do the per-call counters
 * (`requests`, `time_saved`, `cost_saved`), from the tallies of `kinds`. The histograms hand their measurements to
 * the SDK in batches, all of them before every collection (batched.ts).
 */
export interface Instruments {
  errors: Counter;
  operationDuration: BatchedHistogram;
  computeDuration: BatchedHistogram;
  entrySize: BatchedHistogram;
}

const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

/** Creates every instrument on `meter` and registers the callbacks of the gauges and of the tallied counters. */
export function createInstruments(meter: Meter, observed: Observed, kinds: MetricKinds): Instruments {
  const operationDuration = new BatchedHistogram(
    meter.createHistogram(C.METRIC_OPERATION_DURATION, {
      description: 'Duration of cache operations, end to end',
      unit: 's',
      advice: { explicitBucketBoundaries: C.OPERATION_BUCKETS },
    }),
  );
  const computeDuration = new BatchedHistogram(
    meter.createHistogram(C.METRIC_COMPUTE_DURATION, {
      description: 'Duration of the computations run on misses and refreshes',
      unit: 's',
      advice: { explicitBucketBoundaries: C.COMPUTE_BUCKETS },
    }),
  );
  const entrySize = new BatchedHistogram(
    meter.createHistogram(C.METRIC_ENTRY_SIZE, {
      description: 'Encoded size of entries written to Redis',
      unit: 'By',
      advice: { explicitBucketBoundaries: C.SIZE_BUCKETS },
    }),
  );
  const flush = (): void => {
    operationDuration.flush();
    computeDuration.flush();
    entrySize.flush();
  };
  // The SDK runs every observable callback of a collection before it reads the synchronous instruments: the
  // buffered measurements land in the collection that follows them.
  meter
    .createObservableCounter(C.METRIC_REQUESTS, {
      description: 'Cached calls by kind and result (hit, miss, stale, bypass, error)',
      unit: '{request}',
    })
    .addCallback((result) => {
      flush();
      kinds.observeRequests(result);
    });
  meter
    .createObservableCounter(C.METRIC_TIME_SAVED, {
      description: 'Computation time avoided by hits and stale hits',
      unit: 's',
    })
    .addCallback((result) => kinds.observeTimeSaved(result));
  meter
    .createObservableCounter(C.METRIC_COST_SAVED, {
      description: 'Cost avoided by hits and stale hits (costPerCall of the kind, per hit)',
      unit: '{cost}',
    })
    .addCallback((result) => kinds.observeCostSaved(result));
  const memory = meter.createObservableGauge(C.METRIC_MEMORY_ENTRIES, {
    description: 'Entries in the in-process tier',
    unit: '{entry}',
  });
  memory.addCallback((result) => result.observe(observed.memoryEntries()));
  const breaker = meter.createObservableGauge(C.METRIC_BREAKER_STATE, {
    description: 'Redis circuit breaker: 1 for the current state, 0 for the others',
    unit: '{state}',
  });
  breaker.addCallback((result) => {
    const state = observed.breakerState();
    if (state === undefined) return;
    for (const s of BREAKER_STATES) result.observe(s === state ? 1 : 0, { [C.ATTR_BREAKER_STATE]: s });
  });
  const used = meter.createObservableGauge(C.METRIC_REDIS_MEMORY_USED, {
    description: 'Memory used by Redis (used_memory), read every few seconds',
    unit: 'By',
  });
  used.addCallback((result) => {
    const m = observed.redisMemory();
    if (m) result.observe(m.used);
  });
  const max = meter.createObservableGauge(C.METRIC_REDIS_MEMORY_MAX, {
    description: 'Memory limit of Redis (maxmemory); 0 when it has none',
    unit: 'By',
  });
  max.addCallback((result) => {
    const m = observed.redisMemory();
    if (m) result.observe(m.max);
  });
  observed.watchRedisMemory();
  return {
    errors: meter.createCounter(C.METRIC_ERRORS, {
      description: 'Cache errors that did not fail the call (unreadable entry, failed encode)',
      unit: '{error}',
    }),
    operationDuration,
    computeDuration,
    entrySize,
  };
}
