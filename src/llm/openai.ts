/**
 * `cachedOpenAI(client, options)`: the official `openai` client, same type, with `chat.completions.create`,
 * `responses.create`, `embeddings.create` and `completions.create` answered through the cache, streams included.
 * Structural: the library never imports `openai`.
 */
import { ConfigError } from '../errors.js';
import { LlmEngine, tagResult, type LlmRequest } from './engine.js';
import { embedThroughCache } from './embeddings.js';
import {
  parseCacheControl,
  resolveControl,
  resolveLlmOptions,
  type LlmCacheOptions,
  type LlmRequestControl,
  type ResolvedControl,
} from './options.js';
import { isUsageOnlyChunk } from './shapes.js';
import { ReplayStream } from './stream.js';

/** What `scope` is given by `cachedOpenAI`: the API, the body and the request options of the call. */
export interface OpenAIScopeRequest {
  endpoint: 'chat.completions' | 'responses' | 'embeddings' | 'completions';
  body: Record<string, unknown>;
  options: Record<string, unknown> | undefined;
}

/** Options of {@link cachedOpenAI}. */
export type CachedOpenAIOptions = LlmCacheOptions<OpenAIScopeRequest>;

/** Header carrying a per-request TTL in seconds (read and removed by the wrapper; set it with `cacheControl`). */
export const TTL_HEADER = 'x-infercache-ttl';

/** The resources wrapped, by path from the client. */
const PATHS: Record<string, OpenAIScopeRequest['endpoint']> = {
  'chat.completions': 'chat.completions',
  responses: 'responses',
  embeddings: 'embeddings',
  completions: 'completions',
};
const PREFIXES = new Set(['chat']);

/**
 * Per-request control for a wrapped client's call, as its request options: `create(body, cacheControl({ maxAge:
 * 60 }))`, or merged into yours: `{ ...cacheControl({ refresh: true }), timeout: 5000 }` (it sets `headers`). The
 * wrapper reads and removes these headers: they never reach the provider.
 */
export function cacheControl(control: LlmRequestControl): { headers: Record<string, string> } {
  const c = resolveControl(control, 'cacheControl');
  const directives: string[] = [];
  if (c.skip) directives.push('no-store');
  if (c.refresh) directives.push('no-cache');
  if (c.maxAgeMs !== undefined) directives.push(`max-age=${Math.floor(c.maxAgeMs / 1000)}`);
  const headers: Record<string, string> = {};
  if (directives.length) headers['cache-control'] = directives.join(', ');
  if (c.ttlMs !== undefined) headers[TTL_HEADER] = String(c.ttlMs / 1000);
  return { headers };
}

/**
 * Wraps an `openai` client (v4 to v7, or any object of the same shape): the result has the client's type, and its
 * `chat.completions.create`, `responses.create`, `embeddings.create` and `completions.create` are cached; every
 * other method is the client's own. A streamed call returns a stream you `for await` the same way on a hit and on a
 * miss; `cacheInfo(result)` says how it was served. Cached calls return a plain promise (no `.withResponse()`).
 */
export function cachedOpenAI<C extends object>(client: C, options: CachedOpenAIOptions): C {
  if (typeof client !== 'object' || client === null) throw new ConfigError('cachedOpenAI.client', 'expected a client');
  const engine = new LlmEngine(resolveLlmOptions(options, 'cachedOpenAI'), 'cachedOpenAI');
  return wrapPath(client, '', engine);
}

function wrapPath<T extends object>(target: T, path: string, engine: LlmEngine<OpenAIScopeRequest>): T {
  /** prop → [the value it wrapped, its wrapper]: a property replaced later is wrapped again. */
  const children = new Map<string, [unknown, unknown]>();
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof prop !== 'string') return value;
      const known = children.get(prop);
      if (known !== undefined && known[0] === value) return known[1];
      const sub = path ? `${path}.${prop}` : prop;
      const endpoint = PATHS[path];
      let wrapped: unknown;
      if (endpoint && prop === 'create' && typeof value === 'function') {
        wrapped = createFor(endpoint, value.bind(obj), engine);
      } else if ((PATHS[sub] || PREFIXES.has(sub)) && typeof value === 'object' && value !== null) {
        wrapped = wrapPath(value, sub, engine);
      } else return value;
      children.set(prop, [value, wrapped]);
      return wrapped;
    },
  });
}

type Create = (body: Record<string, unknown>, options?: Record<string, unknown>) => PromiseLike<unknown>;

function createFor(endpoint: OpenAIScopeRequest['endpoint'], create: Create, engine: LlmEngine<OpenAIScopeRequest>) {
  return async function create_(body: Record<string, unknown>, requestOptions?: Record<string, unknown>) {
    const { control, options } = takeControl(requestOptions);
    if (typeof body !== 'object' || body === null) return create(body, options);
    const scope = engine.scopeOf({ endpoint, body, options });
    const request: LlmRequest = { endpoint, body, scope, control };
    if (endpoint === 'embeddings') {
      const { value, info } = await embedThroughCache(engine, request, (b) => Promise.resolve(create(b, options)));
      return tagResult(value, info);
    }
    if (body.stream === true) {
      const askedUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      const chatLike = endpoint !== 'responses';
      const upstreamBody = chatLike
        ? { ...body, stream_options: { ...(body.stream_options as object), include_usage: true } }
        : body;
      const { source, info } = await engine.stream(request, async () => {
        const stream = (await create(upstreamBody, options)) as AsyncIterable<unknown> & {
          controller?: AbortController;
        };
        return { iterable: stream, abort: () => stream.controller?.abort() };
      });
      const skip = chatLike && !askedUsage ? isUsageOnlyChunk : undefined;
      return tagResult(new ReplayStream(source, { skip }), info);
    }
    const { value, info } = await engine.answer(request, () => Promise.resolve(create(body, options)));
    return tagResult(value, info);
  };
}

/** Reads (and removes) the cache-control headers from a call's request options. */
function takeControl(options: Record<string, unknown> | undefined): {
  control: ResolvedControl;
  options: Record<string, unknown> | undefined;
} {
  const headers = options?.headers;
  if (!headers || typeof headers !== 'object' || headers instanceof Headers || Array.isArray(headers)) {
    return { control: parseCacheControl(undefined), options };
  }
  let cacheHeader: string | undefined;
  let ttl: string | undefined;
  const rest: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'cache-control' && typeof value === 'string') cacheHeader = value;
    else if (lower === TTL_HEADER && (typeof value === 'string' || typeof value === 'number')) ttl = String(value);
    else rest[name] = value;
  }
  if (cacheHeader === undefined && ttl === undefined) return { control: parseCacheControl(undefined), options };
  const control = { ...parseCacheControl(cacheHeader) };
  if (ttl !== undefined && /^\d+(\.\d+)?$/.test(ttl)) control.ttlMs = Math.round(Number(ttl) * 1000);
  return { control, options: { ...options, headers: rest } };
}
