/**
 * price-api (Fastify): POST /predict prices a property. Each prediction is cached for 6 h under the model version
 * plus the SHA-256 of the canonical request body, so a retrain (a new version) makes every old price unreachable.
 *
 *   GET  /           service summary: total requests and hit rate
 *   GET  /health     the service and its cache
 *   POST /predict    { city, area, rooms, yearBuilt?, floor? }
 *   POST /retrain    admin only (Authorization: Bearer $CACHE_ADMIN_TOKEN)
 *   /cache/*         stats, health, info; invalidate and warm-up (admin only)
 *
 * In your own app, import from 'infercache' and 'infercache/fastify' instead of the relative paths below.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { configFromEnv, hashArgs, type CacheOptions } from '../../src/index.js';
import infercache, { adminGuard, type AdminOptions } from '../../plugins/fastify.js';
import { PriceModel, type Property } from './model.js';

/** Options of {@link buildPriceApi}. */
export interface PriceApiOptions {
  /** Environment to configure from (REDIS_URL, CACHE_TTL_PRICE, CACHE_ADMIN_TOKEN...). @default process.env */
  env?: Record<string, string | undefined>;
  /** Cache options over those read from the environment. */
  cache?: CacheOptions;
  /** The model. @default a PriceModel with ~100 ms inferences */
  model?: PriceModel;
  /** Fastify's logger. @default false */
  logger?: FastifyServerOptions['logger'];
}

const propertySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['city', 'area', 'rooms'],
  properties: {
    city: { type: 'string', minLength: 1, maxLength: 64 },
    area: { type: 'number', exclusiveMinimum: 0, maximum: 10_000 },
    rooms: { type: 'integer', minimum: 1, maximum: 50 },
    yearBuilt: { type: 'integer', minimum: 1800, maximum: 2100 },
    floor: { type: 'integer', minimum: -5, maximum: 200 },
  },
} as const;

/** Builds the app (not listening); `await app.close()` closes the cache too. */
export async function buildPriceApi(options: PriceApiOptions = {}): Promise<FastifyInstance> {
  const env: Record<string, string | undefined> = { CACHE_TTL_PRICE: '6h', ...(options.env ?? process.env) }; // 6 h unless CACHE_TTL_PRICE says otherwise
  const model = options.model ?? new PriceModel();
  const token = env.CACHE_ADMIN_TOKEN;
  const admin: AdminOptions<any> | undefined = token ? { token } : undefined;
  const app = Fastify({ logger: options.logger ?? false });

  await app.register(infercache, {
    redis: { url: 'redis://127.0.0.1:6379' },
    namespace: 'price-api',
    ...configFromEnv(env), // REDIS_URL, CACHE_TTL_PRICE, CACHE_VERSION... win over the defaults above
    ...options.cache,
    endpoints: { admin },
  });

  let predictions = 0;
  app.post<{ Body: Property }>(
    '/predict',
    {
      schema: { body: propertySchema },
      config: {
        cache: {
          kind: 'price',
          methods: ['POST'],
          // A readable key: price-api:price:v1:POST:/predict#m3:<sha256 of the canonical body>
          key: (request) => `${model.version}:${hashArgs(request.body)}`,
          headers: ['x-model-version'],
        },
      },
      onRequest: async () => void predictions++,
    },
    async (request, reply) => {
      reply.header('x-model-version', model.version);
      return model.predict(request.body);
    },
  );

  app.get('/', async () => {
    const stats = app.cache.stats().kinds.price;
    return {
      service: 'price-api',
      modelVersion: model.version,
      requests: predictions,
      cache: {
        hitRate: Math.round((stats?.hitRate ?? 0) * 1000) / 1000,
        hits: stats?.hits ?? 0,
        misses: stats?.misses ?? 0,
        timeSavedSeconds: Math.round((stats?.timeSavedSeconds ?? 0) * 1000) / 1000,
      },
    };
  });

  app.get('/health', async () => {
    const cache = await app.cache.health();
    // The service works without its cache (fail-open): degraded, not down.
    return { status: cache.status === 'unavailable' ? 'degraded' : 'ok', modelVersion: model.version, cache };
  });

  app.post('/retrain', { preHandler: adminGuard(admin ?? { authorize: () => false }) }, async () => {
    const previous = model.version;
    const modelVersion = await model.retrain();
    app.log.info({ previous, modelVersion }, 'model retrained; predictions of the previous version are unreachable');
    return { previous, modelVersion };
  });

  return app;
}
