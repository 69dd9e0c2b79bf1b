/**
 * infercache/express: what cacheRouter does as Express middleware, on Express 5 and Express 4: where it answers
 * (mount paths, prefixes), what it leaves to the app, how it reads bodies, and where its failures go.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import request from 'supertest';
import { adminGuard, cacheRouter } from '../../plugins/express.js';
import { listen, testCache } from './helpers.js';
import { EXPRESS_VERSIONS } from './express-versions.js';

const TOKEN = 'router-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

/** A request with the body written as the given chunks (no Content-Length: chunked), for what supertest hides. */
function rawPost(url: string, headers: IncomingHttpHeaders, chunks: Array<string | Buffer>) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

for (const [label, express] of EXPRESS_VERSIONS) {
  describe(`infercache/express (${label}): cacheRouter`, () => {
    it('is a named middleware function, not an Express router', () => {
      const router = cacheRouter(testCache());
      expect(router).to.be.a('function');
      expect(router.name).to.equal('infercacheRouter');
      expect(router.length).to.equal(3);
      expect(router).to.not.have.property('stack');
    });

    it('answers under the mount path of app.use and of a nested router, with its prefix', async () => {
      const cache = testCache();
      const app = express();
      const api = express.Router();
      api.use(cacheRouter(cache, { prefix: '' }));
      app.use('/ops', cacheRouter(cache));
      app.use('/api/v1', api);
      expect((await request(app).get('/ops/cache/stats')).status).to.equal(200);
      expect((await request(app).get('/api/v1/health')).body.status).to.equal('healthy');
      expect((await request(app).get('/cache/stats')).status).to.equal(404);
      expect((await request(app).get('/api/v1/cache/stats')).status).to.equal(404);
    });

    it("serves /cache/stats when mounted at its prefix, app.use('/cache', ...), as when mounted without a path", async () => {
      const cache = testCache();
      const idiomatic = express();
      idiomatic.use('/cache', cacheRouter(cache, { admin: { token: TOKEN } }));
      idiomatic.get('/cache/mine', (_req, res) => void res.json({ mine: true }));
      expect((await request(idiomatic).get('/cache/stats')).status).to.equal(200);
      expect((await request(idiomatic).get('/CACHE/health')).body.status).to.equal('healthy');
      const invalidated = await request(idiomatic).post('/cache/invalidate').set(auth).send({ kind: 'price' });
      expect(invalidated.body).to.deep.equal({ invalidated: { kind: 'price' } });
      expect((await request(idiomatic).get('/cache/cache/stats')).status).to.equal(404);
      expect((await request(idiomatic).get('/cache/mine')).body).to.deep.equal({ mine: true });
      const nested = express();
      nested.use('/v1/cache', cacheRouter(cache));
      expect((await request(nested).get('/v1/cache/stats')).status).to.equal(200);
      const plain = express();
      plain.use(cacheRouter(cache));
      expect((await request(plain).get('/cache/stats')).status).to.equal(200);
      const custom = express();
      custom.use('/ops', cacheRouter(cache, { prefix: '/ops' }));
      expect((await request(custom).get('/ops/stats')).status).to.equal(200);
      // a mount path that only ends with the same letters is not the prefix
      const other = express();
      other.use('/mycache', cacheRouter(cache));
      expect((await request(other).get('/mycache/cache/stats')).status).to.equal(200);
      expect((await request(other).get('/mycache/stats')).status).to.equal(404);
    });

    it('leaves other paths and methods to the app, and matches paths as Express routes do', async () => {
      const app = express();
      app.use(cacheRouter(testCache()));
      app.get('/cache/mine', (_req, res) => void res.json({ mine: true }));
      app.get('/cache/invalidate', (_req, res) => void res.json({ app: 'GET invalidate' }));
      expect((await request(app).get('/cache/mine')).body).to.deep.equal({ mine: true });
      expect((await request(app).get('/cache/invalidate')).body).to.deep.equal({ app: 'GET invalidate' });
      expect((await request(app).post('/cache/stats')).status).to.equal(404);
      expect((await request(app).get('/cache/stats2')).status).to.equal(404);
      expect((await request(app).get('/cache/stats/?x=1')).status).to.equal(200);
      expect((await request(app).get('/Cache/STATS')).status).to.equal(200);
      const head = await request(app).head('/cache/health');
      expect(head.status).to.equal(200);
      expect(head.headers['content-type']).to.match(/^application\/json/);
      expect(head.text).to.equal(undefined);
    });

    it('uses the body an upstream express.json() parsed', async () => {
      const app = express();
      app.use(express.json());
      app.use(cacheRouter(testCache(), { admin: { token: TOKEN } }));
      const res = await request(app).post('/cache/invalidate').set(auth).send({ kind: 'price' });
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ invalidated: { kind: 'price' } });
    });

    it('reads chunked and gzipped bodies, and refuses other charsets and encodings, empty and oversized bodies', async () => {
      const app = express();
      app.use(cacheRouter(testCache(), { admin: { token: TOKEN } }));
      const url = `${await listen(createServer(app))}/cache/invalidate`;
      const json = { ...auth, 'content-type': 'application/json' };
      const ok = await rawPost(url, json, ['{"tags":', '["region:eu"]}']);
      expect(ok).to.deep.equal({ status: 200, body: { invalidated: { tags: ['region:eu'] } } });
      const latin1 = await rawPost(url, { ...json, 'content-type': 'application/json; charset=latin1' }, ['{}']);
      expect(latin1.status).to.equal(415);
      expect(latin1.body.message).to.match(/charset/);
      const gzip = await rawPost(url, { ...json, 'content-encoding': 'gzip' }, [gzipSync('{"all":true}')]);
      expect(gzip).to.deep.equal({ status: 200, body: { invalidated: { all: true } } });
      const compress = await rawPost(url, { ...json, 'content-encoding': 'compress' }, ['{"all":true}']);
      expect(compress.status).to.equal(415);
      expect(compress.body).to.deep.include({ statusCode: 415, error: 'Unsupported Media Type' });
      expect(compress.body.message).to.match(/encoding/);
      // header values sent back in a message are cut short too
      const long = `application/x-${'y'.repeat(4000)}`;
      const odd = await rawPost(url, { ...auth, 'content-type': long }, ['{"all":true}']);
      expect(odd.status).to.equal(415);
      expect(odd.body.message).to.include('…"').and.have.length.below(200);
      const corrupt = await rawPost(url, { ...json, 'content-encoding': 'gzip' }, ['{"all":true}']);
      expect(corrupt.status).to.equal(400);
      const empty = await rawPost(url, { ...json, 'content-length': '0' }, []);
      expect(empty.status).to.equal(400);
      expect(empty.body.message).to.match(/JSON object/);
      const chunk = `"${'x'.repeat(64 * 1024)}",`;
      const large = await rawPost(url, json, ['{"tags":[', ...Array<string>(20).fill(chunk), '"y"]}']);
      expect(large.status).to.equal(413);
      expect(large.body).to.deep.include({ statusCode: 413, error: 'Payload Too Large' });
      expect((await rawPost(url, json, ['{"all":true}'])).status, 'the server still answers').to.equal(200);
    });

    it('hands failures inside its promise chains to the app error handler, which Express 4 needs', async () => {
      const cache = testCache();
      cache.info = () => Promise.reject(new Error('info failed'));
      const app = express();
      const errors: string[] = [];
      app.use(cacheRouter(cache));
      const early: RequestHandler = (_req, res, next) => {
        res.writeHead(200).write('x');
        next();
      };
      app.post('/headers-sent', early, adminGuard({ token: TOKEN }));
      app.use(((error: Error, _req, res, _next) => {
        errors.push(error.message);
        if (res.headersSent) res.end();
        else res.status(500).json({ handled: error.message });
      }) as ErrorRequestHandler);
      const info = await request(app).get('/cache/info');
      expect(info.status).to.equal(500);
      expect(info.body).to.deep.equal({ handled: 'info failed' });
      await request(app).post('/headers-sent');
      expect(errors).to.have.length(2);
      expect(errors[1]).to.match(/headers/i);
    });
  });
}

describe('infercache/express: cacheRouter outside an app', () => {
  it('serves the endpoints from a bare Node server, without loading Express', async () => {
    const router = cacheRouter(testCache());
    const server = createServer((req, res) =>
      router(req as never, res as never, () => {
        res.statusCode = 404;
        res.end();
      }),
    );
    const url = await listen(server);
    const stats = await fetch(`${url}/cache/stats`);
    expect(stats.status).to.equal(200);
    expect(stats.headers.get('cache-control')).to.equal('no-store');
    expect(await stats.json()).to.have.property('hitRate');
    expect((await fetch(`${url}/elsewhere`)).status).to.equal(404);
    const loaded = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `require('./plugins/express.ts');
         console.log(Object.keys(require.cache).filter((f) => /node_modules[\\\\/]express4?[\\\\/]/.test(f)).length);`,
      ],
      { encoding: 'utf8' },
    );
    expect(loaded.trim()).to.equal('0');
  });
});
