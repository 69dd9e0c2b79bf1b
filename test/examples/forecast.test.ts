/** examples/forecast against the test Redis: cached models and forecasts, /cache/info, clear by target, warm-up. */
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildForecastApp } from '../../examples/forecast/app.js';
import { ForecastBackend } from '../../examples/forecast/service.js';
import { testRedisUrl } from '../setup/root-hooks.js';
import { sleep, writesLanded } from '../helpers.js';

const TOKEN = 'forecast-admin-token-12345';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('example: forecast (Fastify)', () => {
  const apps: FastifyInstance[] = [];
  async function start(env: Record<string, string> = {}) {
    const backend = new ForecastBackend({ loadModelMs: 40, forecastMs: 5, catalogueMs: 5 });
    const app = await buildForecastApp({
      env: { REDIS_URL: testRedisUrl(), CACHE_ADMIN_TOKEN: TOKEN, ...env },
      cache: { operationTimeout: '2s', logger: false },
      backend,
    });
    apps.push(app);
    await app.ready();
    return { app, backend };
  }
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  it('loads a product model once, then forecasts from the cached model and caches each forecast', async () => {
    const { app, backend } = await start();
    const first = await app.inject('/products/P002/forecast?days=7');
    expect(first.statusCode).to.equal(200);
    expect(first.json().demand).to.have.length(7);
    expect((await app.inject('/products/P002/forecast?days=7')).body).to.equal(first.body);
    await app.inject('/products/P002/forecast?days=14');
    expect(backend.calls).to.deep.include({ loadModel: 1, forecast: 2 });
    expect((await app.inject('/products/P999/forecast')).statusCode).to.equal(404);
    expect((await app.inject('/products/nope/forecast')).statusCode).to.equal(400);
  });

  it('keeps the model whole in Redis: another instance gets a Float64Array and a Date, without reloading', async () => {
    const one = await start();
    await one.app.inject('/products/P003/forecast?days=3');
    await writesLanded(one.app.cache);
    const two = await start();
    const model = await two.app.forecasts.model('P003');
    expect(model.weekly).to.be.instanceOf(Float64Array);
    expect(model.trainedAt).to.be.instanceOf(Date);
    await two.app.inject('/products/P003/forecast?days=5');
    expect(two.backend.calls.loadModel).to.equal(0);
  });

  it('shows entries per kind and the TTL settings on /cache/info, CACHE_TTL_FORECAST over the defaults', async () => {
    const { app } = await start({ CACHE_TTL_FORECAST: '2m' });
    await app.inject('/products');
    await app.inject('/products/P001/forecast');
    await writesLanded(app.cache);
    const info = (await app.inject('/cache/info')).json();
    expect(info.entries.byKind).to.include({ model: 1, forecast: 1, products: 1 });
    const ttl = JSON.stringify(info.ttl);
    for (const kind of ['model', 'forecast', 'products']) expect(ttl).to.contain(kind);
    // the environment wins over the example's own TTLs
    expect(info.ttl.forecast).to.include({ ms: 120_000, source: 'env' });
    expect(info.ttl.model).to.include({ ms: 6 * 3600_000 });
  });

  it('clears by target: a product, a kind, everything; only for admins', async () => {
    const { app, backend } = await start();
    const warm = async () => {
      await app.inject('/products');
      await app.inject('/products/P001/forecast');
      await app.inject('/products/P002/forecast');
    };
    const clear = (target: string, headers: Record<string, string> = auth) =>
      app.inject({ method: 'DELETE', url: `/admin/cache/${target}`, headers });
    await warm();
    expect((await clear('P001', {})).statusCode).to.equal(403);
    expect((await clear('P001')).json()).to.deep.equal({ cleared: 'P001' });
    await warm();
    expect(backend.calls).to.deep.include({ loadModel: 3, forecast: 3, catalogue: 1 });
    await clear('products');
    await warm();
    expect(backend.calls).to.deep.include({ loadModel: 3, forecast: 3, catalogue: 2 });
    await clear('all');
    await warm();
    expect(backend.calls).to.deep.include({ forecast: 5, catalogue: 3 });
    expect((await clear('weather')).statusCode).to.equal(400);
  });

  it('warms up the popular products at start-up when CACHE_AUTO_WARMUP=true', async () => {
    const { app, backend } = await start({ CACHE_AUTO_WARMUP: 'true' });
    let health = (await app.inject('/health')).json();
    for (let i = 0; i < 100 && health.warmUp.state !== 'done'; i++) {
      await sleep(20);
      health = (await app.inject('/health')).json();
    }
    expect(health.warmUp.report).to.include({ total: 10, succeeded: 10, failed: 0 });
    const before = { ...backend.calls };
    for (const id of ['P001', 'P002', 'P003', 'P004', 'P005']) await app.inject(`/products/${id}/forecast?days=7`);
    expect(backend.calls).to.deep.equal(before);
  });

  it('warms up chosen products through POST /cache/warm-up, and says what is wrong with a bad body', async () => {
    const { app, backend } = await start();
    const warmUp = (payload: object) => app.inject({ method: 'POST', url: '/cache/warm-up', payload, headers: auth });
    const res = await warmUp({ products: ['P010', 'P011'], days: 3 });
    expect(res.json()).to.include({ total: 4, succeeded: 4 });
    expect(backend.calls.loadModel).to.equal(2);
    expect((await warmUp({ products: 'P010' })).statusCode).to.equal(400);
    expect((await warmUp({ days: 365 })).json().message).to.match(/days/);
  });
});
