/**
 * The operational endpoints, framework-agnostic: each handler takes the request's headers and parsed body and
 * returns `{ status, body }`. `GET stats | health | info | hot-keys` (and `dashboard` when asked), `POST invalidate |
 * warm-up` under a prefix (`/cache`).
 * Mutating endpoints need the admin check (403 otherwise); bad bodies get 400 with a message, never a 500.
 */
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import { ConfigError, isInfercacheError, quoted } from '../errors.js';
import { validateSegment } from '../keys.js';
import { ENDPOINT_DEFAULTS } from '../defaults.js';
import { resolveAdmin, type AdminOptions } from './admin.js';
import { hasBody, isJsonType, mediaType, pathOf } from './request.js';
import type { Cache } from '../cache.js';
import type { WarmUpEntry } from '../warmup.js';
import { dashboardResponse } from './dashboard.js';

/** Options of the operational endpoints. */
export interface EndpointsOptions<Req = unknown> {
  /** Path prefix of the endpoints. @default '/cache' */
  prefix?: string;
  /** Who may call `POST invalidate` and `POST warm-up`. @default none: they answer 403 */
  admin?: AdminOptions<Req>;
  /** Also require the admin check for `GET stats | health | info | hot-keys | dashboard`. @default false */
  protectReads?: boolean;
  /**
   * Serve `GET {prefix}/dashboard`: a self-contained page (no CDN) charting the read endpoints live, with
   * invalidation of a kind or tag once the admin token is entered. @default false
   */
  dashboard?: boolean;
  /** Turns the body of `POST warm-up` into jobs for `cache.warmUp`; throw to answer 400. @default none: 501 */
  warmUp?: (body: unknown, request: Req) => Iterable<WarmUpEntry> | Promise<Iterable<WarmUpEntry>>;
  /** Warm-up jobs run at once. @default 4 */
  warmUpConcurrency?: number;
}

/** What a handler answers. */
export interface EndpointResponse {
  status: number;
  /** JSON, or the text of a page when `headers` give its `content-type`. */
  body: unknown;
  /** Headers of a non-JSON answer (the dashboard), `content-type` included. */
  headers?: Readonly<Record<string, string>>;
}

/** What a handler needs from the request. */
export interface EndpointRequest<Req> {
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (`undefined` when there was none). */
  body: unknown;
  /** The framework's request, for `admin.authorize` and `warmUp`. */
  request: Req;
  /** The request's URL (path and query), for query parameters such as `?scope=fleet`. */
  url?: string;
}

/** One endpoint, ready to be mounted by an adapter. */
export interface Endpoint<Req> {
  method: 'GET' | 'POST';
  /** Full path, prefix included (`/cache/stats`). */
  path: string;
  handle(request: EndpointRequest<Req>): Promise<EndpointResponse>;
}

/** Headers sent with every endpoint response. */
export const ENDPOINT_HEADERS: Readonly<Record<string, string>> = { 'cache-control': 'no-store' };

/** Largest JSON body the operational endpoints read, in bytes: 1 MiB, as Fastify's default `bodyLimit`. */
export const ENDPOINT_BODY_LIMIT = 1024 * 1024;

/** Most characters of a value sent by the client that an error message quotes. */
export const QUOTED_CHARS = 64;

/**
 * A value sent by the client, for an error message: JSON-quoted, cut to {@link QUOTED_CHARS} characters and `…`, so
 * that an answer never echoes a huge value back.
 */
export function quote(value: string): string {
  if (value.length <= QUOTED_CHARS) return JSON.stringify(value);
  const code = value.charCodeAt(QUOTED_CHARS - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? QUOTED_CHARS - 1 : QUOTED_CHARS; // keep surrogate pairs whole
  return JSON.stringify(`${value.slice(0, end)}…`);
}

/**
 * The 415 answer to a request announcing a body that is not JSON (`Content-Type` other than `application/json` or
 * `application/*+json`), else `undefined`: the operational endpoints read JSON only, whatever the framework parses.
 */
export function unsupportedBody(headers: IncomingHttpHeaders): EndpointResponse | undefined {
  if (!hasBody(headers)) return undefined;
  const type = mediaType(headers);
  if (isJsonType(type)) return undefined;
  return errorResponse(415, `expected Content-Type: application/json, got ${type === null ? 'none' : quote(type)}`);
}

/** An error response in Fastify's shape: `{ statusCode, error, message }`. */
export function errorResponse(status: number, message: string): EndpointResponse {
  return { status, body: { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message } };
}

/**
 * For adapters without a router: finds the endpoint of a request the way Express routes match by default (path
 * without case and with an optional trailing slash, query ignored, HEAD served by the GET endpoint).
 */
export function endpointMatcher<Req>(
  endpoints: ReadonlyArray<Endpoint<Req>>,
): (method: string, url: string) => Endpoint<Req> | undefined {
  const table = new Map(endpoints.map((e) => [`${e.method} ${e.path.toLowerCase()}`, e]));
  return (method, url) => {
    let path = pathOf(url).toLowerCase();
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    return table.get(`${method === 'HEAD' ? 'GET' : method} ${path}`);
  };
}

/** Validates and normalises a path prefix: `''` or `/a/b` (no trailing slash). */
export function normalisePrefix(prefix: unknown, setting: string): string {
  if (typeof prefix !== 'string' || (prefix !== '' && !/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(prefix))) {
    throw new ConfigError(setting, `expected '' or a path starting with '/', got ${JSON.stringify(prefix)}`);
  }
  return prefix.replace(/\/+$/, '');
}

type Target = { kind: string } | { tags: string[] } | { kind: string; key: unknown } | { all: true };

/** Reads an invalidation target: `{ kind } | { tags } | { kind, key } | { all: true }`; a string is an error. */
export function parseTarget(body: unknown): Target | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'expected a JSON object: { kind } | { tags } | { kind, key } | { all: true }';
  }
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !['kind', 'tags', 'key', 'all'].includes(k));
  if (unknown.length) return `unknown field ${quote(unknown[0]!)}; expected kind, tags, key or all`;
  const given = ['kind', 'tags', 'all'].filter((k) => b[k] !== undefined);
  if (given.length === 0 && b.key !== undefined) {
    return 'a key needs its kind: give { kind, key } (the same key can name an entry of each kind)';
  }
  if (given.length !== 1) return 'give exactly one of kind (with an optional key), tags, or all: true';
  if (b.all !== undefined) {
    if (b.all !== true || b.key !== undefined) return 'all must be true, alone';
    return { all: true };
  }
  if (b.tags !== undefined) {
    const tags = b.tags;
    if (b.key !== undefined) return 'key goes with kind, not with tags';
    if (!Array.isArray(tags) || tags.length === 0 || tags.some((t) => typeof t !== 'string' || t === '')) {
      return 'tags must be a non-empty array of non-empty strings';
    }
    return { tags: tags as string[] };
  }
  try {
    validateSegment(b.kind, 'kind');
  } catch (error) {
    const message = (error as Error).message.replace(/^infercache: invalid /, '');
    const kind = b.kind;
    // the message quotes the whole value: quote at most QUOTED_CHARS of it
    return typeof kind === 'string' ? message.replace(JSON.stringify(kind), () => quote(kind)) : message;
  }
  return 'key' in b && b.key !== undefined ? { kind: b.kind as string, key: b.key } : { kind: b.kind as string };
}

/** The query parameters of a request URL. */
function queryOf(url: string | undefined): URLSearchParams {
  return new URLSearchParams(url?.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
}

/**
 * `GET hot-keys`: the fleet's most called keys, of `?kind=` or of every kind with counters in the window, at most `n`
 * (default 10, at most 100) per kind, over `window` (default 1m).
 */
async function hotKeysAnswer(cache: Cache, url: string | undefined): Promise<EndpointResponse> {
  const query = queryOf(url);
  const n = Number(query.get('n') ?? 10);
  if (!Number.isInteger(n) || n < 1 || n > 100) return errorResponse(400, 'n must be an integer from 1 to 100');
  const kind = query.get('kind');
  const window = query.get('window') ?? undefined;
  const options = window === undefined ? {} : { window };
  try {
    const kinds = kind === null ? Object.keys((await cache.fleetStats(options)).kinds) : [kind];
    const lists = await Promise.all(kinds.map((k) => cache.hotKeys(k, n, options)));
    return { status: 200, body: { kinds: Object.fromEntries(kinds.map((k, i) => [k, lists[i]])) } };
  } catch (error) {
    return fleetError(error);
  }
}

function fleetError(error: unknown): EndpointResponse {
  if (isInfercacheError(error, 'E_CACHE_CONFIG')) return errorResponse(400, quoted(error));
  if (isInfercacheError(error, 'E_CACHE_UNAVAILABLE') || isInfercacheError(error, 'E_CACHE_TIMEOUT')) {
    return errorResponse(503, `Redis is unavailable (${quoted(error)})`);
  }
  throw error;
}

/**
 * `GET stats`: this instance's counters, or with `?scope=fleet` (and an optional `window`, e.g. `5m`) every
 * instance's from Redis (400 for a bad window, 503 when Redis cannot be read).
 */
async function statsAnswer(cache: Cache, url: string | undefined): Promise<EndpointResponse> {
  const query = queryOf(url);
  const scope = query.get('scope') ?? 'instance';
  if (scope === 'instance') return { status: 200, body: cache.stats() };
  if (scope !== 'fleet') return errorResponse(400, `scope must be instance or fleet, got ${quote(scope)}`);
  const window = query.get('window') ?? undefined;
  try {
    return { status: 200, body: await cache.fleetStats(window === undefined ? {} : { window }) };
  } catch (error) {
    return fleetError(error);
  }
}

/** Builds the endpoints of `cache`; options are validated here, once (ConfigError naming `where.<option>`). */
export function createEndpoints<Req>(
  cache: Cache,
  options: EndpointsOptions<Req> = {},
  where = 'endpoints',
): Endpoint<Req>[] {
  if (typeof cache?.stats !== 'function') throw new ConfigError(where, 'needs a Cache');
  if (typeof options !== 'object' || options === null) throw new ConfigError(where, 'expected an object');
  const prefix = normalisePrefix(options.prefix ?? ENDPOINT_DEFAULTS.prefix, `${where}.prefix`);
  const check = resolveAdmin(options.admin, `${where}.admin`);
  const { warmUp } = options;
  if (warmUp !== undefined && typeof warmUp !== 'function') {
    throw new ConfigError(`${where}.warmUp`, 'expected a function (body, request) => warm-up jobs');
  }
  const concurrency = options.warmUpConcurrency ?? ENDPOINT_DEFAULTS.warmUpConcurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ConfigError(`${where}.warmUpConcurrency`, 'expected a positive integer');
  }
  if (options.protectReads !== undefined && typeof options.protectReads !== 'boolean') {
    throw new ConfigError(`${where}.protectReads`, 'expected true or false');
  }
  if (options.dashboard !== undefined && typeof options.dashboard !== 'boolean') {
    throw new ConfigError(`${where}.dashboard`, 'expected true or false');
  }

  const guard = async (req: EndpointRequest<Req>): Promise<EndpointResponse | undefined> => {
    if (!check) return errorResponse(403, 'this endpoint is disabled: configure admin: { token } or { authorize }');
    return (await check(req.headers, req.request)) ? undefined : errorResponse(403, 'admin credentials required');
  };
  const read =
    (fn: () => Promise<EndpointResponse>) =>
    async (req: EndpointRequest<Req>): Promise<EndpointResponse> =>
      (options.protectReads && (await guard(req))) || fn();

  const extra: Endpoint<Req>[] = [];
  if (options.dashboard) {
    extra.push({ method: 'GET', path: `${prefix}/dashboard`, handle: read(async () => dashboardResponse()) });
  }
  return [
    ...extra,
    { method: 'GET', path: `${prefix}/hot-keys`, handle: (req) => read(() => hotKeysAnswer(cache, req.url))(req) },
    { method: 'GET', path: `${prefix}/stats`, handle: (req) => read(() => statsAnswer(cache, req.url))(req) },
    {
      method: 'GET',
      path: `${prefix}/health`,
      handle: read(async () => {
        const health = await cache.health();
        return { status: health.status === 'unavailable' ? 503 : 200, body: health };
      }),
    },
    { method: 'GET', path: `${prefix}/info`, handle: read(async () => ({ status: 200, body: await cache.info() })) },
    {
      method: 'POST',
      path: `${prefix}/invalidate`,
      async handle(req) {
        const refused = await guard(req);
        if (refused) return refused;
        const target = parseTarget(req.body);
        if (typeof target === 'string') return errorResponse(400, target);
        try {
          if ('all' in target) await cache.invalidateAll();
          else if ('tags' in target) await cache.invalidateTags(...target.tags);
          else if ('key' in target) await cache.delete(target.kind, target.key);
          else await cache.invalidateKind(target.kind);
        } catch (error) {
          if (isInfercacheError(error, 'E_CACHE_UNAVAILABLE') || isInfercacheError(error, 'E_CACHE_TIMEOUT')) {
            const later = 'key' in target ? '' : '; the invalidation will be applied when it reconnects';
            return errorResponse(503, `Redis is unavailable (${quoted(error)})${later}`);
          }
          if (isInfercacheError(error, 'E_CACHE_UNKEYABLE')) {
            return errorResponse(400, `key cannot be used as a cache key: ${quoted(error)}`);
          }
          throw error;
        }
        return { status: 200, body: { invalidated: target } };
      },
    },
    {
      method: 'POST',
      path: `${prefix}/warm-up`,
      async handle(req) {
        const refused = await guard(req);
        if (refused) return refused;
        if (!warmUp) return errorResponse(501, 'no warm-up configured: pass warmUp: (body, request) => jobs');
        let jobs: Iterable<WarmUpEntry>;
        try {
          jobs = await warmUp(req.body, req.request);
        } catch (error) {
          return errorResponse(400, (error as Error)?.message ?? String(error));
        }
        return { status: 200, body: await cache.warmUp(jobs, { concurrency }) };
      },
    },
  ];
}
