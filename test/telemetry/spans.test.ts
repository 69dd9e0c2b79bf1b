import { expect } from 'chai';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { newCache, counted, sleep } from '../helpers.js';
import { otel, parentId, useContextManager, ready } from './otel.js';
import { adminClient } from '../setup/root-hooks.js';
import { CachedPrediction, CachedModel } from '../../src/index.js';
import { hashKey } from '../../src/telemetry/util.js';
import express from 'express';
import request from 'supertest';
import { cacheRoute } from '../../plugins/express.js';
import Fastify from 'fastify';
import infercache from '../../plugins/fastify.js';

/** Waits for the `store` span of the last miss: the write to Redis ends after the call returned. */
async function stored(o: ReturnType<typeof otel>): Promise<void> {
  for (let i = 0; i < 200 && !o.spans().some((s) => s.name === 'infercache store'); i++) await sleep(5);
}

describe('telemetry: spans', () => {
  useContextManager();
  let o: ReturnType<typeof otel>;
  beforeEach(() => {
    o = otel();
  });
  afterEach(() => o.close());

  it('names a decorated call `infercache Class.method` with a compute child on a miss, and no span per Redis read', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    class PriceService {
      @CachedPrediction({ cache, kind: 'price' })
      async predict(input: { area: number }) {
        return { price: input.area * 10 };
      }
    }
    await new PriceService().predict({ area: 50 });
    const call = o.span('infercache PriceService.predict');
    expect(call.kind).to.equal(SpanKind.INTERNAL);
    expect(call.attributes).to.include({ 'infercache.kind': 'price', 'infercache.result': 'miss' });
    const compute = o.span('infercache compute');
    expect(parentId(compute)).to.equal(call.spanContext().spanId);
    // the store span may end after the call: children so far are the computation and, maybe, the write
    const children = o.spans().filter((s) => parentId(s) === call.spanContext().spanId);
    expect(children.map((s) => s.name)).to.include('infercache compute');
    expect(children.every((s) => s.name === 'infercache compute' || s.name === 'infercache store')).to.equal(true);
    expect(call.status.code).to.equal(SpanStatusCode.UNSET);
  });

  it('marks a traced memory hit with tier memory and no Redis lookup', async () => {
    const cache = await ready(newCache({ telemetry: { ...o.telemetry, traceMemoryHits: true } }));
    class Models {
      @CachedModel({ cache, name: 'm' })
      async load() {
        return { weights: [1, 2] };
      }
    }
    const m = new Models();
    await m.load();
    o.exporter.reset();
    await m.load();
    expect(o.spans().map((s) => s.name)).to.deep.equal(['infercache Models.load']);
    expect(o.spans()[0]!.attributes).to.include({ 'infercache.result': 'hit', 'infercache.tier': 'memory' });
  });

  it('serves a stale value under the call span and refreshes it under its own refresh span', async () => {
    const telemetry = { ...o.telemetry, traceRedisHits: true };
    const cache = await ready(newCache({ telemetry, ttl: { prediction: 0.05 } }));
    const options = { staleWhileRevalidate: '10s' };
    await cache.wrap('prediction', 'swr', async () => 1, options);
    await sleep(80);
    o.exporter.reset();
    await cache.wrap('prediction', 'swr', async () => 2, options);
    // the refresh runs after the call returned: wait for its span, not for a fixed time
    for (let i = 0; i < 1000 && !o.spans().some((s) => s.name === 'infercache refresh'); i++) await sleep(5);
    const call = o.span('infercache wrap');
    expect(call.attributes['infercache.result']).to.equal('stale');
    const refresh = o.span('infercache refresh');
    expect(parentId(refresh)).to.equal(call.spanContext().spanId);
    expect(refresh.attributes).to.include({ 'infercache.operation': 'refresh', 'infercache.kind': 'prediction' });
    expect(parentId(o.span('infercache compute'))).to.equal(refresh.spanContext().spanId);
  });

  it('marks the calls that joined a running computation (single-flight)', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    const fn = counted(() => 1, 30);
    await Promise.all([cache.wrap('prediction', 'sf', fn), cache.wrap('prediction', 'sf', fn)]);
    expect(fn.calls).to.equal(1);
    const calls = o.spans().filter((s) => s.name === 'infercache wrap');
    expect(calls.map((s) => s.attributes['infercache.single_flight.joined'])).to.have.members([undefined, true]);
  });

  it('nests under the caller’s span and is the active span inside the computation', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    const tracer = o.tracerProvider.getTracer('app');
    let activeInCompute: string | undefined;
    await tracer.startActiveSpan('GET /price', async (request) => {
      await cache.wrap('prediction', 'nest', async () => {
        // a child made by any instrumentation here (or in the Redis client) lands under our span
        tracer.startSpan('manual child').end();
        activeInCompute = trace.getActiveSpan()?.spanContext().spanId;
        return 1;
      });
      request.end();
    });
    const request = o.span('GET /price');
    const call = o.span('infercache wrap');
    const compute = o.span('infercache compute');
    expect(parentId(call)).to.equal(request.spanContext().spanId);
    expect(activeInCompute).to.equal(compute.spanContext().spanId);
    expect(parentId(o.span('manual child'))).to.equal(compute.spanContext().spanId);
    expect(call.spanContext().traceId).to.equal(request.spanContext().traceId);
  });

  it('never records a raw key, and records its hash only when asked', async () => {
    const plain = await ready(newCache({ telemetry: o.telemetry }));
    await plain.wrap('prediction', 'user-42@example.com', async () => 1);
    const text = JSON.stringify(o.spans().map((s) => [s.attributes, s.events]));
    expect(text).not.to.include('user-42');
    expect(o.span('infercache wrap').attributes).not.to.have.property('infercache.key.hash');

    o.exporter.reset();
    const hashed = await ready(newCache({ telemetry: { ...o.telemetry, recordKeys: 'hash', traceRedisHits: true } }));
    await hashed.wrap('prediction', 'user-42@example.com', async () => 1); // a Redis hit
    const call = o.span('infercache wrap');
    expect(call.attributes['infercache.result']).to.equal('hit');
    expect(call.attributes['infercache.key.hash']).to.equal(hashKey('infercache:prediction:v1:user-42@example.com'));
    expect(JSON.stringify(call.attributes)).not.to.include('user-42');
  });

  it('records a failed computation with status ERROR on the call and on the compute span', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    const boom = new TypeError('model exploded');
    await cache.wrap('prediction', 'err', () => Promise.reject(boom)).catch(() => {});
    for (const name of ['infercache wrap', 'infercache compute']) {
      const span = o.span(name);
      expect(span.status).to.deep.include({ code: SpanStatusCode.ERROR, message: 'model exploded' });
      expect(span.attributes['error.type']).to.equal('TypeError');
      expect(span.events.map((e) => e.name)).to.include('exception');
    }
    expect(o.span('infercache wrap').attributes['infercache.result']).to.equal('error');
  });

  it('records a swallowed Redis failure as an event, not as a failed call', async () => {
    const cache = newCache({
      redis: { url: 'redis://127.0.0.1:1', connectTimeout: 50 },
      operationTimeout: '20ms',
      telemetry: o.telemetry,
    });
    await sleep(100);
    expect(await cache.wrap('prediction', 'down', async () => 7)).to.equal(7);
    const call = o.span('infercache wrap');
    expect(call.status.code).to.equal(SpanStatusCode.UNSET);
    expect(call.attributes['infercache.result']).to.equal('bypass');
    expect(call.events.map((e) => e.name)).to.include('infercache.redis.error');
  });

  it('records a write Redis refused as an event on a store span, and counts it as a cache error', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry, bus: false }));
    await cache.wrap('prediction', 'warm', async () => 0); // the kind's counters exist before Redis is full
    await stored(o);
    o.exporter.reset();
    const admin = adminClient();
    await admin.configSet({ maxmemory: '1', 'maxmemory-policy': 'noeviction' });
    try {
      expect(await cache.wrap('prediction', 'full', async () => 7)).to.equal(7);
      await stored(o);
      const call = o.span('infercache wrap');
      expect(call.status.code).to.equal(SpanStatusCode.UNSET);
      expect(call.attributes['infercache.result']).to.equal('miss');
      const store = o.span('infercache store');
      expect(parentId(store)).to.equal(call.spanContext().spanId);
      expect(store.attributes).to.include({ 'infercache.kind': 'prediction', 'db.operation.name': 'SET' });
      const event = store.events.find((e) => e.name === 'infercache.redis.error');
      expect(event?.attributes?.['infercache.redis.error.message']).to.match(/OOM/);
      expect(cache.stats().kinds.prediction!.errors).to.equal(1);
    } finally {
      await admin.configSet({ maxmemory: '0' });
    }
  });

  it('makes one span per direct operation: get, set, delete, invalidations', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    await cache.set('prediction', 'x', 1);
    await cache.get('prediction', 'x');
    await cache.delete('prediction', 'x');
    await cache.invalidateKind('prediction');
    await cache.invalidateTags('a', 'b');
    await cache.invalidateAll();
    const names = o.spans().map((s) => s.name);
    for (const n of ['set', 'get', 'delete', 'invalidateKind', 'invalidateTags', 'invalidateAll']) {
      expect(names).to.include(`infercache ${n}`);
    }
    for (const n of ['set', 'get', 'delete', 'invalidateKind', 'invalidateAll']) {
      expect(o.span(`infercache ${n}`).attributes['db.system.name']).to.equal('redis');
    }
    expect(o.span('infercache get').attributes).to.include({
      'infercache.result': 'hit',
      'infercache.kind': 'prediction',
    });
  });

  it('never breaks the call when the tracer throws', async () => {
    const broken = {
      getTracer: () => ({
        startSpan: () => {
          throw new Error('broken tracer');
        },
      }),
    };
    const cache = await ready(newCache({ telemetry: { tracerProvider: broken as never } }));
    expect(await cache.wrap('prediction', 'ok', async () => 5)).to.equal(5);
    expect(await cache.wrap('prediction', 'ok', async () => 6)).to.equal(5);
  });

  it('notices a global tracer provider registered after the cache was created, and its removal', async () => {
    const cache = await ready(newCache());
    await cache.wrap('prediction', 'g', async () => 1);
    expect(o.spans()).to.have.length(0);
    trace.setGlobalTracerProvider(o.tracerProvider);
    try {
      await cache.wrap('prediction', 'g2', async () => 1);
      expect(o.span('infercache wrap').attributes['infercache.result']).to.equal('miss');
      await stored(o); // the write's span ends after the call
    } finally {
      trace.disable();
    }
    o.exporter.reset();
    await cache.wrap('prediction', 'g3', async () => 1);
    expect(o.spans()).to.have.length(0);
  });

  it('works with no SDK registered and with telemetry disabled', async () => {
    const noSdk = await ready(newCache());
    expect(await noSdk.wrap('prediction', 'n', async () => 1)).to.equal(1);
    expect(await noSdk.wrap('prediction', 'n', async () => 2)).to.equal(1);
    const off = await ready(newCache({ telemetry: { ...o.telemetry, enabled: false } }));
    expect(await off.wrap('prediction', 'n', async () => 3)).to.equal(1);
    expect(Object.prototype.hasOwnProperty.call(off, 'wrapDetailed')).to.equal(false);
    const on = await ready(newCache({ telemetry: o.telemetry }));
    for (const method of ['wrapDetailed', 'get', 'set', 'delete', 'invalidateTags']) {
      expect(Object.prototype.hasOwnProperty.call(on, method), method).to.equal(false); // nothing patched
    }
    expect(o.spans()).to.have.length(0);
  });

  it('names a Fastify route lookup after its method and path, with the route kind', async () => {
    const cache = await ready(newCache({ telemetry: { ...o.telemetry, traceRedisHits: true } }));
    const app = Fastify();
    await app.register(infercache, { cache });
    app.get('/predict/:id', { config: { cache: { kind: 'price' } } }, async (req) => ({ id: req.params }));
    try {
      expect((await app.inject('/predict/7')).headers['x-cache']).to.equal('MISS');
      expect((await app.inject('/predict/7')).headers['x-cache']).to.equal('HIT');
    } finally {
      await app.close();
    }
    const calls = o.spans().filter((s) => s.name === 'infercache route GET /predict/:id');
    expect(calls.map((s) => s.attributes['infercache.result'])).to.deep.equal(['miss', 'hit']);
    expect(calls[0]!.attributes).to.include({ 'infercache.kind': 'price' });
  });

  it('names an Express route lookup, whose path the middleware is not told, after its kind', async () => {
    const cache = await ready(newCache({ telemetry: { ...o.telemetry, traceRedisHits: true } }));
    const app = express();
    app.get('/forecast', cacheRoute(cache, { kind: 'forecast' }), (_req, res) => void res.json({ units: 3 }));
    expect((await request(app).get('/forecast?p=1')).headers['x-cache']).to.equal('MISS');
    expect((await request(app).get('/forecast?p=1')).headers['x-cache']).to.equal('HIT');
    const calls = o.spans().filter((s) => s.name === 'infercache route forecast');
    expect(calls.map((s) => s.attributes['infercache.result'])).to.deep.equal(['miss', 'hit']);
  });
});
