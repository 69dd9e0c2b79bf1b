/**
 * src/http/route.ts against the run's test Redis: a request answered from the memory tier is decided in the same
 * tick (no promise between the lookup and the reply), with what the promise path would have answered.
 */
import { expect } from 'chai';
import { createServer } from 'node:http';
import express from 'express';
import { RouteCache, type RouteDecision } from '../../src/http/route.js';
import type { RequestView } from '../../src/http/request.js';
import type { RouteCacheOptions } from '../../src/http/options.js';
import infercache from '../../plugins/fastify.js';
import { cacheRoute } from '../../plugins/express.js';
import { newCache, sleep, writesLanded } from '../helpers.js';
import { fastifyApp, listen } from '../plugins/helpers.js';

const site = { where: 'test', label: 'GET /predict' };
const get = (url: string): RequestView => ({ method: 'GET', url, headers: {}, body: undefined, owner: '/predict' });

/** Runs the computation a decision hands out, as an adapter does, and answers `body`. */
function computeWith(decision: RouteDecision, body: string): void {
  expect(decision.replay).to.equal(false);
  if (decision.replay) return;
  decision.capture!.finish(200, { 'content-type': 'application/json' }, Buffer.from(body));
}

describe('src/http: route decisions', () => {
  async function primed(options: RouteCacheOptions<unknown>) {
    const cache = newCache();
    const route = new RouteCache(cache, options, site);
    computeWith(await route.decide(get('/predict?a=1'), {}), '{"v":1}');
    await writesLanded(cache);
    return { cache, route };
  }

  it('decides a memory-tier hit at once, with the headers and body a Redis-tier hit gets after its read', async () => {
    const memory = await primed({ kind: 'mem', ttl: '1m', memory: true });
    const redis = await primed({ kind: 'rds', ttl: '1m' });
    const atOnce = memory.route.decide(get('/predict?a=1'), {});
    expect(atOnce).to.not.be.instanceOf(Promise);
    const later = redis.route.decide(get('/predict?a=1'), {});
    expect(later).to.be.instanceOf(Promise);
    const [fromMemory, fromRedis] = [atOnce as RouteDecision, await later];
    for (const decision of [fromMemory, fromRedis]) {
      expect(decision.replay).to.equal(true);
      if (!decision.replay) continue;
      expect(decision.body.toString()).to.equal('{"v":1}');
      expect(decision.headers).to.deep.include(['x-cache', 'HIT']);
      expect(decision.headers).to.deep.include(['content-type', 'application/json']);
    }
    expect(memory.cache.stats().kinds.mem!.hits).to.equal(1);
  });

  it('answers a stale memory entry at once and hands its refresh to a later request, whose response is stored', async () => {
    const { cache, route } = await primed({ kind: 'swr', ttl: '150ms', staleWhileRevalidate: '10s', memory: true });
    await sleep(250);
    const stale = route.decide(get('/predict?a=1'), {});
    expect(stale).to.not.be.instanceOf(Promise);
    expect((stale as RouteDecision).headers).to.deep.include(['x-cache', 'STALE']);
    // the refresh asks for a computation once it read the entry's generations: until then requests get STALE at
    // once; the first one after is handed the computation (at once too: it is waiting for a request)
    let next = route.decide(get('/predict?a=1'), {});
    for (let tries = 0; !(next instanceof Promise) && next.replay && tries < 200; tries++) {
      expect(next.headers).to.deep.include(['x-cache', 'STALE']);
      await sleep(5);
      next = route.decide(get('/predict?a=1'), {});
    }
    computeWith(await next, '{"v":2}');
    await writesLanded(cache);
    const hit = route.decide(get('/predict?a=1'), {}) as RouteDecision;
    expect(hit.replay && hit.body.toString()).to.equal('{"v":2}');
    expect(hit.headers).to.deep.include(['x-cache', 'HIT']);
  });

  it('throws at once in strict mode for a request its key function cannot key', () => {
    const route = new RouteCache(newCache({ strict: true }), { key: () => undefined }, site);
    expect(() => route.decide(get('/predict'), {})).to.throw(/key function returned undefined/);
  });
});

describe('plugins: memory-tier routes', () => {
  it('Fastify and Express serve MISS, HIT, then STALE until a request refreshes, from the memory tier', async () => {
    const cache = newCache();
    let version = 0;
    const route = { kind: 'forecast', ttl: '150ms', staleWhileRevalidate: '10s', memory: true } as const;
    const app = fastifyApp({ logger: false });
    await app.register(infercache, { cache });
    app.get('/f', { config: { cache: route } }, async () => ({ v: ++version }));
    const server = express();
    server.get(
      '/e',
      cacheRoute(cache, { ...route, kind: 'forecast_e' }),
      (_req, res) => void res.json({ v: ++version }),
    );
    const base = await listen(createServer(server));
    const fromFastify = async () => {
      const res = await app.inject('/f');
      return [res.headers['x-cache'], res.json<{ v: number }>().v];
    };
    const fromExpress = async () => {
      const res = await fetch(`${base}/e`);
      return [res.headers.get('x-cache'), ((await res.json()) as { v: number }).v];
    };
    for (const ask of [fromFastify, fromExpress]) {
      const first = await ask();
      expect(first[0]).to.equal('MISS');
      await writesLanded(cache);
      expect(await ask()).to.deep.equal(['HIT', first[1]]);
      await sleep(250);
      expect(await ask()).to.deep.equal(['STALE', first[1]]);
      // STALE until a request is handed the refresh (once it read the entry's generations from Redis)
      let refreshed = await ask();
      for (let tries = 0; refreshed[0] === 'STALE' && tries < 200; tries++) {
        expect(refreshed[1]).to.equal(first[1]);
        await sleep(5);
        refreshed = await ask();
      }
      expect(refreshed[0]).to.equal('MISS');
      expect(refreshed[1]).to.be.greaterThan(first[1] as number);
      await writesLanded(cache);
      expect(await ask()).to.deep.equal(['HIT', refreshed[1]]);
    }
  });
});
