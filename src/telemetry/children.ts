/**
 * The child spans of a cache call: the user's computation (`infercache compute`) and the write (`infercache store`).
 * Each runs its work with its span active, so spans made inside (the Redis client's, the user's own) nest under it,
 * and never lets a telemetry failure reach the call.
 */
import { context, SpanKind, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import * as C from './semconv.js';
import { report } from './lazy.js';
import { failSpan, isThenable } from './util.js';
import type { SendReport } from '../redis/tier.js';

/** Runs a write under a `store` span (`attributes`: kind and Redis); a write Redis refused is an event on it. */
export function traceStore<T>(
  tracer: Tracer,
  attributes: Attributes,
  write: (sent: SendReport) => Promise<T>,
): Promise<T> {
  const sent: SendReport = {};
  let span: Span;
  try {
    span = tracer.startSpan(C.SPAN_STORE, { kind: SpanKind.INTERNAL, attributes });
  } catch (error) {
    report(error);
    return write(sent);
  }
  const end = () => {
    try {
      if (sent.failed !== undefined) span.addEvent(C.EVENT_REDIS_ERROR, { [C.ATTR_EVENT_MESSAGE]: sent.failed });
      span.end();
    } catch (error) {
      report(error);
    }
  };
  const written = context.with(trace.setSpan(context.active(), span), () => write(sent));
  written.then(end, end);
  return written;
}

/** Runs the user's computation under a `compute` span (`attributes`: its kind); an error is recorded on it. */
export function traceCompute<T>(tracer: Tracer, attributes: Attributes, fn: () => T): T {
  let span: Span;
  try {
    span = tracer.startSpan(C.SPAN_COMPUTE, { kind: SpanKind.INTERNAL, attributes });
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
