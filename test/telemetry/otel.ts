/** OpenTelemetry SDK fixtures for the telemetry tests: providers passed through options, never the globals. */
import { context, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader, type DataPoint, type MetricData } from '@opentelemetry/sdk-metrics';

/** A reader that collects on demand. */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Waits for the cache's first Redis connection, so that a loaded machine does not turn a first call into a bypass. */
export async function ready<C extends { connect(): Promise<void> }>(cache: C): Promise<C> {
  await cache.connect();
  return cache;
}

/** Installs an AsyncLocalStorage context manager for the suite (spans need it to find their parent). */
export function useContextManager(): void {
  let manager: AsyncLocalStorageContextManager | undefined;
  before(() => {
    manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
  });
  after(() => {
    context.disable();
    manager?.disable();
  });
}

/** A tracer provider with an in-memory exporter and a meter provider with an on-demand reader. */
export function otel() {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  return {
    exporter,
    tracerProvider,
    meterProvider,
    telemetry: { tracerProvider, meterProvider },
    spans,
    /** The finished span named `name` (the last one when there are several). */
    span(name: string): ReadableSpan {
      const found = spans().filter((s) => s.name === name);
      if (found.length === 0) throw new Error(`no span ${name}; have ${spans().map((s) => s.name)}`);
      return found[found.length - 1]!;
    },
    /** Data points of metric `name`, optionally only those whose attributes include `where`. */
    async points(name: string, where: Attributes = {}): Promise<Array<DataPoint<unknown>>> {
      const { resourceMetrics } = await reader.collect();
      const metric: MetricData | undefined = resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .find((m) => m.descriptor.name === name);
      const all = (metric?.dataPoints ?? []) as Array<DataPoint<unknown>>;
      return all.filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v));
    },
    async close() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** Parent span id of a span (SDK 2.x: `parentSpanContext`). */
export function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
