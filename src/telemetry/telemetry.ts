/**
 * OpenTelemetry spans and metrics of one Cache, through `@opentelemetry/api` only.
 *
 * Cheap when nothing records: the tracer and the instruments are resolved lazily and cached per provider, and a
 * provider that is the API's no-op (no SDK registered) resolves to `undefined`, so the hot path then costs two
 * global look-ups and no allocation. Nothing here ever throws into the user's call: failures go to `diag`.
 */
import {
  context,
  metrics,
  SpanKind,
  trace,
  type Attributes,
  type MeterProvider,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { createInstruments, type Instruments, type Observed } from './instruments.js';
import { report, StatsMetrics } from './metrics.js';
import * as C from './semconv.js';
import { errorType, failSpan, hashKey, isCachedError, isThenable, safely } from './util.js';
import type { CacheResult } from '../stats.js';
import type { SendReport } from '../redis/tier.js';

/** Telemetry settings after validation. */
export interface TelemetrySettings {
  enabled: boolean;
  tracerProvider: TracerProvider | undefined;
  meterProvider: MeterProvider | undefined;
  recordKeys: boolean;
}

/** What an operation's outcome says about how it was served. */
export interface OperationOutcome {
  result?: CacheResult;
  tier?: 'memory' | 'redis' | undefined;
  age?: number;
}

/** The part of a Redis read the lookup span reports. */
export interface LookupResult {
  failed: boolean;
  size?: number;
}

/** Where the observable gauges read from, and what a swallowed Redis error said. */
export interface TelemetrySources extends Observed {
  /** Whether a Redis tier exists (lookup spans are only made when it does). */
  redis: boolean;
  /** The last Redis error message (already scrubbed of secrets). */
  lastRedisError(): string | undefined;
}

const isNoop = (provider: object): boolean => provider.constructor?.name.startsWith('Noop') ?? false;

/**
 * Where every copy of `@opentelemetry/api` 1.x registers its globals (`trace`, `metrics`, `context`, ...): the API's
 * own cross-copy key. Read directly only to answer "is anything registered?" cheaply; everything else goes
 * through the API.
 */
const API_KEY = Symbol.for('opentelemetry.js.api.1');
/** Direct operations that always go to Redis (a `wrap` does so in its `lookup` child span). */
const TOUCHES_REDIS = new Set(['get', 'set', 'delete', 'invalidate_kind', 'invalidate_tags', 'invalidate_all']);
const apiGlobals = globalThis as unknown as Record<symbol, { trace?: unknown; metrics?: unknown } | undefined>;

/** Spans and metrics of one cache. */
export class Telemetry {
  readonly #settings: TelemetrySettings;
  readonly #sources: TelemetrySources;
  #tracerProvider: object | undefined;
  #tracer: Tracer | undefined;
  #meterProvider: object | undefined;
  #instruments: Instruments | undefined;
  /** Turns the counters of `Stats` into metrics (pass it to `Stats.configure`). */
  readonly metrics = new StatsMetrics(() => this.#instruments && this.instruments());

  constructor(settings: TelemetrySettings, sources: TelemetrySources) {
    this.#settings = settings;
    this.#sources = sources;
  }

  /** The tracer, or undefined when no tracer provider records (no SDK registered). */
  tracer(): Tracer | undefined {
    if (!this.#settings.enabled) return undefined;
    const given = this.#settings.tracerProvider;
    let provider: TracerProvider = given ?? trace.getTracerProvider();
    const delegator = provider as { getDelegate?: () => TracerProvider };
    if (!given && typeof delegator.getDelegate === 'function') provider = delegator.getDelegate();
    if (provider !== this.#tracerProvider) {
      this.#tracerProvider = provider;
      this.#tracer = isNoop(provider) ? undefined : provider.getTracer(C.SCOPE_NAME);
    }
    return this.#tracer;
  }

  /** The instruments, created on first use with a recording meter provider; undefined while none is registered. */
  instruments(): Instruments | undefined {
    if (!this.#settings.enabled) return undefined;
    const provider = this.#settings.meterProvider ?? metrics.getMeterProvider();
    if (provider !== this.#meterProvider) {
      this.#meterProvider = provider;
      try {
        this.#instruments = isNoop(provider)
          ? undefined
          : createInstruments(provider.getMeter(C.SCOPE_NAME), this.#sources);
      } catch (error) {
        this.#instruments = undefined;
        report(error);
      }
    }
    return this.#instruments;
  }

  /** Whether anything records: a tracer or a meter provider that is not the API's no-op. */
  recording(): boolean {
    if (!this.#settings.tracerProvider && !this.#settings.meterProvider && this.#tracer === undefined) {
      // Fast path: no API copy registered a global tracer or meter provider (one symbol look-up instead of two
      // global look-ups through the API). `#tracer` is checked so that a provider removed later is noticed.
      const registered = apiGlobals[API_KEY];
      if (registered === undefined || (registered.trace === undefined && registered.metrics === undefined)) {
        return this.#instruments !== undefined && this.instruments() !== undefined;
      }
    }
    return this.tracer() !== undefined || this.instruments() !== undefined;
  }

  /**
   * Runs one cache operation under its span (active while it runs, so Redis client spans nest under it) and
   * records its duration. `describe` turns the operation's value into a result and a tier.
   */
  operation<T>(
    operation: string,
    spanName: string,
    kind: string | undefined,
    run: () => Promise<T>,
    describe?: (value: T) => OperationOutcome,
  ): Promise<T> {
    const tracer = this.tracer();
    const instruments = this.instruments();
    if (!tracer && !instruments) return run();
    const started = performance.now();
    let span: Span | undefined;
    let promise: Promise<T>;
    try {
      span = tracer?.startSpan(spanName, { kind: SpanKind.INTERNAL, attributes: spanAttributes(operation, kind) });
      if (span && this.#sources.redis && TOUCHES_REDIS.has(operation)) span.setAttribute(C.ATTR_DB_SYSTEM, 'redis');
    } catch (error) {
      report(error);
    }
    try {
      promise = span ? context.with(trace.setSpan(context.active(), span), run) : run();
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.then(
      (value) => {
        this.#end(span, instruments, operation, kind, started, describe ? safely(describe, value) : undefined);
        return value;
      },
      (error: unknown) => {
        this.#end(span, instruments, operation, kind, started, undefined, error);
        throw error;
      },
    );
  }

  /** Runs a stale-while-revalidate background refresh under its own `infercache refresh` span, timed. */
  refresh<T>(kind: string, run: () => Promise<T>): Promise<T> {
    return this.operation('refresh', C.SPAN_REFRESH, kind, run);
  }

  /** Marks the active span: this call joined a computation already running (single-flight). */
  joined(): void {
    if (!this.#tracer) return;
    trace.getActiveSpan()?.setAttribute(C.ATTR_JOINED, true);
  }

  /** Runs the Redis read under a `lookup` child span; records a swallowed Redis failure as a span event. */
  async lookup<R extends LookupResult>(key: string, read: () => Promise<R>): Promise<R> {
    const tracer = this.#sources.redis && this.#tracer ? this.tracer() : undefined;
    if (!tracer) return read();
    let span: Span | undefined;
    try {
      const parent = trace.getActiveSpan();
      if (this.#settings.recordKeys) parent?.setAttribute(C.ATTR_KEY_HASH, hashKey(key));
      span = tracer.startSpan(C.SPAN_LOOKUP, {
        kind: SpanKind.INTERNAL,
        attributes: { [C.ATTR_DB_SYSTEM]: 'redis', [C.ATTR_DB_OPERATION]: 'MGET' },
      });
    } catch (error) {
      report(error);
      return read();
    }
    try {
      const found = await context.with(trace.setSpan(context.active(), span), read);
      try {
        if (found.size !== undefined) {
          span.setAttribute(C.ATTR_ENTRY_SIZE, found.size);
          trace.getActiveSpan()?.setAttribute(C.ATTR_ENTRY_SIZE, found.size);
        }
        if (found.failed) this.redisError(span);
      } catch (error) {
        report(error);
      }
      return found;
    } finally {
      span.end();
    }
  }

  /**
   * Runs the write of a computed value under a `store` child span (when tracing and Redis is configured); a write that
   * Redis refused or that failed is an event on it, like a failed lookup: the call itself is unaffected.
   */
  store<T>(kind: string, write: (sent: SendReport) => Promise<T>): Promise<T> {
    const sent: SendReport = {};
    const tracer = this.#sources.redis && this.#tracer ? this.tracer() : undefined;
    if (!tracer) return write(sent);
    let span: Span;
    try {
      span = tracer.startSpan(C.SPAN_STORE, {
        kind: SpanKind.INTERNAL,
        attributes: { [C.ATTR_KIND]: kind, [C.ATTR_DB_SYSTEM]: 'redis', [C.ATTR_DB_OPERATION]: 'SET' },
      });
    } catch (error) {
      report(error);
      return write(sent);
    }
    const end = () => {
      try {
        if (sent.failed !== undefined) {
          span.addEvent(C.EVENT_REDIS_ERROR, { [C.ATTR_EVENT_MESSAGE]: sent.failed });
        }
        span.end();
      } catch (error) {
        report(error);
      }
    };
    const written = context.with(trace.setSpan(context.active(), span), () => write(sent));
    written.then(end, end);
    return written;
  }

  /** Adds a fail-open event (a swallowed Redis error, or Redis skipped) to `span` or the active span. */
  redisError(span: Span | undefined = this.#tracer ? trace.getActiveSpan() : undefined): void {
    try {
      span?.addEvent(C.EVENT_REDIS_ERROR, { [C.ATTR_EVENT_MESSAGE]: this.#sources.lastRedisError() ?? 'skipped' });
    } catch (error) {
      report(error);
    }
  }

  /** Runs the user's computation under a `compute` child span (when tracing); errors are recorded on it. */
  compute<T>(kind: string, fn: () => T): T {
    const tracer = this.#tracer && this.tracer();
    if (!tracer) return fn();
    let span: Span;
    try {
      span = tracer.startSpan(C.SPAN_COMPUTE, { kind: SpanKind.INTERNAL, attributes: { [C.ATTR_KIND]: kind } });
    } catch (error) {
      report(error);
      return fn();
    }
    let value: T;
    try {
      value = context.with(trace.setSpan(context.active(), span), fn);
    } catch (error) {
      failSpan(span, error);
      span.end();
      throw error;
    }
    if (!isThenable(value)) {
      span.end();
      return value;
    }
    return value.then(
      (v) => {
        span.end();
        return v;
      },
      (error: unknown) => {
        failSpan(span, error);
        span.end();
        throw error;
      },
    ) as T;
  }

  #end(
    span: Span | undefined,
    m: Instruments | undefined,
    operation: string,
    kind: string | undefined,
    started: number,
    outcome: OperationOutcome | undefined,
    error?: unknown,
  ): void {
    try {
      const failed = error !== undefined && !isCachedError(error);
      const result = failed && operation === 'wrap' ? 'error' : outcome?.result;
      if (m) {
        const attributes: Attributes = spanAttributes(operation, kind);
        if (result) attributes[C.ATTR_RESULT] = result;
        if (failed) attributes[C.ATTR_ERROR_TYPE] = errorType(error);
        m.operationDuration.record((performance.now() - started) / 1000, attributes);
      }
      if (!span) return;
      if (result) span.setAttribute(C.ATTR_RESULT, result);
      if (outcome?.tier) span.setAttribute(C.ATTR_TIER, outcome.tier);
      if (outcome?.age !== undefined && outcome.result !== 'miss') span.setAttribute(C.ATTR_AGE, outcome.age);
      if (error !== undefined) failSpan(span, error);
      span.end();
    } catch (e) {
      report(e);
    }
  }
}

function spanAttributes(operation: string, kind: string | undefined): Attributes {
  return kind === undefined
    ? { [C.ATTR_OPERATION]: operation }
    : { [C.ATTR_OPERATION]: operation, [C.ATTR_KIND]: kind };
}
