/**
 * Options of route caching (Fastify `config.cache`, Express `cacheRoute`), validated once when the route or middleware
 * is created; a bad one throws a ConfigError naming it. Their defaults live in src/defaults.ts.
 */
import { ConfigError, isInfercacheError } from '../errors.js';
import { parseDuration, type Duration } from '../duration.js';
import { validateSegment } from '../keys.js';
import { resolveEntry } from '../entry.js';
import { didYouMean } from '../suggest.js';
import { ROUTE_DEFAULTS } from '../defaults.js';
import type { MemoryOptions } from '../options.js';
import type { WrapOptions } from '../cache.js';
import { SITE, type Sited } from '../site.js';
import { VARIES, isShareable, type CachedResponse, type StoredResponse, viewOf } from './response.js';

/** HTTP methods whose responses can be cached. */
export type CacheableMethod = 'GET' | 'HEAD' | 'POST';

/**
 * A callback of a route option, bivariant in its parameters (declared as a method): it may take a narrower request
 * type than `Req`, such as the route's own `FastifyRequest<{ Params: { id: string } }>` or Express
 * `Request<{ id: string }>`, which the route's generics cannot pass to `config.cache`.
 */
export type RouteCallback<Args extends unknown[], R> = { bivariant(...args: Args): R }['bivariant'];

/** Per-route caching options; `Req` is the framework's request type. */
export interface RouteCacheOptions<Req = unknown> {
  /** Kind of entry: picks the TTL (`ttl.<kind>`, `CACHE_TTL_<KIND>`), groups stats and invalidation. @default 'http' */
  kind?: string;
  /**
   * TTL: a duration, or `(request, response) => duration`; the request may be annotated with the route's own type.
   * @default the kind's TTL
   */
  ttl?: Duration | RouteCallback<[request: Req, response: CachedResponse], Duration>;
  /**
   * Request → key parts, replacing the default (method, path, sorted query and, for POST, the canonical JSON body).
   * A string or number gives a readable key. Scoped to the route and method; `vary` headers are always added.
   * Without it, a POST whose body is not JSON (an upload, a form) bypasses the cache. The request may be annotated
   * with the route's own type: `key: (req: FastifyRequest<{ Params: { id: string } }>) => req.params.id`.
   */
  key?: RouteCallback<[request: Req], unknown>;
  /** Tags for group invalidation: strings, or a function of the request (which may be annotated, as for `key`). */
  tags?: readonly string[] | RouteCallback<[request: Req], readonly string[]>;
  /** Methods served from and stored in the cache; POST is keyed by its canonical JSON body. @default ['GET', 'HEAD'] */
  methods?: readonly CacheableMethod[];
  /**
   * Request headers that select the response (added to the key, and to the response's `Vary`). Naming
   * `authorization` or `cookie` here lets requests carrying them be cached, per credential. @default []
   */
  vary?: readonly string[];
  /**
   * The response is the same for every user: requests carrying `Authorization` or `Cookie` are served from and
   * stored in the cache anyway. Without this (or `vary`), such requests bypass the cache. @default false
   */
  public?: boolean;
  /** Honour `Cache-Control: no-cache` / `Pragma: no-cache` from the client: skip the cache for that request. @default false */
  allowNoCache?: boolean;
  /** Serve an expired response for this long (`X-Cache: STALE`) while the next request for it recomputes. @default 0 */
  staleWhileRevalidate?: Duration;
  /** Also keep responses in the in-process tier: `true` or its bounds. @default false */
  memory?: boolean | MemoryOptions;
  /** Response headers stored and replayed besides the content headers (e.g. `x-model-version`). @default [] */
  headers?: readonly string[];
}

/** Route options after validation. */
export interface ResolvedRoute<Req> {
  kind: string;
  methods: ReadonlySet<string>;
  /** Whether `methods` is the default (GET and HEAD), not given. */
  defaultMethods: boolean;
  /** Lower-case header names. */
  vary: readonly string[];
  varyAuthorization: boolean;
  varyCookie: boolean;
  public: boolean;
  allowNoCache: boolean;
  key: ((request: Req) => unknown) | undefined;
  /** Lower-case names of extra response headers to store. */
  headers: ReadonlySet<string>;
  staleMs: number;
  /** The entry options passed to `cache.wrapDetailed`: one stable object per route. */
  entry: WrapOptions<unknown>;
}

const METHODS = new Set<string>(['GET', 'HEAD', 'POST']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Every route option, derived from the type: adding an option to `RouteCacheOptions` without it does not compile. */
const KNOWN: readonly string[] = Object.keys({
  kind: true,
  ttl: true,
  key: true,
  tags: true,
  methods: true,
  vary: true,
  public: true,
  allowNoCache: true,
  staleWhileRevalidate: true,
  memory: true,
  headers: true,
} satisfies Record<keyof RouteCacheOptions, true>);

function headerList(value: unknown, setting: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(setting, 'expected an array of header names');
  return value.map((name) => {
    if (typeof name !== 'string' || !TOKEN.test(name)) {
      throw new ConfigError(setting, `expected header names, got ${JSON.stringify(name)}`);
    }
    return name.toLowerCase();
  });
}

function flag(value: unknown, setting: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ConfigError(setting, 'expected true or false');
  return value;
}

/**
 * Validates route options once. `where` names the option in errors (`config.cache`, `cacheRoute`); `route`
 * (e.g. `POST /predict`) is added to the message when known.
 */
export function resolveRouteOptions<Req>(
  options: RouteCacheOptions<Req> | true,
  where: string,
  route?: string,
): ResolvedRoute<Req> {
  try {
    return resolve(options, where, route);
  } catch (error) {
    if (!isInfercacheError(error, 'E_CACHE_CONFIG') || !route) throw error;
    const reason = error.message.slice(`infercache: invalid ${error.setting}: `.length);
    throw new ConfigError(error.setting, `${reason} (route ${route})`, { cause: error });
  }
}

function resolve<Req>(options: RouteCacheOptions<Req> | true, where: string, route?: string): ResolvedRoute<Req> {
  const o: RouteCacheOptions<Req> = options === true ? {} : options;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new ConfigError(where, 'expected true or an object of route cache options');
  }
  for (const name of Object.keys(o)) {
    if (!KNOWN.includes(name)) {
      throw new ConfigError(
        `${where}.${name}`,
        `unknown option '${name}'${didYouMean(name, KNOWN) || `; known options: ${KNOWN.join(', ')}`}`,
      );
    }
  }
  const kind = validateSegment(o.kind ?? ROUTE_DEFAULTS.kind, `${where}.kind`);
  const methodList = o.methods ?? ROUTE_DEFAULTS.methods;
  if (!Array.isArray(methodList) || methodList.length === 0) {
    throw new ConfigError(`${where}.methods`, 'expected a non-empty array of GET, HEAD, POST');
  }
  const methods = new Set<string>();
  for (const m of methodList) {
    const upper = typeof m === 'string' ? m.toUpperCase() : '';
    if (!METHODS.has(upper)) {
      throw new ConfigError(`${where}.methods`, `${JSON.stringify(m)} cannot be cached; use GET, HEAD or POST`);
    }
    methods.add(upper);
  }
  const vary = headerList(o.vary, `${where}.vary`);
  const headers = new Set(headerList(o.headers, `${where}.headers`));
  if (o.key !== undefined && typeof o.key !== 'function') {
    throw new ConfigError(`${where}.key`, 'expected a function of the request');
  }
  const staleMs =
    o.staleWhileRevalidate === undefined ? 0 : parseDuration(o.staleWhileRevalidate, `${where}.staleWhileRevalidate`);
  const entry = entryOptions(o, kind, where, route);
  return {
    kind,
    methods,
    defaultMethods: o.methods === undefined,
    vary,
    varyAuthorization: vary.includes('authorization'),
    varyCookie: vary.includes('cookie'),
    public: flag(o.public, `${where}.public`),
    allowNoCache: flag(o.allowNoCache, `${where}.allowNoCache`),
    key: o.key,
    headers,
    staleMs,
    entry,
  };
}

const varyBypass = (value: unknown): string | undefined => (value === VARIES ? 'vary' : undefined);

/**
 * Turns route options into the entry options of `wrapDetailed`, checked once with the core's validator. The span of
 * each lookup is `infercache route <METHOD> <path>` when the framework tells the route, else `infercache route <kind>`.
 */
function entryOptions<Req>(
  o: RouteCacheOptions<Req>,
  kind: string,
  where: string,
  route?: string,
): WrapOptions<unknown> {
  const entry: WrapOptions<unknown> & Sited = {
    kind,
    when: isShareable,
    [SITE]: `route ${route ?? kind}`,
    // a response whose Vary the route does not honour is not stored (`when`), and its request counts as a bypass
    bypassReason: varyBypass,
  };
  const { ttl, tags } = o;
  if (typeof ttl === 'function') entry.ttl = (args, result) => ttl(args[0] as Req, viewOf(result as StoredResponse));
  else if (ttl !== undefined) entry.ttl = ttl;
  if (typeof tags === 'function') entry.tags = (request: Req) => tags(request);
  else if (tags !== undefined) entry.tags = tags;
  if (o.staleWhileRevalidate !== undefined) entry.staleWhileRevalidate = o.staleWhileRevalidate;
  // A stored response never reaches user code (it is written to the socket), so memory hits share it: no copy per hit.
  if (o.memory !== undefined && o.memory !== false)
    entry.memory = { ...(o.memory === true ? {} : o.memory), shared: true };
  resolveEntry(kind, entry, where);
  return entry;
}
