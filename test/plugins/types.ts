/**
 * Type tests (checked by `npm run typecheck`, not run): the Fastify augmentation types `app.cache` and
 * `config.cache`, and the Express middleware types its options; mistakes do not compile.
 */
import Fastify, { type FastifyRequest } from 'fastify';
import express, { type Request, type RequestHandler } from 'express';
import { createCache, type Cache } from '../../src/index.js';
import infercache, { adminGuard, type FastifyRouteCacheOptions } from '../../plugins/fastify.js';
import { cacheRoute, cacheRouter, type ExpressRouteCacheOptions } from '../../plugins/express.js';

const cache = createCache({ setDefault: false });

export async function fastifyTypes(): Promise<void> {
  const app = Fastify();
  await app.register(infercache, { cache, endpoints: { admin: { token: 'a-token-of-16-chars' } } });
  await app.register(infercache, { redis: { url: 'redis://localhost:6379' }, namespace: 'api', ttl: { price: '6h' } });
  const typed: Cache = app.cache;
  void typed;

  app.post(
    '/predict',
    {
      config: {
        cache: {
          kind: 'price',
          ttl: (request: FastifyRequest, response) => (response.status === 200 && request.method === 'POST' ? '6h' : 0),
          methods: ['POST'],
          vary: ['accept-language'],
          tags: (request) => [`region:${(request.body as { region: string }).region}`],
        },
      },
      preHandler: adminGuard({ authorize: (request) => request.headers['x-role'] === 'ops' }),
    },
    async () => ({ price: 1 }),
  );
  app.get('/simple', { config: { cache: true } }, async () => 'ok');

  // @ts-expect-error PUT responses cannot be cached
  app.put('/bad', { config: { cache: { methods: ['PUT'] } } }, async () => 1);
  // (An unknown option inside config.cache is caught at run time, when the route is added: ConfigError.)
  // @ts-expect-error the plugin takes a Cache, not a string
  await app.register(infercache, { cache: 'redis://localhost' });

  const options: FastifyRouteCacheOptions = { key: (request) => request.url, public: true };
  void options;

  // A route's generics do not reach config.cache (Fastify's FastifyContextConfig is not generic over them):
  // callbacks take the route's request type when annotated with it.
  type ById = FastifyRequest<{ Params: { id: string }; Querystring: { units?: string } }>;
  app.get<{ Params: { id: string }; Querystring: { units?: string } }>(
    '/a/:id',
    {
      config: {
        cache: {
          key: (req: ById) => [req.params.id, req.query.units],
          tags: (req: ById) => [`a:${req.params.id}`],
          ttl: (req: ById, response) => (response.status === 200 && req.params.id ? '1h' : 0),
        },
      },
    },
    async (req) => ({ id: req.params.id }),
  );
  const byId: FastifyRouteCacheOptions = { key: (req: FastifyRequest<{ Params: { id: string } }>) => req.params.id };
  void byId;
  // @ts-expect-error the callback still has to take a request
  const wrong: FastifyRouteCacheOptions = { key: (req: string) => req };
  void wrong;
}

export function expressTypes(): void {
  const app = express();
  const route: RequestHandler = cacheRoute(cache, {
    kind: 'failure',
    key: (req: Request) => req.params.id,
    ttl: '1h',
    staleWhileRevalidate: '5m',
  });
  const router: RequestHandler = cacheRouter(cache, {
    admin: { token: 'a-token-of-16-chars' },
    warmUp: (body) => [{ kind: 'forecast', key: body, fn: async () => 1 }],
  });
  app.get('/chargers/:id', route, (_req, res) => void res.json({}));
  app.use(router);
  app.use('/ops', cacheRouter(cache, { prefix: '' }));

  const options: ExpressRouteCacheOptions = { vary: ['authorization'] };
  void options;
  // a route's own request type, annotated
  app.get(
    '/typed/:id',
    cacheRoute(cache, {
      key: (req: Request<{ id: string }>) => req.params.id,
      tags: (req: Request<{ id: string }>) => [req.params.id],
    }),
    (_req, res) => void res.json({}),
  );
  // @ts-expect-error methods are GET, HEAD or POST
  cacheRoute(cache, { methods: ['DELETE'] });
  // @ts-expect-error the first argument is the Cache
  cacheRoute({ kind: 'price' });
}
