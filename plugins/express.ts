/**
 * `infercache/express`: `cacheRoute(cache, options)` caches one route's responses; `cacheRouter(cache, options)`
 * serves the operational endpoints; `adminGuard(admin)` protects an app's own admin routes. Works with Express 4
 * and 5: it never loads Express itself (types only), no middleware returns a promise, and every failure goes to
 * `next`. The HTTP logic lives in `src/http`.
 */
import { finished } from 'node:stream';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Cache } from '../src/cache.js';
import { ConfigError } from '../src/errors.js';
import { RouteCache, type Capture, type RouteDecision } from '../src/http/route.js';
import { X_CACHE } from '../src/http/response.js';
import {
  createEndpoints,
  endpointMatcher,
  errorResponse,
  normalisePrefix,
  ENDPOINT_BODY_LIMIT,
  type EndpointsOptions,
} from '../src/http/endpoints.js';
import { ENDPOINT_DEFAULTS } from '../src/defaults.js';
import { readJsonBody, writeJson, type JsonBody } from '../src/http/json.js';
import { resolveAdmin, type AdminOptions } from '../src/http/admin.js';
import type { RouteCacheOptions } from '../src/http/options.js';

/** Route caching options of an Express route. */
export type ExpressRouteCacheOptions = RouteCacheOptions<Request>;

/** Options of {@link cacheRouter}. */
export type ExpressEndpointsOptions = EndpointsOptions<Request>;

type Chunk = string | Uint8Array | undefined | null | ((error?: Error | null) => void);

function toBuffer(chunk: Chunk, encoding: unknown): Buffer | undefined {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return undefined;
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Collects what the handler writes, up to `capture.maxBytes`, and hands the response over at `end()`. */
function captureResponse(res: Response, capture: Capture): void {
  const { write, end, writeHead } = res;
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  let headArg: Record<string, unknown> | undefined;
  const collect = (chunk: Chunk, encoding: unknown) => {
    const bytes = tooLarge ? undefined : toBuffer(chunk, encoding);
    if (!bytes) return;
    size += bytes.length;
    if (size > capture.maxBytes) {
      tooLarge = true;
      chunks.length = 0;
    } else chunks.push(Buffer.from(bytes));
  };
  res.writeHead = function (this: Response, ...args: unknown[]) {
    const headers = args.find((a, i) => i > 0 && typeof a === 'object' && a !== null && !Array.isArray(a));
    if (headers) headArg = headers as Record<string, unknown>;
    return (writeHead as (...a: unknown[]) => Response).apply(this, args);
  } as Response['writeHead'];
  res.write = function (this: Response, chunk: Chunk, encoding?: unknown, ...rest: unknown[]) {
    collect(chunk, encoding);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, encoding, ...rest);
  } as Response['write'];
  res.end = function (this: Response, chunk?: Chunk, encoding?: unknown, ...rest: unknown[]) {
    collect(chunk, encoding);
    res.write = write;
    res.end = end;
    res.writeHead = writeHead;
    const headers = { ...res.getHeaders(), ...(headArg as object) } as Record<string, string>;
    capture.finish(res.statusCode, headers, tooLarge ? undefined : Buffer.concat(chunks));
    const send = () => (end as (...a: unknown[]) => Response).call(this, chunk, encoding, ...rest);
    // A streamed response has sent its headers already (X-Cache: MISS). Otherwise X-Cache says MISS, or BYPASS when
    // the lookup that asked for this response could not read Redis: known a few microtasks after finish().
    if (res.headersSent) return send();
    void capture.xCache.then((xCache) => {
      if (res.writableEnded) return; // the handler ended the response again meanwhile
      if (!res.headersSent) res.setHeader(X_CACHE, xCache);
      send();
    });
    return this;
  } as Response['end'];
  // Also when the client went away before we got here, or the handler never ends the response: waiting requests
  // then run their own handler instead of waiting forever. A no-op once finish() ran.
  finished(res, () => capture.abort());
}

/**
 * Sends a stored response exactly as stored: not through `res.send`, which would add a `Content-Type` and an `ETag`
 * the response did not have and measure the empty body of a HEAD entry. Like `res.send`, it answers 304 to a
 * request whose `If-None-Match` / `If-Modified-Since` matches (decided by the shared rule, as on Fastify).
 */
function replay(req: Request, res: Response, decision: Extract<RouteDecision, { replay: true }>): void {
  res.statusCode = decision.status;
  for (const [name, value] of decision.headers) res.setHeader(name, value);
  if (decision.notModified) {
    res.statusCode = 304;
    for (const name of ['content-type', 'content-length', 'transfer-encoding']) res.removeHeader(name);
    res.end();
    return;
  }
  res.end(req.method === 'HEAD' ? undefined : decision.body); // Content-Length is in the headers
}

/**
 * The body a parser read, or `undefined`. Express 4's body-parser sets `req.body = {}` on every request whose body
 * it skips (another content type, no parser for it), so a body counts only once the request stream was read (or
 * body-parser 1.x marked it read with `req._body`); the content type then says whether it is JSON.
 */
function parsedBody(req: Request): unknown {
  const read = (req as { _body?: unknown })._body === true || req.readableDidRead || req.readableEnded;
  return read ? req.body : undefined;
}

/**
 * The route a request matched, as a path pattern: the mount path and the route's path (`/chargers/:id/status`), or
 * the mount path and `*` for a middleware mounted with `app.use`. A route `key` is scoped to it.
 */
function ownerOf(req: Request): string {
  const route = (req as { route?: { path?: unknown } }).route;
  return (req.baseUrl ?? '') + (route ? String(route.path ?? '') : '*');
}

/** Replays the decision's response, or passes the request on to the handler (capturing what it sends). */
function apply(req: Request, res: Response, next: NextFunction, decision: RouteDecision): void {
  if (decision.replay) return replay(req, res, decision);
  for (const [name, value] of decision.headers) res.setHeader(name, value);
  if (decision.capture) captureResponse(res, decision.capture);
  next();
}

/**
 * Per-route caching middleware: `app.post('/predict', express.json(), cacheRoute(cache, { methods: ['POST'] }), handler)`.
 * Same behaviour and headers as the Fastify route option. Options are validated here, once. It cannot know its
 * route's method: a request whose method is not cached bypasses the cache, and the first one is warned about.
 */
export function cacheRoute(cache: Cache, options: ExpressRouteCacheOptions | true = true): RequestHandler {
  const route = new RouteCache<Request>(cache, options, { where: 'cacheRoute', warnMethods: true });
  return function infercacheRoute(req: Request, res: Response, next: NextFunction): void {
    const view = {
      method: req.method,
      url: req.originalUrl ?? req.url,
      headers: req.headers,
      body: parsedBody(req),
      owner: ownerOf(req),
    };
    let decision: RouteDecision | Promise<RouteDecision>;
    try {
      decision = route.decide(view, req);
    } catch (error) {
      return next(error); // a strict cache refusing a request it cannot key
    }
    if (!(decision instanceof Promise)) return apply(req, res, next, decision);
    decision.then((decided) => apply(req, res, next, decided)).catch(next);
  };
}

const NO_BODY: Promise<JsonBody> = Promise.resolve({ ok: true, body: undefined });

/**
 * The operational endpoints as one middleware: `app.use(cacheRouter(cache, { admin: { token } }))` serves
 * `GET /cache/stats | health | info` and `POST /cache/invalidate | warm-up`, and passes every other request on.
 * Mounted at its own prefix, `app.use('/cache', cacheRouter(cache))`, it serves the same paths (`/cache/stats`): a
 * mount path ending with the prefix counts as the prefix. Under another mount path the paths are relative to it
 * (`app.use('/ops', ...)`: `/ops/cache/stats`). It reads JSON bodies itself (at most 1 MiB; 413, 415 and bad JSON
 * answered with a JSON message), or takes the body an upstream `express.json()` parsed.
 */
export function cacheRouter(cache: Cache, options: ExpressEndpointsOptions = {}): RequestHandler {
  const find = endpointMatcher(createEndpoints<Request>(cache, options, 'cacheRouter'));
  const prefix = normalisePrefix(options.prefix ?? ENDPOINT_DEFAULTS.prefix, 'cacheRouter.prefix');
  const mountSuffix = prefix.toLowerCase();
  return function infercacheRouter(req: Request, res: Response, next: NextFunction): void {
    // Express strips the mount path from req.url (req.originalUrl keeps it): match what is left, after the prefix
    // when the mount path already ends with it.
    const base = req.baseUrl;
    const mountedAtPrefix = prefix !== '' && typeof base === 'string' && base.toLowerCase().endsWith(mountSuffix);
    const endpoint = find(req.method, mountedAtPrefix ? prefix + req.url : req.url);
    if (!endpoint) return next();
    (endpoint.method === 'POST' ? readJsonBody(req, ENDPOINT_BODY_LIMIT) : NO_BODY)
      .then((read) =>
        read.ok ? endpoint.handle({ headers: req.headers, body: read.body, request: req, url: req.url }) : read.answer,
      )
      .then((answer) => writeJson(res, answer, req.method === 'HEAD'))
      .catch(next);
  };
}

/** Middleware that lets only admins through (403 otherwise), for an app's own admin routes. */
export function adminGuard(admin: AdminOptions<Request>): RequestHandler {
  const check = resolveAdmin(admin, 'adminGuard');
  if (!check) throw new ConfigError('adminGuard', 'expected { token } or { authorize(request) }');
  return function infercacheAdminGuard(req: Request, res: Response, next: NextFunction): void {
    check(req.headers, req)
      .then((ok) => {
        if (ok) return next();
        writeJson(res, errorResponse(403, 'admin credentials required'), req.method === 'HEAD');
      })
      .catch(next);
  };
}

export type { RouteCacheOptions, CacheableMethod } from '../src/http/options.js';
export type { EndpointsOptions } from '../src/http/endpoints.js';
export type { AdminOptions } from '../src/http/admin.js';
export type { CachedResponse, XCache } from '../src/http/response.js';
