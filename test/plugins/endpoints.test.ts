/** The operational endpoints, the same cases through Fastify (inject), Express 5 and Express 4 (supertest). */
import { expect } from 'chai';
import request from 'supertest';
import { type Cache } from '../../src/index.js';
import infercache, { adminGuard as fastifyAdminGuard } from '../../plugins/fastify.js';
import { adminGuard as expressAdminGuard, cacheRouter } from '../../plugins/express.js';
import type { EndpointsOptions } from '../../src/http/endpoints.js';
import { writesLanded } from '../helpers.js';
import { fastifyApp, testCache } from './helpers.js';
import { EXPRESS_VERSIONS, type ExpressModule } from './express-versions.js';

const TOKEN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

interface Answer {
  status: number;
  body: any;
  headers: Record<string, unknown>;
}
type Call = (
  method: 'GET' | 'POST',
  path: string,
  options?: { body?: string | object; headers?: Record<string, string> },
) => Promise<Answer>;
type Harness = (cache: Cache, options?: EndpointsOptions<any>) => Promise<Call>;

const harnesses: Record<string, Harness> = {
  async fastify(cache, options = {}) {
    const app = fastifyApp({ logger: false });
    await app.register(infercache, { cache, endpoints: options });
    app.post('/retrain', { preHandler: fastifyAdminGuard({ token: TOKEN }) }, async () => ({ retrained: true }));
    return async (method, path, { body, headers = {} } = {}) => {
      const payload = typeof body === 'object' ? JSON.stringify(body) : body;
      const typed = body === undefined ? headers : { 'content-type': 'application/json', ...headers };
      const res = await app.inject({ method, url: path, payload, headers: typed });
      return { status: res.statusCode, body: res.body ? res.json() : undefined, headers: res.headers };
    };
  },
};

function expressHarness(express: ExpressModule): Harness {
  return async (cache, options = {}) => {
    const app = express();
    app.use(cacheRouter(cache, options));
    app.post('/retrain', expressAdminGuard({ token: TOKEN }), (_req, res) => void res.json({ retrained: true }));
    return async (method, path, { body, headers = {} } = {}) => {
      let req = method === 'GET' ? request(app).get(path) : request(app).post(path);
      if (body !== undefined) req = req.set('content-type', 'application/json').send(body);
      const res = await req.set(headers);
      return { status: res.status, body: res.body, headers: res.headers };
    };
  };
}
for (const [label, express] of EXPRESS_VERSIONS) harnesses[label] = expressHarness(express);

for (const [framework, harness] of Object.entries(harnesses)) {
  describe(`operational endpoints (${framework})`, () => {
    it('GET stats, info and health answer without credentials, with Cache-Control: no-store', async () => {
      const cache = testCache({ ttl: { price: '6h' } });
      await cache.wrap('price', 1, async () => 10);
      await writesLanded(cache); // the write after a miss is not awaited
      await cache.wrap('price', 1, async () => 10);
      const call = await harness(cache);
      const stats = await call('GET', '/cache/stats');
      expect(stats.status).to.equal(200);
      expect(stats.body).to.include({ hits: 1, misses: 1, hitRate: 0.5 });
      expect(stats.headers['cache-control']).to.equal('no-store');
      const info = await call('GET', '/cache/info');
      expect(info.status).to.equal(200);
      expect(info.body.ttl).to.be.an('object');
      expect(JSON.stringify(info.body.ttl)).to.contain('price');
      const health = await call('GET', '/cache/health');
      expect(health.status).to.equal(200);
      expect(health.body.status).to.equal('healthy');
    });

    it('GET health reports disabled as such, with 200', async () => {
      const call = await harness(testCache({ enabled: false }));
      const health = await call('GET', '/cache/health');
      expect(health.status).to.equal(200);
      expect(health.body.status).to.equal('disabled');
    });

    it('refuses mutations with 403 when no admin check is configured, even with a token', async () => {
      const call = await harness(testCache());
      const res = await call('POST', '/cache/invalidate', { body: { all: true }, headers: auth });
      expect(res.status).to.equal(403);
      expect(res.body.message).to.match(/configure admin/);
      expect((await call('POST', '/cache/warm-up', { body: {} })).status).to.equal(403);
    });

    it('refuses mutations without the right bearer token and accepts them with it', async () => {
      const cache = testCache();
      const call = await harness(cache, { admin: { token: TOKEN } });
      const target = { body: { kind: 'price' } };
      expect((await call('POST', '/cache/invalidate', target)).status).to.equal(403);
      const wrong = { ...target, headers: { authorization: 'Bearer not-the-token-at-all' } };
      expect((await call('POST', '/cache/invalidate', wrong)).status).to.equal(403);
      const basic = { ...target, headers: { authorization: `Basic ${TOKEN}` } };
      expect((await call('POST', '/cache/invalidate', basic)).status).to.equal(403);
      const ok = await call('POST', '/cache/invalidate', { ...target, headers: auth });
      expect(ok.status).to.equal(200);
      expect(ok.body).to.deep.equal({ invalidated: { kind: 'price' } });
    });

    it('invalidates by kind, tags, one key, or everything', async () => {
      const cache = testCache();
      const call = await harness(cache, { admin: { token: TOKEN } });
      let runs = 0;
      const served = async () => {
        const before = runs;
        await cache.wrap('price', 'p1', async () => ++runs, { tags: ['region:eu'] });
        await writesLanded(cache); // the write after a miss is not awaited
        return runs === before ? 'hit' : 'computed';
      };
      await served();
      for (const body of [{ kind: 'price' }, { tags: ['region:eu'] }, { kind: 'price', key: 'p1' }, { all: true }]) {
        const label = JSON.stringify(body);
        expect(await served(), label).to.equal('hit');
        const res = await call('POST', '/cache/invalidate', { body, headers: auth });
        expect(res.status, label).to.equal(200);
        expect(res.body, label).to.deep.equal({ invalidated: body });
        expect(await served(), label).to.equal('computed');
      }
    });

    it('answers 400 with a message to bad invalidation bodies, never 500', async () => {
      const call = await harness(testCache(), { admin: { token: TOKEN } });
      const bad: Array<[string | object, RegExp]> = [
        ['{"kind":', /json|unexpected|expected/i],
        ['[1,2]', /JSON object/],
        [{}, /exactly one/],
        [{ kind: 'a', tags: ['b'] }, /exactly one/],
        [{ kind: 'no spaces' }, /kind/],
        [{ tags: [] }, /non-empty/],
        [{ tags: 'region:eu' }, /non-empty array/],
        [{ all: 'yes' }, /all must be true/],
        [{ key: 'p1' }, /^a key needs its kind: give \{ kind, key \}/],
        [{ knd: 'price' }, /unknown field "knd"/],
      ];
      for (const [body, message] of bad) {
        const res = await call('POST', '/cache/invalidate', { body, headers: auth });
        expect(res.status, JSON.stringify(body)).to.equal(400);
        expect(res.body.message, JSON.stringify(body)).to.match(message);
      }
    });

    it('quotes at most 64 characters of a value sent in a bad body', async () => {
      const call = await harness(testCache(), { admin: { token: TOKEN } });
      const long = 'k'.repeat(100_000);
      for (const body of [{ kind: long }, { [long]: 1 }, { kind: `a b${long}` }]) {
        const res = await call('POST', '/cache/invalidate', { body, headers: auth });
        expect(res.status).to.equal(400);
        expect(res.body.message).to.match(/"(a b)?k{61,64}…"/);
        expect(res.body.message.length).to.be.below(200);
      }
    });

    it('answers 415 to a body that is not JSON and 413 to one above 1 MiB, with a message', async () => {
      const call = await harness(testCache(), { admin: { token: TOKEN } });
      const charset = { ...auth, 'content-type': 'application/json; charset=utf-8' };
      expect((await call('POST', '/cache/invalidate', { body: '{"all":true}', headers: charset })).status).to.equal(
        200,
      );
      for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'text/plain; charset=utf-8']) {
        const headers = { ...auth, 'content-type': type };
        const unsupported = await call('POST', '/cache/invalidate', { body: '{"all":true}', headers });
        expect(unsupported.status, type).to.equal(415);
        expect(unsupported.body.error, type).to.equal('Unsupported Media Type');
        expect(unsupported.body.message, type).to.be.a('string').with.length.above(0);
      }
      const tags = Array.from({ length: 70_000 }, (_, i) => `region:${i}-abcdef`); // about 1.3 MB of JSON
      const large = await call('POST', '/cache/invalidate', { body: JSON.stringify({ tags }), headers: auth });
      expect(large.status).to.equal(413);
      expect(large.body.error).to.equal('Payload Too Large');
      expect(large.body.message).to.match(/large/i);
    });

    it('runs the app warm-up with the body, and answers 400 when the app rejects the body, 501 without one', async () => {
      const cache = testCache();
      const warmUp = (body: unknown) => {
        const products = (body as { products?: unknown })?.products;
        if (!Array.isArray(products)) throw new TypeError('expected { products: string[] }');
        return products.map((id) => ({ kind: 'forecast', key: id, fn: async () => `forecast of ${id}` }));
      };
      const call = await harness(cache, { admin: { token: TOKEN }, warmUp });
      const ok = await call('POST', '/cache/warm-up', { body: { products: ['a', 'b', 'c'] }, headers: auth });
      expect(ok.status).to.equal(200);
      expect(ok.body).to.include({ total: 3, succeeded: 3, failed: 0 });
      expect(await cache.get('forecast', 'b')).to.equal('forecast of b');
      const bad = await call('POST', '/cache/warm-up', { body: { products: 'a' }, headers: auth });
      expect(bad.status).to.equal(400);
      expect(bad.body.message).to.equal('expected { products: string[] }');
      const none = await harness(testCache(), { admin: { token: TOKEN } });
      expect((await none('POST', '/cache/warm-up', { body: {}, headers: auth })).status).to.equal(501);
    });

    it('accepts an authorize(request) admin check, and protects reads when asked', async () => {
      const call = await harness(testCache(), {
        admin: { authorize: (req: { headers: Record<string, string> }) => req.headers['x-role'] === 'ops' },
        protectReads: true,
        prefix: '/ops/cache',
      });
      expect((await call('GET', '/ops/cache/stats')).status).to.equal(403);
      expect((await call('GET', '/ops/cache/stats', { headers: { 'x-role': 'ops' } })).status).to.equal(200);
      const res = await call('POST', '/ops/cache/invalidate', { body: { all: true }, headers: { 'x-role': 'ops' } });
      expect(res.status).to.equal(200);
    });

    it('adminGuard protects an app route with the same check', async () => {
      const call = await harness(testCache());
      expect((await call('POST', '/retrain')).status).to.equal(403);
      const ok = await call('POST', '/retrain', { headers: auth });
      expect(ok.status).to.equal(200);
      expect(ok.body).to.deep.equal({ retrained: true });
    });

    it('rejects weak admin tokens and bad options when created', async () => {
      let error: unknown;
      try {
        await harness(testCache(), { admin: { token: 'short' } });
      } catch (e) {
        error = e;
      }
      expect(error)
        .to.have.property('setting')
        .that.matches(/admin\.token$/);
    });
  });
}
