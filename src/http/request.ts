/**
 * Request → cache key parts, and whether a request may use the cache at all: the method, `Cache-Control`, and the
 * credential rule (a request carrying `Authorization` or `Cookie` is cached only when the route varies on it or
 * declares itself public), so that one user never receives another user's response.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isEmptyKey } from '../keys.js';
import type { ResolvedRoute } from './options.js';

/** The parts of a request that route caching reads, whatever the framework. */
export interface RequestView {
  /** Upper-case method. */
  method: string;
  /** Path and query as received (`/predict?x=1`), including any mount prefix. */
  url: string;
  /**
   * The route's path pattern (`/chargers/:id/status`), which scopes what a route `key` returns: two routes never
   * share an entry through equal keys. Only read when the route has a `key`.
   */
  owner: string;
  headers: IncomingHttpHeaders;
  /**
   * What else than its path selects the route, canonical (Fastify `constraints` as sorted `[name, value]` pairs: two
   * routes on one URL split by host or version), or `undefined`. Part of every key of the route, custom or default.
   */
  constraints?: unknown;
  /**
   * Body as the framework's JSON parser left it: `undefined` when it did not parse one (an adapter passes
   * `undefined` for a placeholder such as the `{}` Express 4's body-parser sets on bodies it skips).
   */
  body: unknown;
}

/**
 * Why a request does not use the cache. `unparsed-body`: a JSON body no parser read; `body-type`: a body that is
 * not JSON (an upload, a form), which only a route `key` can key; `key`: the route's `key` threw or returned nothing
 * to key by.
 */
export type BypassReason = 'method' | 'no-cache' | 'authorization' | 'cookie' | 'unparsed-body' | 'body-type' | 'key';

/**
 * A request's key parts, or why it bypasses the cache. With reason `key`, `error` is what the key function threw,
 * or `empty` what it returned instead of a key (`undefined`, `null`, `''`, `NaN`, or an array or plain object of
 * only such values: see isEmptyKey).
 */
export type KeyResult =
  { ok: true; parts: unknown } | { ok: false; reason: BypassReason; error?: unknown; empty?: { value: unknown } };

/**
 * What a route `key` returned, scoped to its route and method: `${scope}#${id}` for a string or number (readable in
 * redis-cli, e.g. `/chargers/:id/status#CHG_001`; `#` cannot appear in a URL path), else `[scope, value]` (hashed).
 * The scope is the owner for GET and `${method}:${owner}` for any other method (`POST:/x/:id#1`, `HEAD:/x/:id#1`):
 * an owner starts with `/` or `*`, so a GET owner never looks like another method's scope.
 */
export function scopedKey(owner: string, value: unknown, method = 'GET'): unknown {
  const scope = method === 'GET' ? owner : method + ':' + owner;
  return typeof value === 'string' || typeof value === 'number' ? `${scope}#${value}` : [scope, value];
}

const NO_CACHE = /(?:^|,)\s*no-cache\s*(?:$|,)/i;

/** Query parameters as `[name, value]` pairs sorted by name (stable: repeated names keep their order). */
export function sortedQuery(url: string): Array<[string, string]> {
  const q = url.indexOf('?');
  if (q === -1 || q === url.length - 1) return [];
  const pairs = [...new URLSearchParams(url.slice(q + 1))];
  return pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * The default key of a GET request on a route without constraints or `vary`: `GET:` + path + `?` + the query sorted
 * by name (re-encoded, so `a=1&b=2` and `b=2&a=1` name one entry), a readable id (`infercache:http:v1:GET:/a/1?x=2`;
 * the cache hashes it when it is not readable: long, or with spaces or control characters). No other key of a route
 * starts with `GET:` (a route `key` gives `/path#id` for GET, `POST:`/`HEAD:` for the others).
 */
export function readableGet(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return 'GET:' + url;
  const path = url.slice(0, q);
  if (q === url.length - 1) return 'GET:' + path;
  return 'GET:' + path + '?' + new URLSearchParams(sortedQuery(url)).toString();
}

/** The path of a URL, without its query. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Whether the request announces a body (so an `undefined` parsed body means "not parsed", not "empty"). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/** Media type of the request body, lower-case, without parameters. */
export function mediaType(headers: IncomingHttpHeaders): string | null {
  const type = headers['content-type'];
  return type ? type.split(';', 1)[0]!.trim().toLowerCase() : null;
}

/** Whether a media type (from {@link mediaType}) is JSON: `application/json` or `application/<name>+json`. */
export function isJsonType(type: string | null): boolean {
  return type === 'application/json' || (type !== null && /^application\/[^/]+\+json$/.test(type));
}

/**
 * Key parts of a request for a route: by default `[method, path, sorted query]` (for GET on a route without
 * constraints or `vary`, the readable string of {@link readableGet}), plus the media type and the parsed JSON body
 * for POST (hashed canonically by the cache, so key order and whitespace do not matter). A POST
 * body that is not JSON (an upload, a form) or that no parser read bypasses: only a route `key` can key it. A
 * route's `key(request)` replaces all that, scoped to the route and method ({@link scopedKey}); one that returns
 * nothing to key by bypasses; a route's constraints ({@link RequestView.constraints}) are prepended and the
 * values of `vary` headers appended.
 */
export function requestKey<Req>(route: ResolvedRoute<Req>, view: RequestView, raw: Req): KeyResult {
  const method = view.method;
  if (!route.methods.has(method)) return { ok: false, reason: 'method' };
  const h = view.headers;
  if (route.allowNoCache) {
    const cc = h['cache-control'];
    if ((cc !== undefined && NO_CACHE.test(cc)) || (cc === undefined && h.pragma?.includes('no-cache'))) {
      return { ok: false, reason: 'no-cache' };
    }
  }
  if (!route.public) {
    if (h.authorization !== undefined && !route.varyAuthorization) return { ok: false, reason: 'authorization' };
    if (h.cookie !== undefined && !route.varyCookie) return { ok: false, reason: 'cookie' };
  }
  let parts: unknown;
  if (route.key) {
    let value: unknown;
    try {
      value = route.key(raw);
    } catch (error) {
      return { ok: false, reason: 'key', error };
    }
    if (isEmptyKey(value)) return { ok: false, reason: 'key', empty: { value } };
    parts = scopedKey(view.owner, value, method);
  } else if (method === 'POST') {
    const type = mediaType(h);
    let body: unknown = null;
    if (hasBody(h)) {
      if (!isJsonType(type)) return { ok: false, reason: 'body-type' };
      if (view.body === undefined) return { ok: false, reason: 'unparsed-body' };
      body = view.body;
    }
    parts = [method, pathOf(view.url), sortedQuery(view.url), type, body];
  } else if (method === 'GET' && view.constraints === undefined && route.vary.length === 0) {
    return { ok: true, parts: readableGet(view.url) };
  } else {
    parts = [method, pathOf(view.url), sortedQuery(view.url)];
  }
  if (view.constraints !== undefined) parts = [view.constraints, parts];
  if (route.vary.length) parts = [parts, route.vary.map((name) => headerValue(h, name))];
  return { ok: true, parts };
}
