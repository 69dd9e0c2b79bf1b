/**
 * `infercache/express`: `cacheRoute(cache, options)` caches one route's responses; `cacheRouter(cache, options)`
 * mounts the operational endpoints; `adminGuard(admin)` protects an app's own admin routes. Works with Express 4
 * and 5: no middleware returns a promise, and every failure goes to `next`. The HTTP logic lives in `src/http`.
 */
import { finished } from 'node:stream';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Cache } from '../src/cache.js';
import { ConfigError } from '../src/errors.js';
import { RouteCache, type Capture, type RouteDecision } from '../src/http/route.js';
import { createEndpoints, errorResponse, ENDPOINT_HEADERS, type EndpointsOptions } from '../src/http/endpoints.js';
import { resolveAdmin, type AdminOptions } from '../src/http/admin.js';
import type { RouteCacheOptions } from '../src/http/options.js';

/** Route caching options of an Express route. */
export type ExpressRouteCacheOptions = RouteCacheOptions<Request>;

/** Options of {@link cacheRouter}. */
export type ExpressEndpointsOptions = EndpointsOptions<Request>;

/** Largest JSON body the operational endpoints read. */
const ENDPOINT_BODY_LIMIT = '1mb';

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
    return (end as (...a: unknown[]) => Response).call(this, chunk, encoding, ...rest);
  } as Response['end'];
  // Also when the client went away before we got here, or the handler never ends the response: waiting requests
  // then run their own handler instead of waiting forever. A no-op once finish() ran.
  finished(res, () => capture.abort());
}

function replay(res: Response, decision: Extract<RouteDecision, { replay: true }>): void {
  res.status(decision.status);
  for (const [name, value] of decision.headers) res.setHeader(name, value);
  res.send(decision.body); // sets Content-Length, answers 304 to a matching If-None-Match, omits the body for HEAD
}

/**
 * Per-route caching middleware: `app.post('/predict', express.json(), cacheRoute(cache, { methods: ['POST'] }), handler)`.
 * Same behaviour and headers as the Fastify route option. Options are validated here, once.
 */
export function cacheRoute(cache: Cache, options: ExpressRouteCacheOptions | true = true): RequestHandler {
  const route = new RouteCache<Request>(cache, options, 'cacheRoute');
  return function infercacheRoute(req: Request, res: Response, next: NextFunction): void {
    const view = { method: req.method, url: req.originalUrl ?? req.url, headers: req.headers, body: req.body };
    route
      .handle(view, req)
      .then((decision) => {
        if (decision.replay) return replay(res, decision);
        for (const [name, value] of decision.headers) res.setHeader(name, value);
        if (decision.capture) captureResponse(res, decision.capture);
        next();
      })
      .catch(next);
  };
}

function send(res: Response, status: number, body: unknown): void {
  res.status(status).set(ENDPOINT_HEADERS).json(body);
}

/**
 * The operational endpoints as a router: `app.use(cacheRouter(cache, { admin: { token } }))` serves
 * `GET /cache/stats | health | info` and `POST /cache/invalidate | warm-up` (JSON bodies are parsed here).
 */
export function cacheRouter(cache: Cache, options: ExpressEndpointsOptions = {}): Router {
  const endpoints = createEndpoints<Request>(cache, options, 'cacheRouter');
  const router = express.Router();
  const json = express.json({ limit: ENDPOINT_BODY_LIMIT });
  for (const endpoint of endpoints) {
    const handler = (req: Request, res: Response, next: NextFunction) => {
      endpoint
        .handle({ headers: req.headers, body: req.body, request: req })
        .then((answer) => send(res, answer.status, answer.body))
        .catch(next);
    };
    if (endpoint.method === 'GET') router.get(endpoint.path, handler);
    else router.post(endpoint.path, json, handler);
  }
  // Bad JSON, a body too large, an unsupported charset: a 4xx with a message, not Express's HTML error page.
  router.use(
    (
      error: { status?: number; statusCode?: number; message?: string },
      _req: Request,
      res: Response,
      next: NextFunction,
    ) => {
      const status = error?.status ?? error?.statusCode;
      if (typeof status !== 'number' || status < 400 || status > 499) return next(error);
      const answer = errorResponse(status, error.message ?? 'bad request');
      send(res, answer.status, answer.body);
    },
  );
  return router;
}

/** Middleware that lets only admins through (403 otherwise), for an app's own admin routes. */
export function adminGuard(admin: AdminOptions<Request>): RequestHandler {
  const check = resolveAdmin(admin, 'adminGuard');
  if (!check) throw new ConfigError('adminGuard', 'expected { token } or { authorize(request) }');
  return function infercacheAdminGuard(req: Request, res: Response, next: NextFunction): void {
    check(req.headers, req)
      .then((ok) => {
        if (ok) return next();
        const answer = errorResponse(403, 'admin credentials required');
        send(res, answer.status, answer.body);
      })
      .catch(next);
  };
}

export type { RouteCacheOptions, CacheableMethod } from '../src/http/options.js';
export type { EndpointsOptions } from '../src/http/endpoints.js';
export type { AdminOptions } from '../src/http/admin.js';
export type { CachedResponse, XCache } from '../src/http/response.js';
