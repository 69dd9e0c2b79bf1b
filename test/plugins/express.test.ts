/**
 * infercache/express: cacheRoute against the run's test Redis, through supertest and a bare Node server, once on
 * Express 5 and once on Express 4.
 */
import { expect } from 'chai';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import request from 'supertest';
import { createServer } from 'node:http';
import { ConfigError } from '../../src/index.js';
import { cacheRoute } from '../../plugins/express.js';
import { eventually, warnings } from '../helpers.js';
import { BINARY, fakeModel, listen, storedKey, testCache } from './helpers.js';
import { EXPRESS_VERSIONS } from './express-versions.js';

/** supertest parser keeping the raw bytes. */
function binary(res: request.Response, done: (err: Error | null, body: Buffer) => void) {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}

for (const [label, express, version] of EXPRESS_VERSIONS) {
  describe(`infercache/express (${label}): cacheRoute`, () => {
    it(`runs on ${label} itself`, () => {
      const major = label.slice(-1);
      expect(version.split('.')[0]).to.equal(major);
      // express.query (a middleware) exists in Express 4 only: the module really is that major.
      expect(typeof (express as unknown as { query?: unknown }).query).to.equal(
        major === '4' ? 'function' : 'undefined',
      );
    });

    it('answers MISS, then HIT with Age and the same body, running the handler once', async () => {
      const cache = testCache();
      const model = fakeModel();
      const app = express();
      app.get('/predict', cacheRoute(cache, { kind: 'price' }), async (req, res) => {
        res.json(await model.predict(req.query));
      });
      const first = await request(app).get('/predict?area=50');
      const second = await request(app).get('/predict?area=50');
      expect(first.headers['x-cache']).to.equal('MISS');
      expect(second.headers['x-cache']).to.equal('HIT');
      expect(second.headers.age).to.equal('0');
      expect(second.text).to.equal(first.text);
      expect(second.headers['content-type']).to.equal(first.headers['content-type']);
      expect(model.calls).to.equal(1);
    });

    it('replays sent and streamed bodies byte for byte, with their content headers', async () => {
      const app = express();
      const route = cacheRoute(testCache(), { headers: ['x-model-version'] });
      app.get('/sent', route, (_req, res) => {
        res.set({ 'content-type': 'application/octet-stream', 'x-model-version': '7', 'x-request-id': 'r1' });
        res.send(BINARY);
      });
      app.get('/streamed', route, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/x-ndjson', etag: '"s1"' });
        res.write(BINARY.subarray(0, 3));
        res.write('{"ok":true}\n', 'utf8');
        res.end(BINARY.subarray(3));
      });
      for (const path of ['/sent', '/streamed']) {
        const first = await request(app).get(path).buffer(true).parse(binary);
        const hit = await request(app).get(path).buffer(true).parse(binary);
        expect(hit.headers['x-cache'], path).to.equal('HIT');
        expect(Buffer.compare(hit.body, first.body), path).to.equal(0);
        expect(hit.headers['content-type'], path).to.equal(first.headers['content-type']);
      }
      const sent = await request(app).get('/sent').buffer(true).parse(binary);
      expect(Buffer.compare(sent.body, BINARY)).to.equal(0);
      expect(sent.headers['x-model-version']).to.equal('7');
      expect(sent.headers['x-request-id']).to.equal(undefined);
      expect((await request(app).get('/streamed')).headers.etag).to.equal('"s1"');
    });

    it('keys POST by the canonical JSON body', async () => {
      const model = fakeModel();
      const app = express();
      app.post('/predict', express.json(), cacheRoute(testCache(), { methods: ['POST'] }), async (req, res) => {
        res.json(await model.predict(req.body));
      });
      const post = (body: string) => request(app).post('/predict').set('content-type', 'application/json').send(body);
      const a = await post('{"area":50,"rooms":2}');
      const b = await post('{"rooms":2, "area":50}');
      const c = await post('{"area":50,"rooms":3}');
      expect([a, b, c].map((r) => r.headers['x-cache'])).to.deep.equal(['MISS', 'HIT', 'MISS']);
      expect(b.text).to.equal(a.text);
      expect(model.calls).to.equal(2);
    });

    it('bypasses a POST whose body was not parsed, and says to mount express.json()', async () => {
      const app = express();
      let calls = 0;
      app.post('/predict', cacheRoute(testCache(), { methods: ['POST'] }), (_req, res) => void res.json(++calls));
      const a = await request(app).post('/predict').send({ area: 1 });
      const b = await request(app).post('/predict').send({ area: 2 });
      expect([a.headers['x-cache'], b.headers['x-cache']]).to.deep.equal(['BYPASS', 'BYPASS']);
      expect(b.body).to.equal(2);
      expect(warnings.some((w) => w.includes('express.json()'))).to.equal(true);
    });

    it("keys by the raw query string, sorted, whatever the app's query parser makes of it", async () => {
      const app = express();
      let calls = 0;
      // Express 4 parses `f[x]=1` into { f: { x: '1' } }, Express 5 keeps { 'f[x]': '1' }: the key uses neither.
      app.get('/q', cacheRoute(testCache()), (req, res) => void res.json({ query: req.query, calls: ++calls }));
      const get = (query: string) => request(app).get(`/q?${query}`);
      const first = await get('b=2&f[x]=1');
      const reordered = await get('f[x]=1&b=2');
      expect(reordered.headers['x-cache']).to.equal('HIT');
      expect(reordered.text).to.equal(first.text);
      expect((await get('b=2&f[y]=1')).headers['x-cache']).to.equal('MISS');
      expect((await get('b=2&f[x]=1&f[x]=2')).headers['x-cache']).to.equal('MISS');
      expect(calls).to.equal(3);
    });

    it('stores only successful responses without cookies', async () => {
      const app = express();
      const route = cacheRoute(testCache());
      let calls = 0;
      app.get('/status/:code', route, (req, res) => void res.status(Number(req.params.code)).json({ n: ++calls }));
      app.get('/cookie', route, (_req, res) => void res.cookie('sid', String(++calls)).send('hi'));
      app.get('/boom', route, () => {
        calls++;
        throw new Error('model crashed');
      });
      app.use(((_err, _req, res, _next) => void res.status(500).send('failed')) as ErrorRequestHandler);
      for (const path of ['/status/404', '/status/500', '/cookie', '/boom']) {
        await request(app).get(path);
        expect((await request(app).get(path)).headers['x-cache'], path).to.equal('MISS');
      }
      expect(calls).to.equal(8);
      await request(app).get('/status/200');
      expect((await request(app).get('/status/200')).headers['x-cache']).to.equal('HIT');
    });

    it('never gives one user the response cached for another', async () => {
      const cache = testCache();
      const app = express();
      const me = (req: Request, res: Response) => void res.json({ user: req.headers.authorization });
      app.get('/private', cacheRoute(cache), me);
      app.get('/per-user', cacheRoute(cache, { vary: ['authorization'] }), me);
      const as = (path: string, user: string) => request(app).get(path).set('authorization', `Bearer ${user}`);
      await as('/private', 'alice');
      const bob = await as('/private', 'bob');
      expect(bob.headers['x-cache']).to.equal('BYPASS');
      expect(bob.body).to.deep.equal({ user: 'Bearer bob' });
      await as('/per-user', 'alice');
      await as('/per-user', 'bob');
      const alice = await as('/per-user', 'alice');
      const bob2 = await as('/per-user', 'bob');
      expect([alice.headers['x-cache'], bob2.headers['x-cache']]).to.deep.equal(['HIT', 'HIT']);
      expect(alice.body).to.deep.equal({ user: 'Bearer alice' });
      expect(bob2.body).to.deep.equal({ user: 'Bearer bob' });
    });

    it('runs the handler once for concurrent identical misses', async () => {
      const model = fakeModel(60);
      const app = express();
      app.post('/predict', express.json(), cacheRoute(testCache(), { methods: ['POST'] }), async (req, res) => {
        res.json(await model.predict(req.body));
      });
      const url = await listen(createServer(app));
      const responses = await Promise.all(
        Array.from({ length: 10 }, () =>
          fetch(`${url}/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"area":70}',
          }).then(async (r) => ({ status: r.status, body: await r.text() })),
        ),
      );
      expect(model.calls).to.equal(1);
      expect(new Set(responses.map((r) => r.body)).size).to.equal(1);
      expect(responses.every((r) => r.status === 200)).to.equal(true);
    });

    it('answers 304 to a hit whose ETag the client already has, and caches HEAD apart', async () => {
      const app = express();
      let calls = 0;
      app.get('/doc', cacheRoute(testCache()), (_req, res) => void res.json({ doc: 1, calls: ++calls }));
      const first = await request(app).get('/doc');
      const conditional = await request(app).get('/doc').set('if-none-match', first.headers.etag!);
      expect(conditional.status).to.equal(304);
      expect(conditional.headers['x-cache']).to.equal('HIT');
      const head = await request(app).head('/doc');
      expect(head.headers['x-cache']).to.equal('MISS');
      const headHit = await request(app).head('/doc');
      expect(headHit.headers['x-cache']).to.equal('HIT');
      expect(calls).to.equal(2);
      // A HEAD hit announces the length of the GET's body, as the miss did, and sends none.
      const length = String(Buffer.byteLength(first.text));
      expect([head.headers['content-length'], headHit.headers['content-length']]).to.deep.equal([length, length]);
      expect(headHit.text ?? '').to.equal('');
      const headConditional = await request(app).head('/doc').set('if-none-match', headHit.headers.etag!);
      expect(headConditional.status).to.equal(304);
    });

    it('replays exactly the stored content headers: no Content-Type or ETag the handler did not send', async () => {
      const app = express();
      let calls = 0;
      app.get('/plain', cacheRoute(testCache()), (_req, res) => void res.end(`plain ${++calls}`));
      const miss = await request(app).get('/plain').buffer(true).parse(binary);
      const hit = await request(app).get('/plain').buffer(true).parse(binary);
      expect([miss.headers['x-cache'], hit.headers['x-cache']]).to.deep.equal(['MISS', 'HIT']);
      expect(hit.body.toString()).to.equal('plain 1');
      expect(miss.headers['content-type']).to.equal(undefined);
      expect(hit.headers['content-type']).to.equal(undefined);
      expect(hit.headers.etag).to.equal(miss.headers.etag);
      expect(hit.headers['content-length']).to.equal('7');
    });

    it('never keys a body it did not parse as JSON: uploads and forms bypass unless the route has a key', async () => {
      const cache = testCache();
      const app = express();
      // Mounted app-wide, as is common: on Express 4 it sets req.body = {} for every body it does not parse.
      app.use(express.json());
      const label: RequestHandler = (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => void res.json({ label: Buffer.concat(chunks).toString() }));
      };
      // Stands in for multer: reads the multipart stream, leaves req.body = {} and puts the upload on req.file.
      const multipart: RequestHandler = (req, _res, next) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          Object.assign(req, { body: {}, file: { buffer: Buffer.concat(chunks) } });
          next();
        });
      };
      const fileOf = (req: Request) => (req as Request & { file: { buffer: Buffer } }).file.buffer.toString();
      const post = cacheRoute(cache, { methods: ['POST'] });
      app.post('/classify', post, label);
      app.post('/upload', multipart, post, (req, res) => void res.json({ label: fileOf(req) }));
      app.post('/json', post, (req, res) => void res.json({ label: req.body }));
      app.post('/keyed', cacheRoute(cache, { methods: ['POST'], key: (req) => req.get('x-image-id') }), label);
      const send = (path: string, type: string, body: string) =>
        request(app).post(path).set('content-type', type).send(Buffer.from(body));

      for (const [path, type] of [
        ['/classify', 'application/octet-stream'],
        ['/classify', 'text/plain'],
        ['/upload', 'multipart/form-data; boundary=x'],
      ] as const) {
        const cat = await send(path, type, 'cat-bytes');
        const dog = await send(path, type, 'dog-bytes');
        expect([cat.headers['x-cache'], dog.headers['x-cache']], `${path} ${type}`).to.deep.equal(['BYPASS', 'BYPASS']);
        expect(dog.body, `${path} ${type}`).to.deep.equal({ label: 'dog-bytes' });
      }
      expect(warnings.some((w) => w.includes('not JSON') && w.includes('key'))).to.equal(true);

      const json = (body: string) => request(app).post('/json').set('content-type', 'application/json').send(body);
      expect((await json('{"a":1}')).headers['x-cache']).to.equal('MISS');
      expect((await json('{ "a": 1 }')).headers['x-cache']).to.equal('HIT');

      const keyed = (id: string, body: string) =>
        send('/keyed', 'application/octet-stream', body).set('x-image-id', id);
      expect((await keyed('cat', 'cat-bytes')).headers['x-cache']).to.equal('MISS');
      const again = await keyed('cat', 'cat-bytes');
      expect(again.headers['x-cache']).to.equal('HIT');
      expect(again.body).to.deep.equal({ label: 'cat-bytes' });
    });

    it('does not key a JSON body that no JSON parser read', async () => {
      const app = express();
      let calls = 0;
      // Only a form parser: on Express 4 it still sets req.body = {} for a JSON body it skips.
      app.use(express.urlencoded({ extended: false }));
      app.post('/p', cacheRoute(testCache(), { methods: ['POST'] }), (_req, res) => void res.json(++calls));
      const post = (body: string) => request(app).post('/p').set('content-type', 'application/json').send(body);
      const a = await post('{"area":1}');
      const b = await post('{"area":2}');
      expect([a.headers['x-cache'], b.headers['x-cache']]).to.deep.equal(['BYPASS', 'BYPASS']);
      expect(b.body).to.equal(2);
    });

    it('does not store a response larger than maxEntryBytes', async () => {
      const app = express();
      let calls = 0;
      app.get('/big', cacheRoute(testCache({ maxEntryBytes: 1024 })), (_req, res) => {
        calls++;
        res.write('x'.repeat(800));
        res.end('y'.repeat(800));
      });
      const first = await request(app).get('/big');
      expect(first.text).to.have.length(1600);
      expect((await request(app).get('/big')).headers['x-cache']).to.equal('MISS');
      expect(calls).to.equal(2);
    });

    it('hands a failure inside the middleware to the app error handler, which Express 4 needs', async () => {
      const app = express();
      const errors: unknown[] = [];
      // Headers already sent: setting X-Cache throws inside the middleware's promise chain.
      app.use((_req, res, next) => {
        res.writeHead(200, { 'content-type': 'text/plain' }).write('early ');
        next();
      });
      app.get('/x', cacheRoute(testCache()), (_req, res) => void res.end('handler'));
      app.use(((error, _req, res, _next) => {
        errors.push((error as { code?: string }).code);
        res.end('handled');
      }) as ErrorRequestHandler);
      const res = await request(app).get('/x');
      expect(errors).to.deep.equal(['ERR_HTTP_HEADERS_SENT']);
      expect(res.text).to.equal('early handled');
    });

    it('never serves one route the entry of another with the same key', async () => {
      const cache = testCache();
      const app = express();
      const byId = cacheRoute(cache, { key: (req) => req.params.id });
      app.get('/chargers/:id/status', cacheRoute(cache, { key: (req) => req.params.id }), (req, res) => {
        res.json({ status: 'charging', id: req.params.id });
      });
      app.get('/chargers/:id/history', cacheRoute(cache, { key: (req) => req.params.id }), (req, res) => {
        res.json({ history: [], id: req.params.id });
      });
      // one middleware on two routes: still one entry per route
      app.get('/a/:id', byId, (_req, res) => void res.json('a'));
      app.get('/b/:id', byId, (_req, res) => void res.json('b'));
      const api = express.Router();
      api.get('/chargers/:id/status', cacheRoute(cache, { key: (req) => req.params.id }), (_req, res) => {
        res.json('api');
      });
      app.use('/api', api);

      expect((await request(app).get('/chargers/CHG_001/status')).body).to.deep.equal({
        status: 'charging',
        id: 'CHG_001',
      });
      const history = await request(app).get('/chargers/CHG_001/history');
      expect(history.headers['x-cache']).to.equal('MISS');
      expect(history.body).to.deep.equal({ history: [], id: 'CHG_001' });
      expect((await request(app).get('/chargers/CHG_001/status')).headers['x-cache']).to.equal('HIT');
      await request(app).get('/a/1');
      const b = await request(app).get('/b/1');
      expect([b.headers['x-cache'], b.body]).to.deep.equal(['MISS', 'b']);
      const mounted = await request(app).get('/api/chargers/CHG_001/status');
      expect([mounted.headers['x-cache'], mounted.body]).to.deep.equal(['MISS', 'api']);
      // readable in redis-cli: the route's path pattern, '#', the id
      await storedKey('infercache:http:v1:/chargers/:id/status#CHG_001');
      await storedKey('infercache:http:v1:/chargers/:id/history#CHG_001');
      await storedKey('infercache:http:v1:/api/chargers/:id/status#CHG_001');
    });

    it('never serves a POST the GET entry of the same path and key, nor the reverse', async () => {
      const cache = testCache();
      const app = express();
      app.use(express.json());
      app.get('/y/:id', cacheRoute(cache, { key: (req) => req.params.id }), (_req, res) => void res.json({ m: 'get' }));
      app.post('/y/:id', cacheRoute(cache, { key: (req) => req.params.id, methods: ['POST'] }), (_req, res) => {
        res.json({ m: 'post' });
      });
      // one middleware for both methods on one route: still one entry per method
      app
        .route('/both/:id')
        .all(cacheRoute(cache, { key: (req) => req.params.id, methods: ['GET', 'POST'] }), (req, res) => {
          res.json({ m: req.method });
        });
      const get = await request(app).get('/y/1');
      expect([get.headers['x-cache'], get.body]).to.deep.equal(['MISS', { m: 'get' }]);
      const post = await request(app).post('/y/1');
      expect([post.headers['x-cache'], post.body]).to.deep.equal(['MISS', { m: 'post' }]);
      const again = await request(app).post('/y/1');
      expect([again.headers['x-cache'], again.body]).to.deep.equal(['HIT', { m: 'post' }]);
      expect((await request(app).get('/y/1')).body).to.deep.equal({ m: 'get' });
      await request(app).post('/both/1');
      const both = await request(app).get('/both/1');
      expect([both.headers['x-cache'], both.body]).to.deep.equal(['MISS', { m: 'GET' }]);
      await storedKey('infercache:http:v1:/y/:id#1');
      await storedKey('infercache:http:v1:POST:/y/:id#1');
    });

    it("bypasses uploads whose key header is missing: a 10-byte upload never gets the 4-byte upload's answer", async () => {
      const cache = testCache();
      const app = express();
      const sizeOf: RequestHandler = (req, res) => {
        let size = 0;
        req.on('data', (chunk: Buffer) => (size += chunk.length));
        req.on('end', () => void res.json({ bytes: size }));
      };
      app.post('/classify', cacheRoute(cache, { methods: ['POST'], key: (req) => req.get('x-image-sha256') }), sizeOf);
      const upload = (bytes: number, sha?: string) => {
        const req = request(app).post('/classify').set('content-type', 'application/octet-stream');
        return (sha ? req.set('x-image-sha256', sha) : req).send(Buffer.alloc(bytes));
      };
      const small = await upload(4);
      const large = await upload(10);
      expect(small.body).to.deep.equal({ bytes: 4 });
      expect(large.body).to.deep.equal({ bytes: 10 });
      expect([small.headers['x-cache'], large.headers['x-cache']]).to.deep.equal(['BYPASS', 'BYPASS']);
      expect((await upload(10, 'sha-10')).headers['x-cache']).to.equal('MISS');
      expect((await upload(10, 'sha-10')).headers['x-cache']).to.equal('HIT');
      const warned = warnings.filter((w) => w.includes('key function returned undefined'));
      expect(warned).to.have.length(1);
      expect(warned[0]).to.include('/classify');
      expect(cache.stats().bypassReasons).to.deep.equal({ key: 2 });
    });

    it('bypasses uploads whose composite key has none of its headers: the 10-byte upload never gets the 4-byte answer', async () => {
      const cache = testCache();
      const app = express();
      const sizeOf: RequestHandler = (req, res) => {
        let size = 0;
        req.on('data', (chunk: Buffer) => (size += chunk.length));
        req.on('end', () => void res.json({ bytes: size }));
      };
      const key = (req: Request) => ({ tenant: req.get('x-tenant'), sha: req.get('x-image-sha256') });
      app.post('/scan', cacheRoute(cache, { methods: ['POST'], key }), sizeOf);
      const upload = (bytes: number, sha?: string) => {
        const req = request(app).post('/scan').set('content-type', 'application/octet-stream');
        return (sha ? req.set('x-image-sha256', sha) : req).send(Buffer.alloc(bytes));
      };
      const small = await upload(4);
      const large = await upload(10);
      expect([small.body, large.body]).to.deep.equal([{ bytes: 4 }, { bytes: 10 }]);
      expect([small.headers['x-cache'], large.headers['x-cache']]).to.deep.equal(['BYPASS', 'BYPASS']);
      // one field present: keyed as it is
      expect((await upload(10, 'sha-10')).headers['x-cache']).to.equal('MISS');
      expect((await upload(10, 'sha-10')).headers['x-cache']).to.equal('HIT');
      const warned = warnings.filter((w) => w.includes('/scan') && w.includes('an object without a non-empty value'));
      expect(warned).to.have.length(1);
      expect(cache.stats().bypassReasons).to.deep.equal({ key: 2 });
    });

    it('fails a request whose composite key has only empty fields when the cache is strict', async () => {
      const app = express();
      let calls = 0;
      const key = (req: Request) => [req.get('x-tenant'), req.get('x-image-sha256')];
      app.post('/scan', cacheRoute(testCache({ strict: true }), { methods: ['POST'], key }), (_req, res) => {
        res.json(++calls);
      });
      app.use(((error, _req, res, _next) => void res.status(500).json({ code: error.code })) as ErrorRequestHandler);
      const res = await request(app).post('/scan').set('content-type', 'application/octet-stream').send('abcd');
      expect([res.status, res.body]).to.deep.equal([500, { code: 'E_CACHE_UNKEYABLE' }]);
      expect(calls).to.equal(0);
    });

    it('hands the request to the error handler when a key returns nothing and the cache is strict', async () => {
      const app = express();
      let calls = 0;
      app.post(
        '/classify',
        cacheRoute(testCache({ strict: true }), { methods: ['POST'], key: (req) => req.get('x-image-sha256') }),
        (_req, res) => void res.json(++calls),
      );
      app.use(((error, _req, res, _next) => void res.status(500).json({ code: error.code })) as ErrorRequestHandler);
      const res = await request(app).post('/classify').set('content-type', 'application/octet-stream').send('abcd');
      expect(res.status).to.equal(500);
      expect(res.body).to.deep.equal({ code: 'E_CACHE_UNKEYABLE' });
      expect(calls).to.equal(0);
    });

    it('does not replay the JSON answer of res.format() to a request that accepts HTML', async () => {
      const cache = testCache();
      const app = express();
      let calls = 0;
      app.get('/report', cacheRoute(cache), (_req, res) => {
        calls++;
        res.format({
          'application/json': () => void res.json({ report: 1 }),
          'text/html': () => void res.send('<p>report 1</p>'),
        });
      });
      const json = await request(app).get('/report').set('accept', 'application/json');
      const html = await request(app).get('/report').set('accept', 'text/html');
      expect(json.body).to.deep.equal({ report: 1 });
      expect(html.headers['x-cache']).to.not.equal('HIT');
      expect(html.text).to.equal('<p>report 1</p>');
      expect(html.headers['content-type']).to.match(/^text\/html/);
      expect(calls).to.equal(2);
      expect(cache.stats().bypassReasons).to.deep.equal({ vary: 2 });
      expect(warnings.filter((w) => w.includes('Vary: accept') && w.includes("vary: ['accept']"))).to.have.length(1);

      // varying on Accept: one entry per Accept value
      const varied = express();
      varied.get('/report', cacheRoute(cache, { vary: ['accept'] }), (_req, res) => {
        res.format({
          'application/json': () => void res.json({ report: 2 }),
          'text/html': () => void res.send('<p>report 2</p>'),
        });
      });
      for (const accept of ['application/json', 'text/html'])
        await request(varied).get('/report').set('accept', accept);
      const hit = await request(varied).get('/report').set('accept', 'text/html');
      expect([hit.headers['x-cache'], hit.text]).to.deep.equal(['HIT', '<p>report 2</p>']);
    });

    it("warns once when a POST route is cached without methods: ['POST'], and counts its bypasses", async () => {
      const cache = testCache();
      const app = express();
      let calls = 0;
      app.post('/predict', express.json(), cacheRoute(cache, { kind: 'price' }), (_req, res) => void res.json(++calls));
      for (let i = 0; i < 3; i++) {
        const res = await request(app).post('/predict').send({ area: 1 });
        expect(res.headers['x-cache']).to.equal('BYPASS');
      }
      const warned = warnings.filter((w) => w.includes('POST /predict'));
      expect(warned).to.have.length(1);
      expect(warned[0]).to.include("methods: ['POST']");
      expect(cache.stats().kinds.price).to.deep.include({ bypasses: 3, bypassReasons: { method: 3 } });
    });

    it('does not warn about HEAD requests on a route caching GET only, and names the fix for GET on a POST route', async () => {
      const cache = testCache();
      const app = express();
      app.get('/doc', cacheRoute(cache, { methods: ['GET'] }), (_req, res) => void res.json({ doc: 1 }));
      expect((await request(app).head('/doc')).headers['x-cache']).to.equal('BYPASS');
      expect(warnings).to.deep.equal([]);
      expect(cache.stats().bypassReasons).to.deep.equal({ method: 1 });
      // a route caching POST only, asked with GET: the fix keeps POST
      app.get('/post-only', cacheRoute(cache, { methods: ['POST'] }), (_req, res) => void res.json(1));
      expect((await request(app).get('/post-only')).headers['x-cache']).to.equal('BYPASS');
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include('GET /post-only').and.include("methods: ['POST', 'GET']");
    });

    it('counts every bypass with its reason in stats()', async () => {
      const cache = testCache();
      const app = express();
      app.post(
        '/p',
        cacheRoute(cache, { methods: ['GET', 'POST'], allowNoCache: true }),
        (_req, res) => void res.json('p'),
      );
      app.get('/p', cacheRoute(cache, { allowNoCache: true }), (_req, res) => void res.json('p'));
      await request(app).get('/p').set('authorization', 'Bearer a');
      await request(app).get('/p').set('cookie', 'sid=1');
      await request(app).get('/p').set('cache-control', 'no-cache');
      await request(app).post('/p').set('content-type', 'text/plain').send('text');
      await request(app).post('/p').set('content-type', 'application/json').send('{"a":1}');
      expect(cache.stats().bypasses).to.equal(5);
      expect(cache.stats().bypassReasons).to.deep.equal({
        authorization: 1,
        cookie: 1,
        'no-cache': 1,
        'body-type': 1,
        'unparsed-body': 1,
      });
    });

    it('keeps answering after the computing request is aborted', async () => {
      const app = express();
      let calls = 0;
      app.get('/slow', cacheRoute(testCache()), async (_req, res) => {
        calls++;
        if (calls === 1 && !res.destroyed) await new Promise((resolve) => res.once('close', resolve)); // gave up
        if (!res.destroyed) res.json({ calls });
      });
      const url = await listen(createServer(app));
      const aborted = new AbortController();
      const first = fetch(`${url}/slow`, { signal: aborted.signal }).catch(() => 'aborted');
      await eventually(() => calls === 1); // the request is computing
      aborted.abort();
      expect(await first).to.equal('aborted');
      const next = await fetch(`${url}/slow`);
      expect(next.status).to.equal(200);
      expect(await next.json()).to.deep.equal({ calls }); // its own computation, not a shared abort
    });
  });
}

describe('infercache/express: cacheRoute outside an app', () => {
  it('passes failures to next, as Express 4 needs (it ignores returned promises)', async () => {
    const route = cacheRoute(testCache());
    const errors: unknown[] = [];
    // A bare Node server calling the middleware as Express 4 or connect would: nothing awaits it.
    const server = createServer((req, res) => {
      const typed = Object.assign(req, { originalUrl: req.url, body: undefined }) as unknown as Request;
      res.writeHead(200).write('already streaming');
      route(typed, res as unknown as Response, (error?: unknown) => {
        errors.push(error);
        res.end();
      });
    });
    const url = await listen(server);
    await fetch(`${url}/x`).then((r) => r.text());
    expect(errors).to.have.length(1);
    expect((errors[0] as { code?: string }).code).to.equal('ERR_HTTP_HEADERS_SENT');
  });

  it('validates its options once, when the middleware is created', () => {
    const cache = testCache();
    expect(() => cacheRoute(cache, { methods: ['PUT' as 'GET'] }))
      .to.throw(ConfigError, 'PUT')
      .with.property('setting', 'cacheRoute.methods');
    expect(() => cacheRoute(cache, { vary: ['bad header'] })).to.throw(ConfigError);
    expect(() => cacheRoute(cache, { tll: '5m' } as never)).to.throw(
      ConfigError,
      "unknown option 'tll'; did you mean 'ttl'?",
    );
    expect(() => cacheRoute(undefined as never)).to.throw(TypeError, 'needs a Cache');
  });
});
