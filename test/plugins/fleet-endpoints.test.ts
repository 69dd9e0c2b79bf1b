/** `GET /cache/stats?scope=fleet` through Fastify (inject) and Express 5 and 4 (supertest). */
import { expect } from 'chai';
import request from 'supertest';
import { createCache, type Cache } from '../../src/index.js';
import infercache from '../../plugins/fastify.js';
import { cacheRouter } from '../../plugins/express.js';
import { fastifyApp, testCache } from './helpers.js';
import { EXPRESS_VERSIONS } from './express-versions.js';

type Get = (path: string) => Promise<{ status: number; body: any }>;
const apps: Record<string, (cache: Cache) => Promise<Get>> = {
  async fastify(cache) {
    const app = fastifyApp({ logger: false });
    await app.register(infercache, { cache, endpoints: true });
    return async (path) => {
      const res = await app.inject({ method: 'GET', url: path });
      return { status: res.statusCode, body: res.json() };
    };
  },
};
for (const [label, express] of EXPRESS_VERSIONS) {
  apps[label] = async (cache) => {
    const app = express();
    app.use('/cache', cacheRouter(cache));
    return async (path) => {
      const res = await request(app).get(path);
      return { status: res.status, body: res.body };
    };
  };
}

for (const [framework, make] of Object.entries(apps)) {
  describe(`GET /cache/stats?scope=fleet (${framework})`, () => {
    it('answers every instance’s counters with scope=fleet, and this instance’s without', async () => {
      const a = testCache({ namespace: 'fleetep' });
      const b = testCache({ namespace: 'fleetep' });
      await a.wrap('price', 1, async () => 1);
      await b.wrap('price', 1, async () => 1);
      await b.wrap('price', 1, async () => 1);
      await a.flushFleet();
      await b.flushFleet();
      const get = await make(a);
      const fleet = await get('/cache/stats?scope=fleet&window=5m');
      expect(fleet.status).to.equal(200);
      expect(fleet.body.instances).to.equal(2);
      expect(fleet.body.kinds.price.hits).to.equal(2);
      expect(fleet.body.windowSeconds).to.equal(300);
      const local = await get('/cache/stats');
      expect(local.body.kinds.price).to.include({ hits: 0, misses: 1 });
      expect((await get('/cache/stats?scope=instance')).body.kinds.price.misses).to.equal(1);
    });

    it('answers 400 for a bad scope or window', async () => {
      const get = await make(testCache({ namespace: 'fleetep2' }));
      const scope = await get('/cache/stats?scope=galaxy');
      expect(scope.status).to.equal(400);
      expect(scope.body.message).to.match(/scope/);
      const window = await get('/cache/stats?scope=fleet&window=later');
      expect(window.status).to.equal(400);
      expect(window.body.message).to.match(/window/);
    });

    it('answers 503 when Redis cannot be read', async () => {
      const cache = createCache({
        redis: { url: 'redis://127.0.0.1:1' },
        setDefault: false,
        logger: false,
        operationTimeout: '50ms',
      });
      try {
        const res = await (await make(cache))('/cache/stats?scope=fleet');
        expect(res.status).to.equal(503);
        expect(res.body.message).to.match(/^Redis is unavailable \((?!infercache:)/);
      } finally {
        await cache.close();
      }
    });
  });
}
