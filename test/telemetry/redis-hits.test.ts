import { expect } from 'chai';
import { newCache, sleep } from '../helpers.js';
import { otel, parentId, ready, useContextManager } from './otel.js';
import { ConfigError, createCache } from '../../src/index.js';
import { hashKey } from '../../src/telemetry/util.js';

const sum = (points: Array<{ value: unknown }>) => points.reduce((t, p) => t + (p.value as number), 0);
const count = (points: Array<{ value: unknown }>) =>
  points.reduce((t, p) => t + (p.value as { count: number }).count, 0);
const nanos = (t: [number, number]) => t[0] * 1e9 + t[1];

describe('telemetry: Redis-tier hits', () => {
  useContextManager();
  let o: ReturnType<typeof otel>;
  beforeEach(() => {
    o = otel();
  });
  afterEach(() => o.close());

  /** Waits until the `store` span of the last miss ended (the write ends after the call). */
  async function stored(): Promise<void> {
    for (let i = 0; i < 200 && !o.spans().some((s) => s.name === 'infercache store'); i++) await sleep(5);
  }

  it('gives a Redis-tier hit no span by default: an event on the caller’s span, counted and timed', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    await cache.wrap('prediction', 'r', async () => ({ score: 0.9 }));
    await stored();
    o.exporter.reset();
    const tracer = o.tracerProvider.getTracer('app');
    await tracer.startActiveSpan('GET /score', async (request) => {
      for (let i = 0; i < 3; i++)
        expect(await cache.wrap('prediction', 'r', async () => ({ score: 0 }))).to.eql({ score: 0.9 });
      request.end();
    });
    expect(o.spans().map((s) => s.name)).to.deep.equal(['GET /score']);
    const events = o.span('GET /score').events;
    expect(events.map((e) => e.name)).to.deep.equal(['infercache wrap', 'infercache wrap', 'infercache wrap']);
    expect(events[0]!.attributes).to.deep.equal({
      'infercache.kind': 'prediction',
      'infercache.result': 'hit',
      'infercache.tier': 'redis',
    });
    const hits = { 'infercache.kind': 'prediction', 'infercache.result': 'hit' };
    expect(sum(await o.points('infercache.requests', hits))).to.equal(3);
    expect(count(await o.points('infercache.operation.duration', hits))).to.equal(3);
    // with no span of the caller's, a hit leaves no trace at all, and nothing fails
    expect(await cache.wrap('prediction', 'r', async () => ({ score: 0 }))).to.eql({ score: 0.9 });
    expect(o.spans().map((s) => s.name)).to.deep.equal(['GET /score']);
  });

  it('still spans a miss from the call’s start, under the caller, with the Redis read noted on it', async () => {
    const cache = await ready(newCache({ telemetry: { ...o.telemetry, recordKeys: true } }));
    const tracer = o.tracerProvider.getTracer('app');
    await tracer.startActiveSpan('GET /score', async (request) => {
      await cache.wrap('prediction', 'fresh', async () => {
        await sleep(5);
        return 1;
      });
      request.end();
    });
    const call = o.span('infercache wrap');
    const compute = o.span('infercache compute');
    expect(parentId(call)).to.equal(o.span('GET /score').spanContext().spanId);
    expect(parentId(compute)).to.equal(call.spanContext().spanId);
    expect(call.attributes).to.include({ 'infercache.result': 'miss', 'infercache.kind': 'prediction' });
    expect(call.attributes['infercache.key.hash']).to.equal(hashKey('infercache:prediction:v1:fresh'));
    // the span starts when the call did, before the read, though it was made once the read found nothing
    expect(nanos(call.startTime)).to.be.below(nanos(compute.startTime));
    expect(o.span('GET /score').events).to.have.length(0);
  });

  it('spans every Redis-tier hit with traceRedisHits: true, with tier, age and entry size', async () => {
    const cache = await ready(newCache({ telemetry: { ...o.telemetry, traceRedisHits: true } }));
    await cache.wrap('prediction', 'a', async () => ({ score: 0.9 }));
    await stored();
    o.exporter.reset();
    await cache.wrap('prediction', 'a', async () => ({ score: 0.1 }));
    const call = o.span('infercache wrap');
    expect(call.attributes).to.include({ 'infercache.result': 'hit', 'infercache.tier': 'redis' });
    expect(call.attributes['infercache.entry.size']).to.be.a('number').greaterThan(0);
    expect(call.attributes['infercache.age']).to.be.a('number');
    expect(o.spans().map((s) => s.name)).to.have.members(['infercache wrap']);
  });

  it('spans a share of the Redis-tier hits with traceRedisHits: 0.5, and counts them all', async () => {
    const cache = await ready(newCache({ telemetry: { ...o.telemetry, traceRedisHits: 0.5 } }));
    await cache.wrap('prediction', 's', async () => 1);
    await stored();
    o.exporter.reset();
    for (let i = 0; i < 200; i++) await cache.wrap('prediction', 's', async () => 2);
    const traced = o.spans().filter((s) => s.name === 'infercache wrap');
    // at random: none or all of 200 would happen with a probability of 2⁻¹⁹⁹
    expect(traced.length).to.be.above(0).and.below(200);
    expect(traced.every((s) => s.attributes['infercache.result'] === 'hit')).to.equal(true);
    const hits = { 'infercache.kind': 'prediction', 'infercache.result': 'hit' };
    expect(sum(await o.points('infercache.requests', hits))).to.equal(200);
  });

  it('serves a stale value from Redis with an event, and its refresh is a span under the caller’s', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry, ttl: { prediction: 0.05 } }));
    const options = { staleWhileRevalidate: '10s' };
    await cache.wrap('prediction', 'swr', async () => 1, options);
    await sleep(80);
    o.exporter.reset();
    const tracer = o.tracerProvider.getTracer('app');
    await tracer.startActiveSpan('GET /swr', async (request) => {
      expect(await cache.wrap('prediction', 'swr', async () => 2, options)).to.equal(1);
      request.end();
    });
    for (let i = 0; i < 1000 && !o.spans().some((s) => s.name === 'infercache refresh'); i++) await sleep(5);
    const request = o.span('GET /swr');
    expect(request.events.map((e) => [e.name, e.attributes?.['infercache.result']])).to.deep.equal([
      ['infercache wrap', 'stale'],
    ]);
    expect(parentId(o.span('infercache refresh'))).to.equal(request.spanContext().spanId);
    expect(o.spans().some((s) => s.name === 'infercache wrap')).to.equal(false);
  });

  it('spans a call that joined a computation, marked joined, though its span starts after it joined', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = cache.wrap('prediction', 'j', async () => (await gate, 1));
    const second = cache.wrap('prediction', 'j', async () => 2);
    release();
    expect(await Promise.all([first, second])).to.deep.equal([1, 1]);
    const calls = o.spans().filter((s) => s.name === 'infercache wrap');
    expect(calls.map((s) => s.attributes['infercache.single_flight.joined'])).to.have.members([undefined, true]);
    expect(calls.map((s) => s.attributes['infercache.result'])).to.deep.equal(['miss', 'miss']);
  });

  it('refuses a traceRedisHits that is not a boolean or a share between 0 and 1, naming it', () => {
    for (const bad of [2, -0.1, Number.NaN, 'all']) {
      expect(() => createCache({ redis: false, setDefault: false, telemetry: { traceRedisHits: bad as never } }))
        .to.throw(ConfigError, 'telemetry.traceRedisHits')
        .with.property('message')
        .that.includes('between 0 and 1');
    }
    for (const good of [true, false, 0, 0.25, 1]) {
      const cache = createCache({ redis: false, setDefault: false, telemetry: { traceRedisHits: good } });
      expect(cache.settings.telemetry.traceRedisHits).to.equal(good === true ? 1 : good === false ? 0 : good);
      void cache.close();
    }
  });
});
