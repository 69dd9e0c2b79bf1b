/**
 * forecast (Fastify): daily demand forecasts per product.
 *
 *   GET    /products                        the catalogue (cached 10 min)
 *   GET    /products/:id/forecast?days=7    a forecast (cached 5 min; the product's model is cached too)
 *   DELETE /admin/cache/:target             clear by target: all | model | forecast | products | a product id
 *   GET    /health                          the service, its cache and the start-up warm-up
 *   /cache/info                             entries per kind and TTL settings; also stats, health, invalidate,
 *                                           warm-up ({ products?: string[], days?: number })
 *
 * With CACHE_AUTO_WARMUP=true the models and 7-day forecasts of the popular products are loaded at start-up, in
 * the background, so the first users do not wait seconds for a model.
 *
 * In your own app, import from 'infercache' and 'infercache/fastify' instead of the relative paths below.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { configFromEnv, type CacheOptions, type WarmUpReport } from '../../src/index.js';
import infercache, { adminGuard, type AdminOptions } from '../../plugins/fastify.js';
import { ForecastBackend, ForecastService } from './service.js';

/** Options of {@link buildForecastApp}. */
export interface ForecastAppOptions {
  /** Environment (REDIS_URL, CACHE_TTL_*, CACHE_AUTO_WARMUP, CACHE_ADMIN_TOKEN...). @default process.env */
  env?: Record<string, string | undefined>;
  /** Cache options over those read from the environment. */
  cache?: CacheOptions;
  /** The backend. @default ForecastBackend with 2 s model loads */
  backend?: ForecastBackend;
  /** Fastify's logger. @default false */
  logger?: FastifyServerOptions['logger'];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The cached forecast service, for other plugins and routes. */
    forecasts: ForecastService;
  }
}

/** How many popular products are warmed up. */
const POPULAR = 5;
const KINDS = new Set(['model', 'forecast', 'products']);
const PRODUCT_ID = /^P[0-9]{3}$/;

/** Builds the app (not listening); `await app.close()` closes the cache. */
export async function buildForecastApp(options: ForecastAppOptions = {}): Promise<FastifyInstance> {
  // TTLs per kind, unless the environment says otherwise (CACHE_TTL_FORECAST=1m...): options would win over it.
  const env: Record<string, string | undefined> = {
    CACHE_TTL_MODEL: '6h',
    CACHE_TTL_FORECAST: '5m',
    CACHE_TTL_PRODUCTS: '10m',
    CACHE_TTL_DEFAULT: '1h',
    ...(options.env ?? process.env),
  };
  const service = new ForecastService(options.backend ?? new ForecastBackend());
  const admin: AdminOptions<any> = env.CACHE_ADMIN_TOKEN
    ? { token: env.CACHE_ADMIN_TOKEN }
    : { authorize: () => false };
  const app = Fastify({ logger: options.logger ?? false });
  const jobs = (products: string[], days: number) =>
    products.flatMap((id) => [() => service.model(id), () => service.forecast(id, days)]);

  await app.register(infercache, {
    redis: { url: 'redis://127.0.0.1:6379' },
    namespace: 'forecast',
    ...configFromEnv(env),
    setDefault: true, // the decorators of ForecastService use this app's cache
    ...options.cache,
    endpoints: {
      admin,
      warmUpConcurrency: 2,
      warmUp: async (body) => {
        const { products, days = 7 } = (body ?? {}) as { products?: unknown; days?: unknown };
        if (products !== undefined && (!Array.isArray(products) || !products.every((p) => PRODUCT_ID.test(p)))) {
          throw new TypeError('products must be an array of product ids like P001');
        }
        if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 90) {
          throw new TypeError('days must be an integer from 1 to 90');
        }
        return jobs((products as string[] | undefined) ?? (await service.popular(POPULAR)), days);
      },
    },
  });

  app.decorate('forecasts', service);

  const warmUp: { state: 'off' | 'running' | 'done'; report?: WarmUpReport } = { state: 'off' };
  if (/^(1|true|yes|on)$/i.test(env.CACHE_AUTO_WARMUP ?? '')) {
    app.addHook('onReady', async () => {
      warmUp.state = 'running';
      // In the background: start-up is not held up by seconds of model loading, nor by Redis being down.
      void service
        .popular(POPULAR)
        .then((products) => app.cache.warmUp(jobs(products, 7), { concurrency: 2 }))
        .then((report) => {
          Object.assign(warmUp, { state: 'done', report });
          app.log.info({ warmUp: report }, 'cache warmed up');
        })
        .catch((error: unknown) => app.log.warn({ err: error }, 'warm-up failed'));
    });
  }

  app.get('/products', async () => service.products());

  app.get<{ Params: { id: string }; Querystring: { days: number } }>(
    '/products/:id/forecast',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', pattern: PRODUCT_ID.source } } },
        querystring: { type: 'object', properties: { days: { type: 'integer', minimum: 1, maximum: 90, default: 7 } } },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!service.backend.catalogue.some((p) => p.id === id))
        return reply.code(404).send({ message: 'no such product' });
      return service.forecast(id, request.query.days);
    },
  );

  app.delete<{ Params: { target: string } }>(
    '/admin/cache/:target',
    { preHandler: adminGuard(admin) },
    async (request, reply) => {
      const { target } = request.params;
      try {
        if (target === 'all') await app.cache.invalidateAll();
        else if (KINDS.has(target)) await app.cache.invalidateKind(target);
        else if (PRODUCT_ID.test(target)) await app.cache.invalidateTags(`product:${target}`);
        else return reply.code(400).send({ message: 'target: all | model | forecast | products | a product id' });
      } catch (error) {
        return reply.code(503).send({ message: `cache unavailable: ${(error as Error).message}` });
      }
      return { cleared: target };
    },
  );

  app.get('/health', async () => {
    const cache = await app.cache.health();
    return { status: cache.status === 'unavailable' ? 'degraded' : 'ok', cache: cache.status, warmUp };
  });

  return app;
}
