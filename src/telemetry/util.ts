/** Small helpers of the telemetry: error recording, key hashing, defensive calls. */
import { createHash } from 'node:crypto';
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import * as C from './semconv.js';
import { CachedError } from '../record.js';
import { report } from './lazy.js';
import type { OperationOutcome } from './instrumentation.js';

/** Records an error on a span: exception event, `error.type`, status ERROR. */
export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setAttribute(C.ATTR_ERROR_TYPE, errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** The error's name (or its type when it is not an Error), for `error.type`. */
export function errorType(error: unknown): string {
  return error instanceof Error ? error.name || error.constructor.name : typeof error;
}

/** A negative-cache hit rethrows the cached error as a `CachedError`: a hit, not a cache error. */
export function isCachedError(error: unknown): boolean {
  return error instanceof CachedError;
}

/** Whether a value is a promise-like. */
export function isThenable<T>(value: T): value is T & PromiseLike<Awaited<T>> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Runs `describe`, reporting (not throwing) its failure. */
export function safely<T>(describe: (value: T) => OperationOutcome, value: T): OperationOutcome | undefined {
  try {
    return describe(value);
  } catch (error) {
    report(error);
    return undefined;
  }
}

/** First 16 hex digits of the SHA-256 of a key: enough to correlate, useless to recover the arguments. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}
