/**
 * OpenTelemetry spans and metrics of one Cache, through `@opentelemetry/api` only: the one subscriber of the
 * cache's {@link Instrumentation} seam.
 *
 * Cheap when nothing records: the tracer and the instruments are resolved lazily and cached per provider, and a
 * provider that is the API's no-op (no SDK registered) resolves to `undefined`, so the hot path then costs one
 * global look-up and no allocation. Cheap when recording: a `wrap` call's span starts only once the call is known to
 * do work (compute, fail, bypass), so a hit costs no span unless `traceMemoryHits` / `traceRedisHits` pick it (it is
 * an event on the caller's span instead); attribute sets are made once per kind; per-call counters are tallies
 * (metrics.ts). Nothing here ever throws into the user's call: failures go to `diag`.
 */
import {
  context,
  SpanKind,
  trace,
  type MeterProvider,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { createInstruments, type Instruments, type Observed } from './instruments.js';
import { MetricKinds, StatsMetrics, durationAttributes } from './metrics.js';
import { LazyInstruments, isNoop, report } from './lazy.js';
import * as C from './semconv.js';
import { errorType, failSpan, hashKey, isCachedError, safely } from './util.js';
import { traceCompute, traceStore } from './children.js';
import {
  OPERATIONS,
  type Instrumentation,
  type LookupResult,
  type Operation,
  type OperationOutcome,
  type Traced,
} from './instrumentation.js';
import type { SendReport } from '../redis/tier.js';

export type { LookupResult, OperationOutcome };

/** Telemetry settings after validation. */
export interface TelemetrySettings {
  enabled: boolean;
  tracerProvider: TracerProvider | undefined;
  meterProvider: MeterProvider | undefined;
  recordKeys: boolean;
  /** Share of memory-tier hits that get a span, 0 to 1 (`traceMemoryHits`: false is 0, true is 1). */
  traceMemoryHits: number;
  /** Share of Redis-tier hits that get a span, 0 to 1 (`traceRedisHits`: false is 0, true is 1). */
  traceRedisHits: number;
}

/** Where the observable gauges read from, and what a swallowed Redis error said. */
export interface TelemetrySources extends Observed {
  /** Whether a Redis tier exists (Redis reads are only noted when it does). */
  redis: boolean;
  /** The last Redis error message (already scrubbed of secrets). */
  lastRedisError(): string | undefined;
}

/**
 * Where every copy of `@opentelemetry/api` 1.x registers its globals (`trace`, `metrics`, `context`, ...): the API's
 * own cross-copy key. Read directly only to answer "is anything registered?" cheaply; everything else goes
 * through the API.
 */
const API_KEY = Symbol.for('opentelemetry.js.api.1');
const apiGlobals = globalThis as unknown as Record<symbol, { trace?: unknown; metrics?: unknown } | undefined>;

/**
 * One `wrap` call being observed. Its span starts at once if `traceMemoryHits` picked it, when it leaves the memory
 * tier if `traceRedisHits` did, and otherwise only once it is known not to be a hit: when it goes on to compute
 * ({@link Telemetry.beyond}), or as it ends (a bypass, an error, a call that joined a computation), with the call's
 * start time. What happened before (the Redis read, joining) is kept here until then.
 */
interface WrapCall {
  readonly name: string;
  readonly kind: string;
  readonly started: number;
  readonly tracer: Tracer | undefined;
  span: Span | undefined;
  /** The key read from Redis and what the read found, while the call has no span. */
  key: string | undefined;
  found: LookupResult | undefined;
  /** The call joined a computation already running, while it has no span. */
  joined: boolean;
}

/** Spans and metrics of one cache. */
export class Telemetry implements Instrumentation {
  readonly #settings: TelemetrySettings;
  readonly #sources: TelemetrySources;
  #tracerProvider: object | undefined;
  #tracer: Tracer | undefined;
  readonly #kinds = new MetricKinds();
  readonly #instruments: LazyInstruments<Instruments>;
  /** Span names by call site: `infercache <site>`. */
  readonly #names = new Map<string, string>();
  /** The `wrap` call whose span `load` starts: set while its synchronous part runs (a stack: calls may nest). */
  #pending: WrapCall | undefined;
  /** Turns the counters of `Stats` into metrics (pass it to `Stats.configure`). */
  readonly metrics: StatsMetrics;

  constructor(settings: TelemetrySettings, sources: TelemetrySources) {
    this.#settings = settings;
    this.#sources = sources;
    this.#instruments = new LazyInstruments(settings, (meter) => createInstruments(meter, sources, this.#kinds));
    this.metrics = new StatsMetrics(this.#kinds, () => this.#instruments.current && this.#instruments.get());
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
    return this.#instruments.get();
  }

  /** Whether anything records: a tracer or a meter provider that is not the API's no-op. */
  recording(): boolean {
    if (!this.#settings.tracerProvider && !this.#settings.meterProvider && this.#tracer === undefined) {
      // Fast path: no API copy registered a global tracer or meter provider (one symbol look-up instead of two
      // global look-ups through the API). `#tracer` is checked so that a provider removed later is noticed.
      const registered = apiGlobals[API_KEY];
      if (registered === undefined || (registered.trace === undefined && registered.metrics === undefined)) {
        return this.#instruments.current !== undefined && this.#instruments.get() !== undefined;
      }
    }
    return this.tracer() !== undefined || this.#instruments.get() !== undefined;
  }

  /**
   * Runs one cache operation under its span (active while it runs, so Redis client spans nest under it) and
   * records its duration.
   */
  operation<T>(operation: Operation, kind: string | undefined, run: () => Promise<T>): Promise<T> {
    const tracer = this.tracer();
    const instruments = this.#instruments.get();
    if (!tracer && !instruments) return run();
    const started = performance.now();
    let span: Span | undefined;
    let promise: Promise<T>;
    try {
      if (tracer) span = this.#startSpan(tracer, operation.spanName, operation, kind);
    } catch (error) {
      report(error);
    }
    try {
      promise = span ? context.with(trace.setSpan(context.active(), span), run) : run();
    } catch (error) {
      promise = Promise.reject(error);
    }
    const describe = operation.describe;
    return promise.then(
      (value) => {
        const outcome = describe ? safely(describe, value) : undefined;
        this.#end(span, instruments, operation.name, kind, started, outcome);
        return value;
      },
      (error: unknown) => {
        this.#end(span, instruments, operation.name, kind, started, undefined, error);
        throw error;
      },
    );
  }

  /**
   * Runs one `wrap` call. Its span is started by {@link load} when the call leaves the memory tier, so a memory-tier
   * hit gets none (unless sampled in by `traceMemoryHits`) and is only timed and counted; a call that ends before
   * the loader (a bypass, a refused key) gets its span afterwards, with the call's start time.
   */
  wrap<T extends OperationOutcome>(site: string | undefined, kind: string, run: () => T | Promise<T>): T | Promise<T> {
    const tracer = this.tracer();
    const instruments = this.#instruments.get();
    if (!tracer && !instruments) return run();
    const name = site === undefined ? OPERATIONS.wrap.spanName : this.#nameOf(site);
    const call: WrapCall = {
      name,
      kind,
      started: performance.now(),
      tracer,
      span: undefined,
      key: undefined, // all fields made here: one object shape for every call
      found: undefined,
      joined: false,
    };
    let served: T | Promise<T>;
    const share = this.#settings.traceMemoryHits;
    if (tracer && share > 0 && (share >= 1 || Math.random() < share)) {
      try {
        call.span = this.#startSpan(tracer, name, OPERATIONS.wrap, kind);
      } catch (error) {
        report(error);
      }
    }
    const outer = this.#pending;
    this.#pending = tracer && !call.span ? call : undefined;
    try {
      served = call.span ? context.with(trace.setSpan(context.active(), call.span), run) : run();
    } catch (error) {
      this.#endWrap(call, instruments, undefined, error);
      throw error;
    } finally {
      this.#pending = outer;
    }
    // a memory-tier hit: ended now, and no promise made (each one costs the context manager's promise hooks too)
    if (!(served instanceof Promise)) {
      this.#endWrap(call, instruments, served);
      return served;
    }
    return served.then(
      (value) => {
        this.#endWrap(call, instruments, value);
        return value;
      },
      (error: unknown) => {
        this.#endWrap(call, instruments, undefined, error);
        throw error;
      },
    );
  }

  /**
   * The `wrap` call being run leaves the memory tier: `run` gets its handle (for {@link readRedis}, {@link joined},
   * {@link beyond}). Its span starts now, active while `run` runs, if `traceRedisHits` picks it; otherwise later, if
   * the call turns out not to be a hit.
   */
  load<T>(run: (call: Traced) => Promise<T>): Promise<T> {
    const call = this.#pending;
    if (call === undefined) return run(undefined);
    this.#pending = undefined;
    const share = this.#settings.traceRedisHits;
    if (share <= 0 || (share < 1 && Math.random() >= share)) return run(call);
    try {
      call.span = this.#startSpan(call.tracer!, call.name, OPERATIONS.wrap, call.kind);
    } catch (error) {
      report(error);
      return run(call);
    }
    return context.with(trace.setSpan(context.active(), call.span), run, undefined, call);
  }

  /**
   * The call goes past the cache (to wait for a lease, to compute): its span starts now if it has none yet, with the
   * call's start time and what the Redis read found, and is active while `run` runs, so the computation's and the
   * write's spans nest under it.
   */
  beyond<T>(traced: Traced, run: () => Promise<T>): Promise<T> {
    const call = traced as WrapCall | undefined;
    if (call === undefined || call.span !== undefined) return run();
    const span = (call.span = this.#startLate(call));
    return span ? context.with(trace.setSpan(context.active(), span), run) : run();
  }

  /** Runs a stale-while-revalidate background refresh under its own `infercache refresh` span, timed. */
  refresh<T>(kind: string, run: () => Promise<T>): Promise<T> {
    return this.operation(OPERATIONS.refresh, kind, run);
  }

  /** Marks the call (or the active span): it joined a computation already running (single-flight). */
  joined(traced: Traced): void {
    if (!this.#tracer) return;
    const call = traced as WrapCall | undefined;
    if (call !== undefined && call.span === undefined) call.joined = true;
    else (call?.span ?? trace.getActiveSpan())?.setAttribute(C.ATTR_JOINED, true);
  }

  /**
   * Notes the Redis read on the call's span (the active one if the call has no handle): the key's hash (with
   * `recordKeys`), the entry size, and a swallowed failure as an event; kept on the call until its span starts, if
   * it has none yet. The read gets no span of its own: the Redis client's spans (its instrumentation) nest under the
   * call's span when it has one, and a span per read cost about 4 µs of a Redis-tier hit (measured); noted after the
   * read rather than around it, it costs no promise either.
   */
  readRedis(traced: Traced, key: string, found: LookupResult): void {
    if (!this.#tracer || !this.#sources.redis) return;
    const call = traced as WrapCall | undefined;
    if (call !== undefined && call.span === undefined) {
      call.key = key;
      call.found = found;
      return;
    }
    this.#noteRead(call?.span ?? trace.getActiveSpan(), key, found);
  }

  #noteRead(span: Span | undefined, key: string, found: LookupResult): void {
    try {
      if (!span) return;
      if (this.#settings.recordKeys) span.setAttribute(C.ATTR_KEY_HASH, hashKey(key));
      if (found.size !== undefined) span.setAttribute(C.ATTR_ENTRY_SIZE, found.size);
      if (found.failed) this.redisError(span);
    } catch (error) {
      report(error);
    }
  }

  /**
   * Runs the write of a computed value under a `store` child span (when tracing and Redis is configured); a write that
   * Redis refused or that failed is an event on it, like a failed read on the call's span: the call is unaffected.
   */
  store<T>(kind: string, write: (sent: SendReport) => Promise<T>): Promise<T> {
    const tracer = this.#sources.redis && this.#tracer ? this.tracer() : undefined;
    if (!tracer) return write({});
    return traceStore(tracer, this.#kinds.of(kind).store, write);
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
    return traceCompute(tracer, this.#kinds.of(kind).attributes, fn);
  }

  /** Starts the span of an operation (`name` is its span name), with operation and kind (and Redis, if it goes there). */
  #startSpan(tracer: Tracer, name: string, operation: Operation, kind: string | undefined): Span {
    const attributes = this.#kinds.duration(operation.name, kind);
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes });
    if (operation.redis && this.#sources.redis) span.setAttribute(C.ATTR_DB_SYSTEM, 'redis');
    return span;
  }

  /** `infercache <site>`, made once per site. */
  #nameOf(site: string): string {
    let name = this.#names.get(site);
    if (name === undefined) {
      name = site ? `${C.SPAN_PREFIX} ${site}` : OPERATIONS.wrap.spanName;
      if (this.#names.size < 10_000) this.#names.set(site, name);
    }
    return name;
  }

  /**
   * Ends a `wrap` call: its duration; its span, started now (with the call's start time) if it has none and was not a
   * hit; a hit without a span is an event on the caller's span, if that records.
   */
  #endWrap(call: WrapCall, m: Instruments | undefined, outcome: OperationOutcome | undefined, error?: unknown): void {
    if (!call.span && call.tracer) {
      const result = outcome?.result;
      if (error === undefined && (result === 'hit' || result === 'stale')) this.#noteHit(call, outcome!);
      else call.span = this.#startLate(call);
    }
    this.#end(call.span, m, OPERATIONS.wrap.name, call.kind, call.started, outcome, error);
  }

  /** The span of a call that did not get one when it started: its start time, and what it noted meanwhile. */
  #startLate(call: WrapCall): Span | undefined {
    try {
      const span = call.tracer!.startSpan(call.name, {
        kind: SpanKind.INTERNAL,
        attributes: this.#kinds.duration(OPERATIONS.wrap.name, call.kind),
        startTime: call.started,
      });
      if (call.found) this.#noteRead(span, call.key!, call.found);
      if (call.joined) span.setAttribute(C.ATTR_JOINED, true);
      call.found = undefined;
      return span;
    } catch (error) {
      report(error);
      return undefined;
    }
  }

  /** A hit with no span of its own: an event named like its span on the caller's span, when that one records. */
  #noteHit(call: WrapCall, outcome: OperationOutcome): void {
    try {
      const parent = trace.getActiveSpan();
      if (parent?.isRecording())
        parent.addEvent(call.name, this.#kinds.of(call.kind).hit(outcome.result!, outcome.tier));
    } catch (error) {
      report(error);
    }
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
        const attributes = failed
          ? { ...durationAttributes(operation, kind, result), [C.ATTR_ERROR_TYPE]: errorType(error) }
          : this.#kinds.duration(operation, kind, result);
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
