/** examples/price-api against the test Redis: predictions cached per model version and body, admin routes. */
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildPriceApi } from '../../examples/price-api/app.js';
import { PriceModel } from '../../examples/price-api/model.js';
import { adminClient, testRedisUrl } from '../setup/root-hooks.js';
import { eventually } from '../helpers.js';

const TOKEN = 'price-api-admin-token-1234';
const flat = { city: 'warsaw', area: 54, rooms: 3, yearBuilt: 1998 };

describe('example: price-api (Fastify)', () => {
  let app: FastifyInstance;
  let model: PriceModel;

  beforeEach(async () => {
    model = new PriceModel({ delayMs: 15 });
    app = await buildPriceApi({
      env: { REDIS_URL: testRedisUrl(), CACHE_ADMIN_TOKEN: TOKEN },
      cache: { operationTimeout: '2s', setDefault: false, logger: false },
      model,
    });
  });
  afterEach(() => app.close());

  const predict = (body: object) => app.inject({ method: 'POST', url: '/predict', payload: body });

  it('serves a repeated prediction from the cache, whatever the order of the JSON keys', async () => {
    const first = await predict(flat);
    expect(first.statusCode).to.equal(200);
    expect(first.headers['x-cache']).to.equal('MISS');
    expect(first.json()).to.include({ currency: 'EUR', modelVersion: 'm1' });
    const again = await predict({ rooms: 3, yearBuilt: 1998, area: 54, city: 'warsaw' });
    expect(again.headers['x-cache']).to.equal('HIT');
    expect(again.headers['x-model-version']).to.equal('m1');
    expect(again.body).to.equal(first.body);
    expect(model.inferences).to.equal(1);
  });

  it('keys predictions by model version and the SHA-256 of the body, for 6 hours', async () => {
    await predict(flat);
    await eventually(async () => (await adminClient().keys('price-api:price:*')).length > 0); // the write landed
    const keys = await adminClient().keys('price-api:price:*');
    expect(keys).to.have.length(1);
    expect(keys[0]).to.match(/^price-api:price:v1:POST:\/predict#m1:[A-Za-z0-9_-]{43}$/);
    const ttl = await adminClient().pTTL(keys[0]!);
    expect(ttl).to.be.within(6 * 3600_000 - 60_000, 6 * 3600_000);
  });

  it('answers 400 to an invalid property, without reaching the model', async () => {
    const res = await predict({ city: 'warsaw', area: -1, rooms: 3 });
    expect(res.statusCode).to.equal(400);
    expect(model.inferences).to.equal(0);
  });

  it('a retrain bumps the version, so the next prediction is computed by the new model', async () => {
    await predict(flat);
    expect((await app.inject({ method: 'POST', url: '/retrain' })).statusCode).to.equal(403);
    const retrain = await app.inject({
      method: 'POST',
      url: '/retrain',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(retrain.json()).to.deep.equal({ previous: 'm1', modelVersion: 'm2' });
    const after = await predict(flat);
    expect(after.headers['x-cache']).to.equal('MISS');
    expect(after.json().modelVersion).to.equal('m2');
    expect(model.inferences).to.equal(2);
  });

  it('GET / reports total requests and the hit rate; /health reports the cache', async () => {
    await predict(flat);
    await predict(flat);
    await predict(flat);
    await predict({ ...flat, area: 60 });
    const summary = (await app.inject('/')).json();
    expect(summary).to.deep.include({ service: 'price-api', modelVersion: 'm1', requests: 4 });
    expect(summary.cache).to.include({ hits: 2, misses: 2, hitRate: 0.5 });
    const health = await app.inject('/health');
    expect(health.statusCode).to.equal(200);
    expect(health.json()).to.deep.include({ status: 'ok' });
    expect(health.json().cache.status).to.equal('healthy');
  });

  it('mounts the cache endpoints: stats, and invalidation for admins', async () => {
    await predict(flat);
    expect((await app.inject('/cache/stats')).json().kinds.price.misses).to.equal(1);
    const invalidate = (headers = {}) =>
      app.inject({ method: 'POST', url: '/cache/invalidate', payload: { kind: 'price' }, headers });
    expect((await invalidate()).statusCode).to.equal(403);
    expect((await invalidate({ authorization: `Bearer ${TOKEN}` })).statusCode).to.equal(200);
    expect((await predict(flat)).headers['x-cache']).to.equal('MISS');
  });
});
