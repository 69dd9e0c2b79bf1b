/**
 * `infercache/fastify`: the Fastify 5 plugin. Decorates `app.cache`, caches routes that set `config.cache`, mounts
 * the operational endpoints when asked, and closes the cache it created with the app. The HTTP logic lives in
 * `src/http` (shared with the Express middleware); this file only adapts Fastify's hooks to it.
 */
import { finished } from 'node:stream';
import fp from 'fastify-plugin';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteHandlerMethod,
  RouteOptions,
  preHandlerAsyncHookHandler,
} from 'fastify';
import { createCache, type Cache } from '../src/cache.js';
import { ConfigError, InfercacheError } from '../src/errors.js';
import { RouteCache, type Capture, type RouteDecision } from '../src/http/route.js';
import {
  createEndpoints,
  errorResponse,
  unsupportedBody,
  ENDPOINT_HEADERS,
  type EndpointsOptions,
} from '../src/http/endpoints.js';
import { resolveAdmin, type AdminOptions } from '../src/http/admin.js';
import { X_CACHE, bodyBytes } from '../src/http/response.js';
import type { RouteCacheOptions } from '../src/http/options.js';
import { CACHE_OPTIONS, type CacheOptions, type Logger } from '../src/options.js';
import { rejectUnknownOptions } from '../src/config.js';
import { canonicalEncode } from '../src/keys.js';

/** Route caching options of a Fastify route (`config: { cache: { ... } }`). */
export type FastifyRouteCacheOptions = RouteCacheOptions<FastifyRequest>;

/** Options of the plugin: an existing `cache`, or cache options (then the plugin creates and closes the cache). */
export interface InfercacheFastifyOptions extends CacheOptions {
  /** A cache made with `createCache`; not closed with the app unless `closeCache` is true. */
  cache?: Cache;
  /** Close the cache when the app closes. @default true when the plugin created it, false for `cache` */
  closeCache?: boolean;
  /** Mount `GET stats | health | info` and `POST invalidate | warm-up` (under `/cache`). @default false */
  endpoints?: boolean | EndpointsOptions<FastifyRequest>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The infercache `Cache` of this app. */
    cache: Cache;
  }
  interface FastifyContextConfig {
    /** Cache this route's responses: `true` for the defaults, or options. */
    cache?: RouteCacheOptions<FastifyRequest> | boolean;
  }
}

/** Every option of the plugin, derived from its type; the cache options among them are refused together with `cache`. */
const PLUGIN_OPTIONS = {
  ...CACHE_OPTIONS,
  cache: true,
  closeCache: true,
  endpoints: true,
} as const satisfies Record<keyof InfercacheFastifyOptions, true>;
/** Options Fastify passes to every plugin along with its own (`register` options). */
const REGISTER_OPTIONS = { prefix: true, logLevel: true, logSerializers: true } as const;

/** Captures of the requests computing an entry, until their response is sent. */
const captures = new WeakMap<FastifyRequest, Capture>();

/** Replays of a response stored without `Content-Type`: `reply.send(buffer)` adds one, removed in `onSend`. */
const untyped = new WeakSet<FastifyRequest>();

function fastifyLogger(log: FastifyBaseLogger): Logger {
  return {
    warn: (message, details) => log.warn(details ?? {}, message),
    info: (message, details) => log.info(details ?? {}, message),
  };
}

/** Headers a `304 Not Modified` replay leaves out: it has no body. */
const NOT_MODIFIED_DROPS = new Set(['content-type', 'content-length']);

/**
 * A route's `constraints` (host, version, custom strategies) as sorted `[name, value]` pairs, or `undefined` when it
 * has none: two routes on one URL told apart by them never share an entry. Refused (ConfigError) when a value cannot
 * be keyed.
 */
function constraintsOf(constraints: unknown, label: string): Array<[string, unknown]> | undefined {
  if (constraints === null || typeof constraints !== 'object') return undefined;
  const names = Object.keys(constraints).sort();
  if (names.length === 0) return undefined;
  const pairs = names.map((name): [string, unknown] => [name, (constraints as Record<string, unknown>)[name]]);
  try {
    canonicalEncode(pairs);
  } catch (error) {
    throw new ConfigError('constraints', `route ${label}: ${(error as Error).message.replace(/^infercache: /, '')}`);
  }
  return pairs;
}

/** `" (host=a.example.com)"`: a route's constraints in its label, for messages. */
function describeConstraints(pairs: Array<[string, unknown]> | undefined): string {
  return pairs ? ` (${pairs.map(([name, value]) => `${name}=${String(value)}`).join(', ')})` : '';
}

/**
 * `owner`: the route's path pattern as Fastify reports it (`/a/:id`, prefix included), scoping its `key`;
 * `constraints`: its {@link constraintsOf}, part of every key of the route. A response served from the memory tier
 * is sent in the handler's own tick; one that waits for Redis, once the lookup settles.
 */
function cachedHandler(
  route: RouteCache<FastifyRequest>,
  handler: RouteHandlerMethod,
  owner: string,
  constraints: Array<[string, unknown]> | undefined,
): RouteHandlerMethod {
  /** Replays the decision's response, or runs the handler (capturing what it sends when it computes the entry). */
  function apply(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, decision: RouteDecision) {
    if (decision.replay && decision.notModified) {
      // As Express does: a conditional request matching the stored ETag / Last-Modified gets 304, no body.
      for (const [name, value] of decision.headers) if (!NOT_MODIFIED_DROPS.has(name)) reply.header(name, value);
      reply.code(304).send();
      return undefined;
    }
    for (const [name, value] of decision.headers) reply.header(name, value);
    if (decision.replay) {
      if (!decision.headers.some(([name]) => name === 'content-type')) untyped.add(request);
      reply.code(decision.status).send(decision.body);
      return undefined;
    }
    const capture = decision.capture;
    if (capture) {
      captures.set(request, capture);
      // A response that never reaches onSend (client gone, hijacked, timed out) must not keep waiters waiting.
      finished(reply.raw, () => capture.abort());
    }
    return handler.call(this, request, reply);
  }
  return function infercacheHandler(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const view = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: request.body,
      owner,
      constraints,
    };
    const decision = route.decide(view, request); // throws only for a strict cache: Fastify answers the error
    if (!(decision instanceof Promise)) return apply.call(this, request, reply, decision);
    return decision.then((decided) => {
      const result = apply.call(this, request, reply, decided);
      // After a wait, a handler that replies later through `reply.send` returns undefined: wait for the reply.
      return result === undefined ? reply : result;
    });
  } as RouteHandlerMethod;
}

function onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: HookHandlerDoneFunction): void {
  const send = done as (err: null, payload: unknown) => void;
  const capture = captures.get(request);
  if (capture) {
    captures.delete(request);
    capture.finish(reply.statusCode, reply.getHeaders(), bodyBytes(payload));
    // MISS, or BYPASS when the lookup that asked for this response could not read Redis: known just after finish.
    void capture.xCache.then((xCache) => {
      reply.header(X_CACHE, xCache);
      send(null, payload);
    });
    return;
  }
  if (untyped.delete(request)) reply.removeHeader('content-type');
  send(null, payload);
}

async function infercachePlugin(app: FastifyInstance, options: InfercacheFastifyOptions): Promise<void> {
  if (app.hasDecorator('cache')) {
    throw new InfercacheError(
      'E_CACHE_ALREADY_REGISTERED',
      'infercache: app.cache is already decorated: register the infercache plugin once, at the root ' +
        '(or another plugin owns the name "cache")',
    );
  }
  rejectUnknownOptions(options ?? {}, { ...PLUGIN_OPTIONS, ...REGISTER_OPTIONS }, '');
  const { cache: given, closeCache, endpoints, ...rest } = options ?? {};
  const cacheOptions: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rest))
    if (!Object.hasOwn(REGISTER_OPTIONS, name)) cacheOptions[name] = value;
  if (given !== undefined) {
    if (typeof given?.wrapDetailed !== 'function')
      throw new ConfigError('cache', 'expected a Cache from createCache()');
    const both = Object.keys(cacheOptions).find((k) => cacheOptions[k] !== undefined);
    if (both) throw new ConfigError(both, 'give either cache or cache options, not both');
  }
  if (closeCache !== undefined && typeof closeCache !== 'boolean') {
    throw new ConfigError('closeCache', 'expected true or false');
  }
  const cache = given ?? createCache({ logger: fastifyLogger(app.log), ...cacheOptions });
  const closes = given === undefined ? closeCache !== false : closeCache === true;
  const routes: Array<RouteCache<FastifyRequest>> = [];
  try {
    const mounted = endpoints ? createEndpoints<FastifyRequest>(cache, endpoints === true ? {} : endpoints) : [];
    for (const endpoint of mounted) {
      app.route({
        method: endpoint.method,
        url: endpoint.path,
        async handler(request, reply) {
          // Fastify parses text/plain too: refuse any body that is not JSON with 415, as the Express router does.
          const answer =
            (endpoint.method === 'POST' && unsupportedBody(request.headers)) ||
            (await endpoint.handle({ headers: request.headers, body: request.body, request, url: request.url }));
          return reply
            .code(answer.status)
            .headers(answer.headers ? { ...ENDPOINT_HEADERS, ...answer.headers } : ENDPOINT_HEADERS)
            .send(answer.body);
        },
      });
    }
  } catch (error) {
    if (closes) await cache.close();
    throw error;
  }

  app.decorate('cache', cache);
  app.addHook('onRoute', (routeOptions: RouteOptions) => {
    const config = routeOptions.config?.cache;
    if (config === undefined || config === false) return;
    const methods = [routeOptions.method].flat().map((m) => String(m).toUpperCase());
    const constraints = constraintsOf(routeOptions.constraints, `${methods.join(',')} ${routeOptions.url}`);
    const label = `${methods.join(',')} ${routeOptions.url}${describeConstraints(constraints)}`;
    const route = new RouteCache<FastifyRequest>(cache, config, { where: 'config.cache', label });
    if (!methods.some((m) => route.route.methods.has(m))) {
      if (methods.length === 1 && methods[0] === 'HEAD') return; // the HEAD twin of a GET route caching GET only
      throw new ConfigError(
        'config.cache.methods',
        `${methods.join(',')} is not among the cached methods (${[...route.route.methods].join(', ')}); ` +
          `add it, e.g. methods: ['POST'] (route ${label})`,
      );
    }
    routes.push(route);
    routeOptions.handler = cachedHandler(route, routeOptions.handler, routeOptions.url, constraints);
  });
  app.addHook('onSend', onSend);
  app.addHook('onClose', async () => {
    for (const route of routes) route.close();
    if (closes) await cache.close();
  });
}

/**
 * The plugin: `app.register(infercache, { cache })` or `app.register(infercache, { redis: { url }, ... })`.
 * Register it (with `await`) before the routes it caches: it wraps their handlers as they are added.
 */
export const infercache = fp(infercachePlugin, { fastify: '5.x', name: 'infercache' });
export default infercache;

/**
 * A `preHandler` that lets only admins through (403 otherwise), for an app's own admin routes (retrain,
 * clear): `{ preHandler: adminGuard({ token: process.env.ADMIN_TOKEN }) }`.
 */
export function adminGuard(admin: AdminOptions<FastifyRequest>): preHandlerAsyncHookHandler {
  const check = resolveAdmin(admin, 'adminGuard');
  if (!check) throw new ConfigError('adminGuard', 'expected { token } or { authorize(request) }');
  return async function infercacheAdminGuard(request: FastifyRequest, reply: FastifyReply) {
    if (await check(request.headers, request)) return;
    const answer = errorResponse(403, 'admin credentials required');
    return reply
      .code(answer.status)
      .headers(answer.headers ? { ...ENDPOINT_HEADERS, ...answer.headers } : ENDPOINT_HEADERS)
      .send(answer.body);
  };
}

export type { RouteCacheOptions, CacheableMethod } from '../src/http/options.js';
export type { EndpointsOptions } from '../src/http/endpoints.js';
export type { AdminOptions } from '../src/http/admin.js';
export type { CachedResponse, XCache } from '../src/http/response.js';
export { llmProxy, type LlmProxyOptions } from './llm-proxy.js';
