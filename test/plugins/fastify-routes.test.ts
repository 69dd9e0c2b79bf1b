/** infercache/fastify route caching against the run's test Redis: keys, headers, storability, credentials, flights. */
import { expect } from 'chai';
import { createCache, type Cache } from '../../src/index.js';
import infercache from '../../plugins/fastify.js';
import { sleep, warnings } from '../helpers.js';
import { adminClient, testRedisUrl } from '../setup/root-hooks.js';
import { BINARY, fakeModel, fastifyApp, testCache } from './helpers.js';

const quiet = { logger: false as const };

describe('infercache/fastify: route caching', () => {
  async function appWith(cache: Cache = testCache()) {
    const app = fastifyApp(quiet);
    await app.register(infercache, { cache });
    return app;
  }

  it('answers MISS, then HIT with Age and the same body, running the handler once', async () => {
    const app = await appWith();
    const model = fakeModel();
    app.get('/predict', { config: { cache: { kind: 'price', ttl: '1m' } } }, async (req) => model.predict(req.query));
    const first = await app.inject('/predict?area=50');
    const second = await app.inject('/predict?area=50');
    expect(first.headers['x-cache']).to.equal('MISS');
    expect(first.headers.age).to.equal(undefined);
    expect(second.headers['x-cache']).to.equal('HIT');
    expect(second.headers.age).to.equal('0');
    expect(second.body).to.equal(first.body);
    expect(second.headers['content-type']).to.equal(first.headers['content-type']);
    expect(model.calls).to.equal(1);
  });

  it('replays a binary body byte for byte, with its content headers and the extra headers asked for', async () => {
    const app = await appWith();
    app.get('/bytes', { config: { cache: { headers: ['x-model-version'] } } }, async (_req, reply) => {
      reply
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', 'attachment; filename="w.bin"')
        .header('etag', '"w1"')
        .header('x-model-version', '7')
        .header('x-request-id', String(Math.random()));
      return BINARY;
    });
    const first = await app.inject('/bytes');
    const hit = await app.inject('/bytes');
    expect(hit.headers['x-cache']).to.equal('HIT');
    expect(Buffer.compare(hit.rawPayload, BINARY)).to.equal(0);
    expect(Buffer.compare(first.rawPayload, BINARY)).to.equal(0);
    for (const name of ['content-type', 'content-disposition', 'etag', 'x-model-version', 'content-length']) {
      expect(hit.headers[name], name).to.equal(first.headers[name]);
    }
    expect(hit.headers['x-request-id']).to.equal(undefined);

    // The same through a listening socket.
    await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/bytes`);
    expect(res.headers.get('x-cache')).to.equal('HIT');
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), BINARY)).to.equal(0);
  });

  it('keys GET by path and sorted query', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/q', { config: { cache: true } }, async (req) => ({ n: ++calls, q: req.query }));
    expect((await app.inject('/q?a=1&b=2')).headers['x-cache']).to.equal('MISS');
    expect((await app.inject('/q?b=2&a=1')).headers['x-cache']).to.equal('HIT');
    expect((await app.inject('/q?a=1&b=3')).headers['x-cache']).to.equal('MISS');
    expect((await app.inject('/q')).headers['x-cache']).to.equal('MISS');
    expect(calls).to.equal(3);
  });

  it('keys POST by the canonical JSON body: key order and whitespace do not matter, values do', async () => {
    const app = await appWith();
    const model = fakeModel();
    app.post('/predict', { config: { cache: { kind: 'price', methods: ['POST'] } } }, async (req) =>
      model.predict(req.body),
    );
    const post = (payload: string) =>
      app.inject({ method: 'POST', url: '/predict', payload, headers: { 'content-type': 'application/json' } });
    const a = await post('{"area":50,"rooms":2}');
    const b = await post('{ "rooms": 2,\n "area": 50 }');
    const c = await post('{"area":51,"rooms":2}');
    expect([a.headers['x-cache'], b.headers['x-cache'], c.headers['x-cache']]).to.deep.equal(['MISS', 'HIT', 'MISS']);
    expect(b.body).to.equal(a.body);
    expect(model.calls).to.equal(2);
  });

  it('does not cache POST on a route that caches GET only', async () => {
    const app = await appWith();
    let calls = 0;
    app.route({ method: ['GET', 'POST'], url: '/both', config: { cache: true }, handler: async () => ++calls });
    await app.inject({ method: 'POST', url: '/both', payload: {} });
    const res = await app.inject({ method: 'POST', url: '/both', payload: {} });
    expect(res.headers['x-cache']).to.equal('BYPASS');
    expect(calls).to.equal(2);
  });

  it('stores only successful responses', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/fail/:code', { config: { cache: true } }, async (req, reply) => {
      calls++;
      const code = Number((req.params as { code: string }).code);
      if (code === 500) throw new Error('model crashed');
      return reply.code(code).send({ calls });
    });
    for (const code of [404, 500, 206, 304]) {
      await app.inject(`/fail/${code}`);
      const again = await app.inject(`/fail/${code}`);
      expect(again.headers['x-cache'], String(code)).to.equal('MISS');
    }
    expect(calls).to.equal(8);
    await app.inject('/fail/201');
    expect((await app.inject('/fail/201')).headers['x-cache']).to.equal('HIT');
  });

  it('never stores a response that sets a cookie or says no-store', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/cookie', { config: { cache: true } }, async (_req, reply) => {
      reply.header('set-cookie', `session=${++calls}; HttpOnly`);
      return 'hello';
    });
    app.get('/no-store', { config: { cache: true } }, async (_req, reply) => {
      reply.header('cache-control', 'private, no-store');
      return String(++calls);
    });
    await app.inject('/cookie');
    const second = await app.inject('/cookie');
    expect(second.headers['x-cache']).to.equal('MISS');
    expect(second.headers['set-cookie']).to.equal('session=2; HttpOnly');
    await app.inject('/no-store');
    expect((await app.inject('/no-store')).headers['x-cache']).to.equal('MISS');
    expect(calls).to.equal(4);
  });

  it('never gives one user the response cached for another', async () => {
    const app = await appWith();
    const me = (req: { headers: { authorization?: string } }) => ({ user: req.headers.authorization });
    app.get('/private', { config: { cache: true } }, async (req) => me(req));
    app.get('/per-user', { config: { cache: { vary: ['authorization'] } } }, async (req) => me(req));
    app.get('/public', { config: { cache: { public: true } } }, async () => ({ catalogue: 1 }));
    const as = (url: string, token?: string) =>
      app.inject({ url, headers: token ? { authorization: `Bearer ${token}` } : {} });

    await as('/private', 'alice');
    const bob = await as('/private', 'bob');
    expect(bob.headers['x-cache']).to.equal('BYPASS');
    expect(bob.json()).to.deep.equal({ user: 'Bearer bob' });
    expect((await as('/private')).headers['x-cache']).to.equal('MISS');

    const alice1 = await as('/per-user', 'alice');
    const bob1 = await as('/per-user', 'bob');
    const alice2 = await as('/per-user', 'alice');
    const bob2 = await as('/per-user', 'bob');
    expect([alice1, bob1, alice2, bob2].map((r) => r.headers['x-cache'])).to.deep.equal(['MISS', 'MISS', 'HIT', 'HIT']);
    expect(alice2.json()).to.deep.equal({ user: 'Bearer alice' });
    expect(bob2.json()).to.deep.equal({ user: 'Bearer bob' });
    expect(alice2.headers.vary).to.equal('authorization');

    await as('/public', 'alice');
    expect((await as('/public', 'bob')).headers['x-cache']).to.equal('HIT');
    const withCookie = await app.inject({ url: '/per-user', headers: { cookie: 'sid=1' } });
    expect(withCookie.headers['x-cache']).to.equal('BYPASS');
  });

  it('keeps no personal data in keys: vary values are hashed', async () => {
    const app = await appWith();
    app.get('/me', { config: { cache: { vary: ['authorization'] } } }, async () => 'x');
    await app.inject({ url: '/me', headers: { authorization: 'Bearer secret-token-123' } });
    await sleep(20);
    const keys = await adminClient().keys('*');
    expect(keys.join(' ')).not.to.contain('secret-token');
  });

  it('honours Cache-Control: no-cache only on routes that allow it', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/strict', { config: { cache: true } }, async () => ++calls);
    app.get('/lenient', { config: { cache: { allowNoCache: true } } }, async () => ++calls);
    const noCache = { 'cache-control': 'no-cache' };
    await app.inject('/strict');
    expect((await app.inject({ url: '/strict', headers: noCache })).headers['x-cache']).to.equal('HIT');
    await app.inject('/lenient');
    const bypassed = await app.inject({ url: '/lenient', headers: noCache });
    expect(bypassed.headers['x-cache']).to.equal('BYPASS');
    expect(bypassed.body).to.equal('3');
    expect((await app.inject({ url: '/lenient', headers: { pragma: 'no-cache' } })).headers['x-cache']).to.equal(
      'BYPASS',
    );
  });

  it('runs the handler once for concurrent identical misses, and every request gets its response', async () => {
    const app = await appWith();
    const model = fakeModel(60);
    app.post('/predict', { config: { cache: { methods: ['POST'] } } }, async (req) => model.predict(req.body));
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => app.inject({ method: 'POST', url: '/predict', payload: { area: 70 } })),
    );
    expect(model.calls).to.equal(1);
    expect(new Set(responses.map((r) => r.body)).size).to.equal(1);
    expect(responses.every((r) => r.statusCode === 200 && r.headers['x-cache'] === 'MISS')).to.equal(true);
  });

  it('does not share a failed response: each waiting request runs its own handler, nothing is stored', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/flaky', { config: { cache: true } }, async (_req, reply) => {
      calls++;
      await sleep(30);
      return calls === 1 ? reply.code(503).send({ error: 'overloaded' }) : { ok: calls };
    });
    const responses = await Promise.all(Array.from({ length: 3 }, () => app.inject('/flaky')));
    expect(responses.map((r) => r.statusCode).sort()).to.deep.equal([200, 200, 503]);
    expect(calls).to.equal(3);
  });

  it('serves STALE during staleWhileRevalidate while the next request recomputes', async () => {
    const app = await appWith();
    let version = 0;
    app.get('/forecast', { config: { cache: { ttl: '200ms', staleWhileRevalidate: '10s' } } }, async () => ({
      v: ++version,
    }));
    expect((await app.inject('/forecast')).json()).to.deep.equal({ v: 1 });
    await sleep(300);
    const stale = await app.inject('/forecast');
    expect(stale.headers['x-cache']).to.equal('STALE');
    expect(stale.json()).to.deep.equal({ v: 1 });
    const refreshed = await app.inject('/forecast');
    expect(refreshed.headers['x-cache']).to.equal('MISS');
    expect(refreshed.json()).to.deep.equal({ v: 2 });
    await sleep(20);
    const hit = await app.inject('/forecast');
    expect(hit.headers['x-cache']).to.equal('HIT');
    expect(hit.json()).to.deep.equal({ v: 2 });
    expect(version).to.equal(2);
  });

  it('caches HEAD apart from GET', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/h', { config: { cache: true } }, async () => ({ calls: ++calls }));
    const head1 = await app.inject({ method: 'HEAD', url: '/h' });
    const head2 = await app.inject({ method: 'HEAD', url: '/h' });
    const get = await app.inject('/h');
    expect([head1.headers['x-cache'], head2.headers['x-cache'], get.headers['x-cache']]).to.deep.equal([
      'MISS',
      'HIT',
      'MISS',
    ]);
    expect(head2.body).to.equal('');
    expect(get.json()).to.deep.equal({ calls: 2 });
    // HEAD answers announce the length of the GET's body, hit or miss.
    const length = String(Buffer.byteLength(get.body));
    expect([head1.headers['content-length'], head2.headers['content-length']]).to.deep.equal([length, length]);
  });

  it('replays exactly the stored content headers: no Content-Type the handler did not send', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/empty', { config: { cache: true } }, async (_req, reply) => {
      calls++;
      return reply.code(200).send();
    });
    const miss = await app.inject('/empty');
    const hit = await app.inject('/empty');
    expect([miss.headers['x-cache'], hit.headers['x-cache']]).to.deep.equal(['MISS', 'HIT']);
    expect(calls).to.equal(1);
    expect(miss.headers['content-type']).to.equal(undefined);
    expect(hit.headers['content-type']).to.equal(undefined);
    expect(hit.headers['content-length']).to.equal('0');
  });

  it('uses the route key, kind and tags: readable keys, invalidation by tag', async () => {
    const app = await appWith(testCache({ namespace: 'prediction' }));
    let calls = 0;
    app.get(
      '/chargers/:id/failure',
      {
        config: {
          cache: {
            kind: 'failure',
            key: (req) => (req.params as { id: string }).id,
            tags: (req) => [`charger:${(req.params as { id: string }).id}`],
          },
        },
      },
      async () => ({ calls: ++calls }),
    );
    await app.inject('/chargers/CHG_001/failure');
    await sleep(20);
    expect(await adminClient().exists('prediction:failure:v1:CHG_001')).to.equal(1);
    expect((await app.inject('/chargers/CHG_001/failure')).headers['x-cache']).to.equal('HIT');
    await app.cache.invalidateTags('charger:CHG_001');
    expect((await app.inject('/chargers/CHG_001/failure')).headers['x-cache']).to.equal('MISS');
  });

  it('frees waiting requests when the computing request is aborted and never replies', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/slow', { config: { cache: true } }, async (request, reply) => {
      calls++;
      await sleep(80);
      if (request.raw.socket.destroyed) return reply; // gave up: never replies
      return { calls };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/slow`;
    const aborted = new AbortController();
    const first = fetch(url, { signal: aborted.signal }).catch(() => 'aborted');
    await sleep(5);
    aborted.abort();
    expect(await first).to.equal('aborted');
    const next = await fetch(url);
    expect(next.status).to.equal(200);
    expect(await next.json()).to.deep.equal({ calls }); // its own computation, not a shared abort
    expect(next.headers.get('x-cache')).to.equal('MISS');
  });

  it('runs routes uncached when the cache is disabled', async () => {
    const app = await appWith(testCache({ enabled: false }));
    app.get('/d', { config: { cache: true } }, async () => 'x');
    expect((await app.inject('/d')).headers['x-cache']).to.equal('BYPASS');
    expect((await app.inject('/d')).headers['x-cache']).to.equal('BYPASS');
  });

  it('warns once and bypasses when a key function throws', async () => {
    const app = await appWith();
    app.get('/k', { config: { cache: { key: () => JSON.parse('{') } } }, async () => 'ok');
    expect((await app.inject('/k')).headers['x-cache']).to.equal('BYPASS');
    expect((await app.inject('/k')).body).to.equal('ok');
    expect(warnings.filter((w) => w.includes('key function threw'))).to.have.length(1);
  });

  it('gives up waiting computations when the app closes, without leaking timers', async () => {
    const cache = createCache({ redis: { url: testRedisUrl() }, setDefault: false, logger: false });
    const app = fastifyApp(quiet);
    await app.register(infercache, { cache, closeCache: true });
    app.get('/x', { config: { cache: true } }, async () => 'x');
    await app.inject('/x');
    await app.close();
    expect(cache.enabled).to.equal(false);
  });
});
