/** examples/charger-api against the test Redis: per-kind TTLs from the environment, readable keys, tag invalidation. */
import { expect } from 'chai';
import request from 'supertest';
import { createChargerApi, type ChargerApi } from '../../examples/charger-api/app.js';
import { ChargerModels } from '../../examples/charger-api/service.js';
import { adminClient, testRedisUrl } from '../setup/root-hooks.js';
import { eventually } from '../helpers.js';

const TOKEN = 'charger-admin-token-123456';

describe('example: charger-api (Express)', () => {
  const open: ChargerApi[] = [];
  const start = (env: Record<string, string> = {}) => {
    const models = new ChargerModels({ failure: 5, maintenance: 5, anomaly: 5 });
    const api = createChargerApi({
      env: { REDIS_URL: testRedisUrl(), CACHE_ADMIN_TOKEN: TOKEN, ...env },
      cache: { operationTimeout: '2s', logger: false },
      models,
    });
    open.push(api);
    return { ...api, models };
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((api) => api.close()));
  });

  it('caches each kind under prediction:{kind}:{version}:{charger_id} with its TTL', async () => {
    const { app, models } = start({ CACHE_TTL_ANOMALY: '2m' });
    const first = await request(app).get('/chargers/CHG_001/predictions');
    expect(first.status).to.equal(200);
    expect(first.body.failure.chargerId).to.equal('CHG_001');
    const kinds = ['failure', 'maintenance', 'anomaly'].map((kind) => `prediction:${kind}:v1:CHG_001`);
    await eventually(async () => (await adminClient().exists(kinds)) === 3); // the writes landed
    const ttl = (key: string) => adminClient().pTTL(key);
    expect(await ttl('prediction:failure:v1:CHG_001')).to.be.within(3600_000 - 60_000, 3600_000);
    expect(await ttl('prediction:maintenance:v1:CHG_001')).to.be.within(1800_000 - 60_000, 1800_000);
    expect(await ttl('prediction:anomaly:v1:CHG_001')).to.be.within(120_000 - 60_000, 120_000);
    const again = await request(app).get('/chargers/CHG_001/predictions');
    expect(again.body).to.deep.equal(first.body);
    expect(models.calls).to.deep.equal({ failure: 1, maintenance: 1, anomaly: 1 });
  });

  it('a maintenance event invalidates every kind of that charger, and only that charger', async () => {
    const { app, models } = start();
    await request(app).get('/chargers/CHG_001/predictions');
    await request(app).get('/chargers/CHG_002/predictions');
    const status = await request(app).get('/chargers/CHG_001/status');
    expect(status.headers['x-cache']).to.equal('MISS');
    expect((await request(app).get('/chargers/CHG_001/status')).headers['x-cache']).to.equal('HIT');

    const event = { type: 'repair' };
    expect((await request(app).post('/chargers/CHG_001/maintenance').send(event)).status).to.equal(403);
    const done = await request(app)
      .post('/chargers/CHG_001/maintenance')
      .set('authorization', `Bearer ${TOKEN}`)
      .send(event);
    expect(done.status).to.equal(200);

    await request(app).get('/chargers/CHG_001/predictions');
    await request(app).get('/chargers/CHG_002/predictions');
    expect(models.calls).to.deep.equal({ failure: 3, maintenance: 3, anomaly: 3 });
    expect((await request(app).get('/chargers/CHG_001/status')).headers['x-cache']).to.equal('MISS');
  });

  it('a maintenance event also reaches predictions cached under another version', async () => {
    const v1 = start();
    await request(v1.app).get('/chargers/CHG_007/predictions/failure');
    await v1.close();
    const v2 = start({ CACHE_VERSION: 'v2' });
    await request(v2.app).get('/chargers/CHG_007/predictions/failure');
    const both = ['prediction:failure:v1:CHG_007', 'prediction:failure:v2:CHG_007'];
    await eventually(async () => (await adminClient().exists(both)) === 2); // the v2 write landed, v1 still there
    await request(v2.app)
      .post('/chargers/CHG_007/maintenance')
      .set('authorization', `Bearer ${TOKEN}`)
      .send({ type: 'inspection' });
    await v2.close();
    const again = start();
    await request(again.app).get('/chargers/CHG_007/predictions/failure');
    expect(again.models.calls.failure).to.equal(1);
  });

  it('answers 400 to a bad charger id, kind or event', async () => {
    const { app } = start();
    expect((await request(app).get('/chargers/nope/predictions')).status).to.equal(400);
    expect((await request(app).get('/chargers/CHG_001/predictions/weather')).status).to.equal(400);
    const bad = await request(app)
      .post('/chargers/CHG_001/maintenance')
      .set('authorization', `Bearer ${TOKEN}`)
      .send({ type: 'coffee' });
    expect(bad.status).to.equal(400);
  });

  it('reports stats per kind and health on the cache endpoints', async () => {
    const { app } = start();
    await request(app).get('/chargers/CHG_001/predictions');
    await request(app).get('/chargers/CHG_001/predictions');
    const stats = (await request(app).get('/cache/stats')).body;
    expect(Object.keys(stats.kinds)).to.include.members(['failure', 'maintenance', 'anomaly']);
    expect(stats.kinds.failure).to.include({ hits: 1, misses: 1 });
    const health = await request(app).get('/health');
    expect(health.body.status).to.equal('ok');
    const info = (await request(app).get('/cache/info')).body;
    expect(info.namespace).to.equal('prediction');
    expect(info.ttl).to.be.an('object');
  });
});
