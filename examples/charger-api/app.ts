/**
 * charger-api (Express): failure, maintenance and anomaly predictions for EV chargers, cached per charger with a TTL
 * per kind from CACHE_TTL_FAILURE (1h), CACHE_TTL_MAINTENANCE (30m) and CACHE_TTL_ANOMALY (5m).
 *
 *   GET  /chargers/:id/predictions          all three kinds
 *   GET  /chargers/:id/predictions/:kind    failure | maintenance | anomaly
 *   GET  /chargers/:id/status               a status page, cached as an HTTP response (cacheRoute)
 *   POST /chargers/:id/maintenance          { type } — admin only; invalidates every prediction of the charger
 *   GET  /health, /cache/*                  health; cache stats, health, info, invalidate
 *
 * In your own app, import from 'infercache' and 'infercache/express' instead of the relative paths below.
 */
import express, {
  type ErrorRequestHandler,
  type Express,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import { configFromEnv, createCache, type Cache, type CacheOptions } from '../../src/index.js';
import { adminGuard, cacheRoute, cacheRouter, type AdminOptions } from '../../plugins/express.js';
import { ChargerModels, ChargerPredictions, KINDS, type Kind, type MaintenanceEvent } from './service.js';

/** Options of {@link createChargerApi}. */
export interface ChargerApiOptions {
  /** Environment to configure from (REDIS_URL, CACHE_TTL_*, CACHE_VERSION, CACHE_ADMIN_TOKEN). @default process.env */
  env?: Record<string, string | undefined>;
  /** Cache options over those read from the environment. */
  cache?: CacheOptions;
  /** The models. @default ChargerModels with 40..150 ms inferences */
  models?: ChargerModels;
}

/** The app and what it owns. */
export interface ChargerApi {
  app: Express;
  cache: Cache;
  service: ChargerPredictions;
  /** Closes the cache. */
  close(): Promise<void>;
}

/** TTL of each kind unless the environment says otherwise. */
const TTL_DEFAULTS = { CACHE_TTL_FAILURE: '1h', CACHE_TTL_MAINTENANCE: '30m', CACHE_TTL_ANOMALY: '5m' };
const CHARGER_ID = /^CHG_[0-9]{3,6}$/;
const EVENT_TYPES = new Set(['inspection', 'repair', 'replacement']);

/** Builds the app (not listening). */
export function createChargerApi(options: ChargerApiOptions = {}): ChargerApi {
  const env: Record<string, string | undefined> = { ...TTL_DEFAULTS, ...(options.env ?? process.env) };
  const cache = createCache({
    redis: { url: 'redis://127.0.0.1:6379' },
    ...configFromEnv(env),
    namespace: 'prediction', // keys: prediction:{kind}:{version}:{charger_id}
    setDefault: true, // the decorators of ChargerPredictions use this app's cache
    ...options.cache,
  });
  const service = new ChargerPredictions(options.models ?? new ChargerModels());
  const admin: AdminOptions<Request> = env.CACHE_ADMIN_TOKEN
    ? { token: env.CACHE_ADMIN_TOKEN }
    : { authorize: () => false };

  const app = express();
  app.disable('x-powered-by');
  app.param('id', (_req: Request, res: Response, next: NextFunction, id: string) => {
    if (CHARGER_ID.test(id)) return next();
    res.status(400).json({ error: 'Bad Request', message: 'charger id must look like CHG_001' });
  });
  app.use(cacheRouter(cache, { admin }));

  app.get('/chargers/:id/predictions', async (req, res) => {
    const id = req.params.id as string;
    const [failure, maintenance, anomaly] = await Promise.all(KINDS.map((kind) => service.predict(kind, id)));
    res.json({ chargerId: id, failure, maintenance, anomaly });
  });

  app.get('/chargers/:id/predictions/:kind', async (req, res) => {
    const kind = req.params.kind as Kind;
    if (!KINDS.includes(kind)) {
      res.status(400).json({ error: 'Bad Request', message: `kind must be one of ${KINDS.join(', ')}` });
      return;
    }
    res.json(await service.predict(kind, req.params.id as string));
  });

  const status = cacheRoute(cache, {
    kind: 'status',
    ttl: '1m',
    key: (req) => req.params.id,
    tags: (req) => [`charger:${req.params.id}`],
  });
  app.get('/chargers/:id/status', status, async (req, res) => {
    const id = req.params.id as string;
    const [failure, maintenance, anomaly] = await Promise.all([
      service.failure(id),
      service.maintenance(id),
      service.anomaly(id),
    ]);
    const level =
      anomaly.anomalous || failure.probability > 0.7 ? 'critical' : maintenance.urgency === 'high' ? 'attention' : 'ok';
    res.json({
      chargerId: id,
      level,
      failureProbability: failure.probability,
      serviceWithinDays: maintenance.serviceWithinDays,
    });
  });

  app.post('/chargers/:id/maintenance', adminGuard(admin), express.json(), async (req, res) => {
    const event = req.body as Partial<MaintenanceEvent> | undefined;
    if (!event || typeof event.type !== 'string' || !EVENT_TYPES.has(event.type)) {
      res.status(400).json({ error: 'Bad Request', message: 'expected { type: inspection | repair | replacement }' });
      return;
    }
    res.json(await service.recordMaintenance(req.params.id as string, event as MaintenanceEvent));
  });

  app.get('/health', async (_req, res) => {
    const health = await cache.health();
    res.json({ status: health.status === 'unavailable' ? 'degraded' : 'ok', cache: health });
  });

  app.use(((error, _req, res, _next) => {
    res.status(500).json({ error: 'Internal Server Error', message: (error as Error).message });
  }) as ErrorRequestHandler);

  return { app, cache, service, close: () => cache.close() };
}
