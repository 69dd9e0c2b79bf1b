/** infercache/fastify route caching against the run's test Redis: keys, headers, storability, credentials, flights. */
import { expect } from 'chai';
import { ConfigError, createCache, type Cache } from '../../src/index.js';
import infercache from '../../plugins/fastify.js';
import { eventually, sleep, warnings, writesLanded } from '../helpers.js';
import { adminClient, testRedisUrl } from '../setup/root-hooks.js';
import { BINARY, fakeModel, fastifyApp, storedKey, testCache } from './helpers.js';

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
    await writesLanded(app.cache);
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
    await writesLanded(app.cache);
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

  it('uses the route key, kind and tags: readable keys scoped to the route, invalidation by tag', async () => {
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
    // the id, scoped to its route: readable in redis-cli
    await storedKey('prediction:failure:v1:/chargers/:id/failure#CHG_001');
    expect((await app.inject('/chargers/CHG_001/failure')).headers['x-cache']).to.equal('HIT');
    await app.cache.invalidateTags('charger:CHG_001');
    expect((await app.inject('/chargers/CHG_001/failure')).headers['x-cache']).to.equal('MISS');
  });

  it('frees waiting requests when the computing request is aborted and never replies', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/slow', { config: { cache: true } }, async (request, reply) => {
      calls++;
      if (calls > 1) return { calls };
      if (!request.raw.socket.destroyed) await new Promise((resolve) => request.raw.socket.once('close', resolve));
      return reply; // the client gave up: never replies
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/slow`;
    const aborted = new AbortController();
    const first = fetch(url, { signal: aborted.signal }).catch(() => 'aborted');
    await eventually(() => calls === 1); // the request is computing
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

  it('stores a GET under a readable key of path and sorted query, apart from HEAD and from a route key', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/p/:id', { config: { cache: true } }, async () => ({ calls: ++calls }));
    app.get('/k/:id', { config: { cache: { key: (req) => `GET:/p/${(req.params as { id: string }).id}` } } }, () => ({
      k: true,
    }));
    expect((await app.inject('/p/1?b=2&a=1')).headers['x-cache']).to.equal('MISS');
    const again = await app.inject('/p/1?a=1&b=2');
    expect(again.headers['x-cache']).to.equal('HIT');
    expect(again.json()).to.deep.equal({ calls: 1 });
    expect((await app.inject('/p/2?a=1&b=2')).json()).to.deep.equal({ calls: 2 });
    expect((await app.inject({ method: 'HEAD', url: '/p/1?a=1&b=2' })).headers['x-cache']).to.equal('MISS');
    // a route key that spells the same text stays scoped to its own route
    expect((await app.inject('/k/1')).json()).to.deep.equal({ k: true });
    await storedKey('infercache:http:v1:GET:/p/1?a=1&b=2');
    await storedKey('infercache:http:v1:/k/:id#GET:/p/1');
  });

  it("never serves one route the entry of another with the same key: /a/1 then /b/1 is a MISS with b's body", async () => {
    const app = await appWith();
    const id = (req: { params: unknown }) => (req.params as { id: string }).id;
    app.get('/a/:id', { config: { cache: { key: id } } }, async (req) => ({ route: 'a', id: id(req) }));
    app.get('/b/:id', { config: { cache: { key: id } } }, async (req) => ({ route: 'b', id: id(req) }));
    expect((await app.inject('/a/1')).json()).to.deep.equal({ route: 'a', id: '1' });
    const b = await app.inject('/b/1');
    expect(b.headers['x-cache']).to.equal('MISS');
    expect(b.json()).to.deep.equal({ route: 'b', id: '1' });
    const again = await app.inject('/a/1');
    expect(again.headers['x-cache']).to.equal('HIT');
    expect(again.json()).to.deep.equal({ route: 'a', id: '1' });
    await storedKey('infercache:http:v1:/a/:id#1');
    await storedKey('infercache:http:v1:/b/:id#1');
  });

  it('never serves a POST the GET entry of the same path and key, nor the reverse', async () => {
    const app = await appWith();
    const id = (req: { params: unknown }) => (req.params as { id: string }).id;
    app.get('/x/:id', { config: { cache: { key: id } } }, async () => ({ m: 'get' }));
    app.post('/x/:id', { config: { cache: { key: id, methods: ['POST'] } } }, async () => ({ m: 'post' }));
    // one route answering both methods: one owner, still one entry per method
    app.route({
      method: ['GET', 'POST'],
      url: '/both/:id',
      config: { cache: { key: id, methods: ['GET', 'POST'] } },
      handler: async (req) => ({ m: req.method }),
    });
    const get = await app.inject('/x/1');
    expect([get.headers['x-cache'], get.json()]).to.deep.equal(['MISS', { m: 'get' }]);
    const post = await app.inject({ method: 'POST', url: '/x/1' });
    expect([post.headers['x-cache'], post.json()]).to.deep.equal(['MISS', { m: 'post' }]);
    const again = await app.inject({ method: 'POST', url: '/x/1' });
    expect([again.headers['x-cache'], again.json()]).to.deep.equal(['HIT', { m: 'post' }]);
    expect((await app.inject('/x/1')).json()).to.deep.equal({ m: 'get' });
    await app.inject({ method: 'POST', url: '/both/1' });
    const both = await app.inject('/both/1');
    expect([both.headers['x-cache'], both.json()]).to.deep.equal(['MISS', { m: 'GET' }]);
    // GET keeps its readable layout; other methods are prefixed with theirs
    await storedKey('infercache:http:v1:/x/:id#1');
    await storedKey('infercache:http:v1:POST:/x/:id#1');
    await storedKey('infercache:http:v1:POST:/both/:id#1');
  });

  it('never serves a route the entry of another on the same URL told apart by host or version constraints', async () => {
    const app = await appWith();
    for (const host of ['a.example.com', 'b.example.com']) {
      app.get('/x', { constraints: { host }, config: { cache: true } }, async () => ({ host }));
      app.get(
        '/k/:id',
        { constraints: { host }, config: { cache: { key: (req) => (req.params as { id: string }).id } } },
        async () => ({ host }),
      );
    }
    for (const version of ['1.0.0', '2.0.0']) {
      app.get('/v', { constraints: { version }, config: { cache: true } }, async () => ({ version }));
    }
    for (const url of ['/x', '/k/1']) {
      const a = await app.inject({ url, headers: { host: 'a.example.com' } });
      expect([a.headers['x-cache'], a.json()], url).to.deep.equal(['MISS', { host: 'a.example.com' }]);
      const b = await app.inject({ url, headers: { host: 'b.example.com' } });
      expect([b.headers['x-cache'], b.json()], url).to.deep.equal(['MISS', { host: 'b.example.com' }]);
      const again = await app.inject({ url, headers: { host: 'b.example.com' } });
      expect([again.headers['x-cache'], again.json()], url).to.deep.equal(['HIT', { host: 'b.example.com' }]);
    }
    const v1 = await app.inject({ url: '/v', headers: { 'accept-version': '1.x' } });
    expect([v1.headers['x-cache'], v1.json()]).to.deep.equal(['MISS', { version: '1.0.0' }]);
    const v2 = await app.inject({ url: '/v', headers: { 'accept-version': '2.x' } });
    expect([v2.headers['x-cache'], v2.json()]).to.deep.equal(['MISS', { version: '2.0.0' }]);
    expect((await app.inject({ url: '/v', headers: { 'accept-version': '2.0.0' } })).headers['x-cache']).to.equal(
      'HIT',
    );
  });

  it('refuses a constraint value that cannot be keyed when the route is declared', async () => {
    const app = await appWith();
    app.addConstraintStrategy({
      name: 'tenant',
      storage() {
        const handlers = new Map<unknown, unknown>();
        return {
          get: (v: unknown) => (handlers.get(v) as never) ?? null,
          set: (v: unknown, h: unknown) => void handlers.set(v, h),
        };
      },
      deriveConstraint: (req: { headers: Record<string, unknown> }) => req.headers['x-tenant'] as never,
      mustMatchWhenDerived: false,
    });
    expect(() =>
      app.get('/t', { constraints: { tenant: Symbol('t') }, config: { cache: true } }, async () => 't'),
    ).to.throw(ConfigError, /constraints.*GET \/t/);
  });

  it('scopes route keys of any type to the route path with its plugin prefix', async () => {
    const app = await appWith();
    await app.register(
      async (api) => {
        api.get(
          '/x/:id',
          { config: { cache: { key: (req) => ({ id: (req.params as { id: string }).id }) } } },
          async () => 'x',
        );
        api.get(
          '/y/:id',
          { config: { cache: { key: (req) => ({ id: (req.params as { id: string }).id }) } } },
          async () => 'y',
        );
        api.get('/z/:id', { config: { cache: { key: (req) => (req.params as { id: string }).id } } }, async () => 'z');
      },
      { prefix: '/v1' },
    );
    await app.inject('/v1/z/1');
    await storedKey('infercache:http:v1:/v1/z/:id#1');
    await app.inject('/v1/x/1');
    const y = await app.inject('/v1/y/1');
    expect([y.headers['x-cache'], y.body]).to.deep.equal(['MISS', 'y']);
    expect((await app.inject('/v1/y/1')).headers['x-cache']).to.equal('HIT');
    const x = await app.inject('/v1/x/1');
    expect([x.headers['x-cache'], x.body]).to.deep.equal(['HIT', 'x']);
  });

  it('bypasses, counts and warns once per route when a key function returns nothing to key by', async () => {
    const cache = testCache();
    const app = await appWith(cache);
    let calls = 0;
    app.get('/img', { config: { cache: { key: (req) => req.headers['x-image-sha256'] } } }, async (req) => ({
      n: ++calls,
      sha: req.headers['x-image-sha256'] ?? null,
    }));
    const first = await app.inject('/img');
    const second = await app.inject('/img');
    expect([first.headers['x-cache'], second.headers['x-cache']]).to.deep.equal(['BYPASS', 'BYPASS']);
    expect(second.json()).to.deep.equal({ n: 2, sha: null });
    expect((await app.inject({ url: '/img', headers: { 'x-image-sha256': '' } })).headers['x-cache']).to.equal(
      'BYPASS',
    );
    expect((await app.inject({ url: '/img', headers: { 'x-image-sha256': 'abc' } })).headers['x-cache']).to.equal(
      'MISS',
    );
    const warned = warnings.filter((w) => w.includes('GET /img') && w.includes('key function returned'));
    expect(warned).to.have.length(1);
    expect(cache.stats().kinds.http!.bypassReasons).to.deep.equal({ key: 3 });
  });

  it('fails the request through the error handler when a key function returns nothing and the cache is strict', async () => {
    const app = await appWith(testCache({ strict: true }));
    let calls = 0;
    app.get('/img', { config: { cache: { key: (req) => req.headers['x-image-sha256'] } } }, async () => ++calls);
    app.setErrorHandler((error, _req, reply) => reply.code(500).send({ code: (error as { code?: string }).code }));
    const res = await app.inject('/img');
    expect(res.statusCode).to.equal(500);
    expect(res.json()).to.deep.equal({ code: 'E_CACHE_UNKEYABLE' });
    expect(calls).to.equal(0);
  });

  it('does not store a response whose Vary names a header the route does not vary on, and says so', async () => {
    const cache = testCache();
    const app = await appWith(cache);
    let calls = 0;
    app.get('/distance', { config: { cache: true } }, async (req, reply) => {
      calls++;
      reply.header('vary', 'x-units');
      return { km: 10, units: req.headers['x-units'] };
    });
    const imperial = await app.inject({ url: '/distance', headers: { 'x-units': 'imperial' } });
    const metric = await app.inject({ url: '/distance', headers: { 'x-units': 'metric' } });
    expect(imperial.json()).to.deep.equal({ km: 10, units: 'imperial' });
    expect(metric.json()).to.deep.equal({ km: 10, units: 'metric' });
    expect([imperial.headers['x-cache'], metric.headers['x-cache']]).to.deep.equal(['BYPASS', 'BYPASS']);
    expect(calls).to.equal(2);
    expect(cache.stats().kinds.http).to.deep.include({ bypasses: 2, misses: 0, bypassReasons: { vary: 2 } });
    const warned = warnings.filter((w) => w.includes('Vary: x-units'));
    expect(warned).to.have.length(1);
    expect(warned[0]).to.include('GET /distance').and.include("vary: ['x-units']");
  });

  it('runs their own handler for requests waiting on a response whose Vary the route does not honour', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/distance', { config: { cache: true } }, async (req, reply) => {
      calls++;
      await sleep(40);
      reply.header('vary', 'X-Units');
      return { units: req.headers['x-units'] };
    });
    const units = ['imperial', 'metric', 'metric', 'imperial'];
    const responses = await Promise.all(units.map((u) => app.inject({ url: '/distance', headers: { 'x-units': u } })));
    expect(responses.map((r) => r.json().units)).to.deep.equal(units);
    expect(calls).to.equal(4);
  });

  it('stores one response per value of a header the route varies on', async () => {
    const app = await appWith();
    let calls = 0;
    app.get('/distance', { config: { cache: { vary: ['x-units'] } } }, async (req, reply) => {
      calls++;
      reply.header('vary', 'x-units');
      return { units: req.headers['x-units'] };
    });
    const as = (units: string) => app.inject({ url: '/distance', headers: { 'x-units': units } });
    const answers = [await as('imperial'), await as('metric'), await as('imperial'), await as('metric')];
    expect(answers.map((r) => r.headers['x-cache'])).to.deep.equal(['MISS', 'MISS', 'HIT', 'HIT']);
    expect(answers.map((r) => r.json().units)).to.deep.equal(['imperial', 'metric', 'imperial', 'metric']);
    expect(calls).to.equal(2);
  });

  it('answers 304 without a body to a hit whose ETag or Last-Modified the client already has, as Express does', async () => {
    const app = await appWith();
    let calls = 0;
    const modified = 'Tue, 01 Jul 2025 10:00:00 GMT';
    app.get('/doc', { config: { cache: true } }, async (_req, reply) => {
      reply.header('etag', '"doc-1"').header('last-modified', modified);
      return { doc: 1, calls: ++calls };
    });
    const first = await app.inject('/doc');
    const etag = await app.inject({ url: '/doc', headers: { 'if-none-match': '"doc-1"' } });
    expect(etag.statusCode).to.equal(304);
    expect(etag.body).to.equal('');
    expect(etag.headers['x-cache']).to.equal('HIT');
    expect(etag.headers.etag).to.equal('"doc-1"');
    expect(etag.headers['content-length']).to.equal(undefined);
    expect(etag.headers['content-type']).to.equal(undefined);
    const since = await app.inject({ url: '/doc', headers: { 'if-modified-since': modified } });
    expect(since.statusCode).to.equal(304);
    expect(since.body).to.equal('');
    const other = await app.inject({ url: '/doc', headers: { 'if-none-match': '"doc-0"' } });
    expect(other.statusCode).to.equal(200);
    expect(other.body).to.equal(first.body);
    const head = await app.inject({ method: 'HEAD', url: '/doc' });
    expect(head.statusCode).to.equal(200);
    const headHit = await app.inject({ method: 'HEAD', url: '/doc', headers: { 'if-none-match': '"doc-1"' } });
    expect([headHit.statusCode, headHit.headers['x-cache']]).to.deep.equal([304, 'HIT']);
    expect(calls).to.equal(2);
  });

  it('counts every bypass with its reason in stats()', async () => {
    const cache = testCache();
    const app = await appWith(cache);
    app.route({
      method: ['GET', 'POST'],
      url: '/r',
      config: { cache: { allowNoCache: true, methods: ['GET', 'POST'] } },
      handler: async () => 'r',
    });
    app.route({ method: ['GET', 'PUT'], url: '/put', config: { cache: true }, handler: async () => 'p' });
    await app.inject({ url: '/r', headers: { authorization: 'Bearer a' } });
    await app.inject({ url: '/r', headers: { cookie: 'sid=1' } });
    await app.inject({ url: '/r', headers: { 'cache-control': 'no-cache' } });
    await app.inject({ method: 'POST', url: '/r', payload: 'text', headers: { 'content-type': 'text/plain' } });
    await app.inject({ method: 'PUT', url: '/put' });
    expect(cache.stats().bypasses).to.equal(5);
    expect(cache.stats().bypassReasons).to.deep.equal({
      authorization: 1,
      cookie: 1,
      'no-cache': 1,
      'body-type': 1,
      method: 1,
    });
  });

  it('counts requests to a disabled cache as bypasses with reason disabled', async () => {
    const cache = testCache({ enabled: false });
    const app = await appWith(cache);
    app.get('/d', { config: { cache: true } }, async () => 'x');
    await app.inject('/d');
    expect(cache.stats().kinds.http).to.deep.include({ bypasses: 1, bypassReasons: { disabled: 1 } });
  });
});
