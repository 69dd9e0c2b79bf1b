/**
 * One span per `Cache` operation. The public methods are wrapped on the instance when telemetry is enabled, so
 * the Cache's own code stays free of tracing, and a cache made with `telemetry: { enabled: false }` has none of it.
 */
import { SPAN_PREFIX } from './semconv.js';
import type { OperationOutcome, Telemetry } from './telemetry.js';
import type { Cache, WrapOutcome } from '../cache.js';

type Method = (this: Cache, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown) => Promise<unknown>;

interface OperationSpec {
  method: keyof Cache;
  operation: string;
  /** The kind the call is about, when there is one. */
  kind?: (a: unknown, b: unknown, c: unknown, d: unknown) => string | undefined;
  /** The span name; by default `infercache <method>`. */
  name?: (a: unknown, b: unknown, c: unknown, d: unknown) => string;
  describe?: (value: unknown) => OperationOutcome;
}

const wrapName = new WeakMap<object, string>();

/** `infercache <Class>.<method>` for decorated calls (their options carry `spanName`), else `infercache wrap`. */
function nameOfWrap(options: unknown): string {
  if (typeof options !== 'object' || options === null) return `${SPAN_PREFIX} wrap`;
  let name = wrapName.get(options);
  if (name === undefined) {
    const site = (options as { spanName?: unknown }).spanName;
    name = typeof site === 'string' && site ? `${SPAN_PREFIX} ${site}` : `${SPAN_PREFIX} wrap`;
    wrapName.set(options, name);
  }
  return name;
}

const kindArg = (a: unknown) => (typeof a === 'string' ? a : undefined);

const SPECS: OperationSpec[] = [
  {
    method: 'wrapDetailed',
    operation: 'wrap',
    kind: (a, _b, _c, d) => ((d as { kind?: string } | undefined)?.kind ?? kindArg(a)) as string | undefined,
    name: (_a, _b, _c, d) => nameOfWrap(d),
    describe: (value) => {
      const o = value as WrapOutcome<unknown>;
      return { result: o.result, tier: o.tier, age: o.age };
    },
  },
  {
    method: 'get',
    operation: 'get',
    kind: kindArg,
    describe: (value) => ({ result: value === undefined ? 'miss' : 'hit' }),
  },
  { method: 'set', operation: 'set', kind: kindArg },
  { method: 'delete', operation: 'delete', kind: kindArg },
  { method: 'invalidateKind', operation: 'invalidate_kind', kind: kindArg },
  { method: 'invalidateTags', operation: 'invalidate_tags' },
  { method: 'invalidateAll', operation: 'invalidate_all' },
];

/** Wraps the cache's operations on the instance so that each runs under its span and is timed. */
export function instrumentCache(cache: Cache, telemetry: Telemetry): void {
  for (const spec of SPECS) {
    const original = cache[spec.method] as unknown as Method;
    const fixedName = `${SPAN_PREFIX} ${spec.method}`;
    const instrumented: Method =
      spec.method === 'invalidateTags'
        ? function (this: Cache, ...tags: unknown[]) {
            const all = () => (original as (...t: unknown[]) => Promise<unknown>).apply(this, tags);
            return telemetry.operation(spec.operation, fixedName, undefined, all);
          }
        : function (this: Cache, a, b, c, d, e) {
            if (!telemetry.recording()) return original.call(this, a, b, c, d, e);
            return telemetry.operation(
              spec.operation,
              spec.name ? spec.name(a, b, c, d) : fixedName,
              spec.kind?.(a, b, c, d),
              () => original.call(this, a, b, c, d, e),
              spec.describe,
            );
          };
    Object.defineProperty(instrumented, 'name', { value: spec.method });
    // a plain assignment: defineProperty with non-default attributes sent the Cache to slow (dictionary) mode
    (cache as unknown as Record<string, Method>)[spec.method] = instrumented;
  }
}
