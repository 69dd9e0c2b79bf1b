import { expect } from 'chai';
import { createHook } from 'node:async_hooks';
import { newCache } from '../helpers.js';
import { otel, parentId, ready, useContextManager } from './otel.js';
import { CachedModel, ConfigError, createCache } from '../../src/index.js';

const sum = (points: Array<{ value: unknown }>) => points.reduce((t, p) => t + (p.value as number), 0);
const count = (points: Array<{ value: unknown }>) =>
  points.reduce((t, p) => t + (p.value as { count: number }).count, 0);
const memory = { memory: true };

describe('telemetry: memory-tier hits', () => {
  useContextManager();
  let o: ReturnType<typeof otel>;
  beforeEach(() => {
    o = otel();
  });
  afterEach(() => o.close());

  it('gives a memory-tier hit no span by default, and still counts and times it', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    await cache.wrap('model', 'm', async () => ({ weights: [1] }), memory); // miss
    o.exporter.reset();
    for (let i = 0; i < 3; i++) await cache.wrap('model', 'm', async () => ({ weights: [2] }), memory);
    expect(o.spans()).to.have.length(0);
    const hits = { 'infercache.kind': 'model', 'infercache.result': 'hit' };
    expect(sum(await o.points('infercache.requests', hits))).to.equal(3);
    expect(count(await o.points('infercache.operation.duration', hits))).to.equal(3);
    expect(sum(await o.points('infercache.time_saved', { 'infercache.kind': 'model' }))).to.be.above(0);
    expect(cache.stats().kinds.model!.hits).to.equal(3);
  });

  it('observes a memory-tier hit as it is served: the call makes one promise, the one it returns', async () => {
    // each promise costs the context manager's promise hooks too: an outcome promise mapped to the value, and one
    // the telemetry chained to end the call, made three
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    await cache.wrap('model', 'p', async () => 1, memory); // miss
    let promises = 0;
    const hook = createHook({ init: (_id, type) => void (type === 'PROMISE' && promises++) }).enable();
    let call: Promise<number>;
    try {
      call = cache.wrap('model', 'p', async () => 2, memory);
    } finally {
      hook.disable();
    }
    expect(await call).to.equal(1);
    expect(promises).to.equal(1);
    const hits = { 'infercache.kind': 'model', 'infercache.result': 'hit' };
    expect(count(await o.points('infercache.operation.duration', hits))).to.equal(1);
  });

  it('notes an untraced memory-tier hit as an event on the caller’s span', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    await cache.wrap('model', 'ev', async () => 1, memory); // miss
    o.exporter.reset();
    await o.tracerProvider.getTracer('app').startActiveSpan('GET /model', async (request) => {
      await cache.wrap('model', 'ev', async () => 2, memory);
      request.end();
    });
    expect(o.spans().map((s) => s.name)).to.deep.equal(['GET /model']);
    const [event] = o.span('GET /model').events;
    expect(event?.name).to.equal('infercache wrap');
    expect(event?.attributes).to.deep.equal({
      'infercache.kind': 'model',
      'infercache.result': 'hit',
      'infercache.tier': 'memory',
    });
  });

  it('still spans a memory-tier entry’s miss, with its compute child under it', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    class Models {
      @CachedModel({ cache, name: 'weights' })
      async load() {
        return { weights: [1, 2] };
      }
    }
    await new Models().load();
    const call = o.span('infercache Models.load');
    expect(call.attributes).to.include({ 'infercache.result': 'miss', 'infercache.kind': 'model' });
    expect(parentId(o.span('infercache compute'))).to.equal(call.spanContext().spanId);
  });

  it('spans a memory-tier entry served from Redis (another instance wrote it) with traceRedisHits, tier redis', async () => {
    const writer = await ready(newCache({ telemetry: { enabled: false } }));
    await writer.wrap('model', 'shared', async () => 1, memory);
    const cache = await ready(newCache({ telemetry: { ...o.telemetry, traceRedisHits: true } }));
    expect(await cache.wrap('model', 'shared', async () => 2, memory)).to.equal(1);
    expect(o.span('infercache wrap').attributes).to.include({ 'infercache.result': 'hit', 'infercache.tier': 'redis' });
    expect(o.spans().map((s) => s.name)).to.deep.equal(['infercache wrap']);
  });

  it('spans a failed computation and a bypass of a memory-tier entry', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    await cache.wrap('model', 'bad', () => Promise.reject(new RangeError('no weights')), memory).catch(() => {});
    expect(o.span('infercache wrap').attributes).to.include({
      'infercache.result': 'error',
      'error.type': 'RangeError',
    });
    o.exporter.reset();
    await cache.wrap('model', [() => 1], async () => 1, memory); // arguments that cannot be keyed: a bypass
    const bypass = o.span('infercache wrap');
    expect(bypass.attributes).to.include({ 'infercache.result': 'bypass', 'infercache.kind': 'model' });
    expect(bypass.endTime[0] * 1e9 + bypass.endTime[1]).to.be.at.least(bypass.startTime[0] * 1e9 + bypass.startTime[1]);
  });

  it('traces every memory-tier hit with traceMemoryHits: true', async () => {
    const cache = await ready(newCache({ telemetry: { ...o.telemetry, traceMemoryHits: true } }));
    await cache.wrap('model', 'm', async () => 1, memory);
    o.exporter.reset();
    for (let i = 0; i < 3; i++) await cache.wrap('model', 'm', async () => 2, memory);
    const calls = o.spans().filter((s) => s.name === 'infercache wrap');
    expect(calls).to.have.length(3);
    expect(calls[0]!.attributes).to.include({ 'infercache.result': 'hit', 'infercache.tier': 'memory' });
  });

  it('traces a share of the memory-tier hits with traceMemoryHits: 0.5, and counts them all', async () => {
    const cache = await ready(newCache({ telemetry: { ...o.telemetry, traceMemoryHits: 0.5 } }));
    await cache.wrap('model', 'm', async () => 1, memory);
    o.exporter.reset();
    for (let i = 0; i < 200; i++) await cache.wrap('model', 'm', async () => 2, memory);
    const traced = o.spans().filter((s) => s.name === 'infercache wrap').length;
    // at random: none or all of 200 would happen with a probability of 2⁻¹⁹⁹
    expect(traced).to.be.above(0).and.below(200);
    const hits = { 'infercache.kind': 'model', 'infercache.result': 'hit' };
    expect(sum(await o.points('infercache.requests', hits))).to.equal(200);
  });

  it('refuses a traceMemoryHits that is not a boolean or a share between 0 and 1', () => {
    for (const bad of [2, -0.1, Number.NaN, 'all']) {
      expect(() => createCache({ redis: false, setDefault: false, telemetry: { traceMemoryHits: bad as never } }))
        .to.throw(ConfigError, 'telemetry.traceMemoryHits')
        .with.property('message')
        .that.includes('between 0 and 1');
    }
    for (const good of [true, false, 0, 0.01, 1]) {
      const cache = createCache({ redis: false, setDefault: false, telemetry: { traceMemoryHits: good } });
      expect(cache.settings.telemetry.traceMemoryHits).to.equal(good === true ? 1 : good === false ? 0 : good);
      void cache.close();
    }
  });
});
