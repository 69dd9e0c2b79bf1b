/**
 * The HTTP benchmark's server, run as its own process (so it can be pinned apart from the load generator):
 *
 *   node --import tsx bench/lib/http-server.ts <fastify|express> <redis url>
 *
 * Routes, all answering the same ~1 KB JSON value for `:id`:
 *   /bare/:id           the handler returns the value (what caching cannot beat)
 *   /redis/:id          a raw node-redis GET + msgpack decode per request (a hand-written cache hit)
 *   /cached/redis/:id   the handler cached by infercache, Redis tier only (the plugin / middleware)
 *   /cached/memory/:id  the same with the memory tier in front
 *   /cached/miss/:id    the same as /cached/redis, requested with a new id every time: always a miss
 * Prints `{"port":…}` on stdout when listening; exits when stdin closes.
 */
import Fastify from 'fastify';
import express from 'express';
import { RESP_TYPES } from 'redis';
import { loadCore, loadExpress, loadFastify } from './package.js';
import { benchTimeout, rawClient } from './contenders.js';
import { floorPackr, HTTP_IDS, makeValue } from './value.js';

async function main(): Promise<void> {
  const [framework, url] = process.argv.slice(2);
  if ((framework !== 'fastify' && framework !== 'express') || !url) {
    throw new Error('usage: http-server.ts <fastify|express> <redis url>');
  }
  const { createCache } = await loadCore();
  const { infercache } = await loadFastify();
  const { cacheRoute } = await loadExpress();
  const value = makeValue();
  const compute = async () => value;
  // Default settings, as an app writes them (logger and setDefault change nothing on these paths).
  const cache = createCache({
    redis: { url },
    namespace: `http-${framework}`,
    setDefault: false,
    logger: false,
    ...benchTimeout(),
  });
  await cache.connect();
  const client = await rawClient(url);
  const binary = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const packed = floorPackr.pack(value);
  for (let id = 0; id < HTTP_IDS; id++) await binary.set(`raw:${framework}:${id}`, packed);
  const rawGet = async (id: string) => floorPackr.unpack((await binary.get(`raw:${framework}:${id}`)) as Buffer);

  const redisRoute = { kind: 'route' };
  const memoryRoute = { kind: 'route_memory', memory: true };
  const missRoute = { kind: 'route_miss', ttl: 60 };
  let close: () => Promise<void>;
  let port: number;
  if (framework === 'fastify') {
    const app = Fastify({ logger: false });
    await app.register(infercache, { cache, closeCache: true });
    app.get('/bare/:id', async () => value);
    app.get<{ Params: { id: string } }>('/redis/:id', async (request) => rawGet(request.params.id));
    app.get('/cached/redis/:id', { config: { cache: redisRoute } }, compute);
    app.get('/cached/memory/:id', { config: { cache: memoryRoute } }, compute);
    app.get('/cached/miss/:id', { config: { cache: missRoute } }, compute);
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
    close = () => app.close();
  } else {
    const app = express();
    app.set('etag', false); // Fastify sends none either; the cached routes replay the stored headers
    app.get('/bare/:id', (_req, res) => void res.json(value));
    app.get('/redis/:id', (req, res, next) => {
      rawGet(req.params.id).then((v) => res.json(v), next);
    });
    const send = (_req: express.Request, res: express.Response) => void res.json(value);
    app.get('/cached/redis/:id', cacheRoute(cache, redisRoute), send);
    app.get('/cached/memory/:id', cacheRoute(cache, memoryRoute), send);
    app.get('/cached/miss/:id', cacheRoute(cache, missRoute), send);
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    port = (server.address() as { port: number }).port;
    close = async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cache.close();
    };
  }
  process.stdout.write(JSON.stringify({ port }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    void Promise.race([Promise.all([close(), client.close()]), new Promise((r) => setTimeout(r, 2000))]).then(() =>
      process.exit(0),
    );
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
