/** Redis stopped mid-test: every cached route and endpoint keeps answering correctly, then hits resume. */
import { expect } from 'chai';
import request from 'supertest';
import { createCache, type Cache } from '../../src/index.js';
import { startTestRedis, type TestRedis } from '../../src/testing.js';
import infercache from '../../plugins/fastify.js';
import { cacheRoute, cacheRouter } from '../../plugins/express.js';
import { sleep } from '../helpers.js';
import { internalsOf } from '../../src/cache.js';
import { fakeModel, fastifyApp, redisOnPort } from './helpers.js';

/** Resolves once `check()` holds; fails after a limit generous enough that a loaded machine cannot reach it. */
async function eventually(check: () => Promise<boolean>, limitMs = 5000): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs) throw new Error('condition not met in time');
    await sleep(5);
  }
}
import { EXPRESS_VERSIONS } from './express-versions.js';

const TOKEN = 'outage-admin-token-0123456789';

describe('plugins when Redis stops mid-test', function () {
  this.timeout(30_000);
  let server: TestRedis | undefined;
  let restarted: { stop(): Promise<void> } | undefined;
  let cache: Cache | undefined;

  afterEach(async () => {
    await cache?.close();
    await server?.stop();
    await restarted?.stop();
    cache = server = restarted = undefined;
  });

  async function setUp() {
    server = await startTestRedis();
    cache = createCache({
      redis: { url: server.url },
      setDefault: false,
      logger: false,
      operationTimeout: '300ms', // a loaded machine must not turn the first hits into bypasses
      breaker: { threshold: 2, cooldown: '100ms', maxCooldown: '200ms' },
    });
    await cache.connect();
    return cache;
  }

  it('Fastify: routes answer with the right body, health says 503, invalidate says 503, hits resume after', async () => {
    const cache = await setUp();
    const port = server!.port;
    const model = fakeModel(10);
    const app = fastifyApp({ logger: false });
    await app.register(infercache, { cache, endpoints: { admin: { token: TOKEN } } });
    app.post('/predict', { config: { cache: { methods: ['POST'] } } }, async (req) => model.predict(req.body));
    const predict = (area: number) => app.inject({ method: 'POST', url: '/predict', payload: { area } });

    const expected = (await predict(50)).json();
    await eventually(async () => (await predict(50)).headers['x-cache'] === 'HIT'); // the write is not awaited

    await server!.stop();
    await eventually(async () => internalsOf(cache).redis!.status !== 'ready'); // the client saw the connection close
    const timeouts = internalsOf(cache).redis!.counters.timeouts;
    for (let i = 0; i < 6; i++) {
      const res = await predict(50);
      expect(res.statusCode).to.equal(200);
      expect(res.json()).to.deep.equal(expected);
      expect(res.headers['x-cache']).to.equal('BYPASS');
    }
    // never held up: Redis refuses at once, so no request waited for the operation timeout
    expect(internalsOf(cache).redis!.counters.timeouts).to.equal(timeouts);
    const health = await app.inject('/cache/health');
    expect(health.statusCode).to.equal(503);
    expect(health.json().status).to.equal('unavailable');
    const invalidate = await app.inject({
      method: 'POST',
      url: '/cache/invalidate',
      payload: { kind: 'http' },
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(invalidate.statusCode).to.equal(503);
    expect(invalidate.json().message)
      .to.match(/Redis is unavailable/)
      .and.not.match(/infercache:/);
    expect((await app.inject('/cache/stats')).statusCode).to.equal(200);

    restarted = await redisOnPort(port);
    let resumed = false;
    for (let i = 0; i < 100 && !resumed; i++) {
      await sleep(100);
      await predict(51);
      resumed = (await predict(51)).headers['x-cache'] === 'HIT';
    }
    expect(resumed, 'hits resume after Redis is back').to.equal(true);
    expect((await app.inject('/cache/health')).statusCode).to.equal(200);
  });

  for (const [label, express] of EXPRESS_VERSIONS) {
    it(`${label}: routes answer with the right body and the endpoints report the outage`, async () => {
      const cache = await setUp();
      const model = fakeModel(10);
      const app = express();
      app.use(cacheRouter(cache, { admin: { token: TOKEN } }));
      app.get('/predict', cacheRoute(cache), async (req, res) => void res.json(await model.predict(req.query)));
      const expected = (await request(app).get('/predict?area=50')).body;
      await eventually(async () => (await request(app).get('/predict?area=50')).headers['x-cache'] === 'HIT');

      await server!.stop();
      for (let i = 0; i < 6; i++) {
        const res = await request(app).get('/predict?area=50');
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.equal(expected);
        expect(res.headers['x-cache']).to.equal('BYPASS');
      }
      expect((await request(app).get('/cache/health')).status).to.equal(503);
      const invalidate = await request(app)
        .post('/cache/invalidate')
        .set('authorization', `Bearer ${TOKEN}`)
        .send({ tags: ['region:eu'] });
      expect(invalidate.status).to.equal(503);
    });
  }
});
