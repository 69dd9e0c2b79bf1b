import { expect } from 'chai';
import { metrics } from '@opentelemetry/api';
import { createClient } from 'redis';
import { newCache, counted, sleep } from '../helpers.js';
import { testRedisUrl } from '../setup/root-hooks.js';
import { otel, ready } from './otel.js';
import { CachedModel } from '../../src/index.js';
import infercache from '../../plugins/fastify.js';
import { fastifyApp } from '../plugins/helpers.js';
import { BATCH } from '../../src/telemetry/batched.js';

const sum = (points: Array<{ value: unknown }>) => points.reduce((t, p) => t + (p.value as number), 0);
const count = (points: Array<{ value: unknown }>) =>
  points.reduce((t, p) => t + (p.value as { count: number }).count, 0);

describe('telemetry: metrics', () => {
  let o: ReturnType<typeof otel>;
  beforeEach(() => {
    o = otel();
  });
  afterEach(() => o.close());

  it('counts requests by kind and result, and time saved equals the computations skipped', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry, costPerCall: { llm: 0.002 } }));
    const fn = counted(() => 'answer', 40);
    await cache.wrap('llm', 'q1', fn); // miss
    await cache.wrap('llm', 'q1', fn); // hit
    await cache.wrap('llm', 'q1', fn); // hit
    await cache.wrap('prediction', 'p', async () => 1); // miss, other kind
    expect(fn.calls).to.equal(1);

    expect(
      sum(await o.points('infercache.requests', { 'infercache.kind': 'llm', 'infercache.result': 'hit' })),
    ).to.equal(2);
    expect(
      sum(await o.points('infercache.requests', { 'infercache.kind': 'llm', 'infercache.result': 'miss' })),
    ).to.equal(1);
    expect(sum(await o.points('infercache.requests', { 'infercache.kind': 'prediction' }))).to.equal(1);

    const stats = cache.stats().kinds.llm!;
    const computed = await o.points('infercache.compute.duration', { 'infercache.kind': 'llm' });
    const computeSeconds = (computed[0]!.value as { sum: number }).sum;
    expect(count(computed)).to.equal(1);
    expect(computeSeconds).to.be.at.least(0.035); // a lower bound: load only makes the computation slower
    const saved = sum(await o.points('infercache.time_saved', { 'infercache.kind': 'llm' }));
    expect(saved).to.be.closeTo(2 * computeSeconds, 0.002);
    expect(saved).to.be.closeTo(stats.timeSavedSeconds, 1e-9);

    expect(sum(await o.points('infercache.cost_saved', { 'infercache.kind': 'llm' }))).to.be.closeTo(0.004, 1e-12);
    expect(stats.costSaved).to.be.closeTo(0.004, 1e-12);
    expect(cache.stats().kinds.prediction!.costSaved).to.equal(0);
    expect(await o.points('infercache.cost_saved', { 'infercache.kind': 'prediction' })).to.have.length(0);
  });

  it('counts every bypass with its reason, in stats() and as infercache.bypass.reason on bypass results only', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    await cache.wrap('prediction', 'p', async () => 1); // miss: no reason
    await cache.wrap('prediction', [() => 1], async () => 1); // arguments that cannot be keyed
    const app = fastifyApp({ logger: false });
    await app.register(infercache, { cache });
    app.get('/r', { config: { cache: { kind: 'route' } } }, async () => 'r');
    await app.inject({ url: '/r', headers: { authorization: 'Bearer a' } });
    await app.inject({ url: '/r', headers: { cookie: 'sid=1' } });
    const down = newCache({ redis: { url: 'redis://127.0.0.1:1' }, telemetry: o.telemetry, operationTimeout: '50ms' });
    await down.wrap('prediction', 'p', async () => 1); // Redis cannot be read
    const off = newCache({ enabled: false, telemetry: o.telemetry });
    await off.wrap('prediction', 'p', async () => 1);

    const reasons = (await o.points('infercache.requests', { 'infercache.result': 'bypass' })).map((p) => [
      p.attributes['infercache.kind'],
      p.attributes['infercache.bypass.reason'],
      p.value,
    ]);
    expect(reasons).to.have.deep.members([
      ['prediction', 'unkeyable', 1],
      ['prediction', 'unavailable', 1],
      ['prediction', 'disabled', 1],
      ['route', 'authorization', 1],
      ['route', 'cookie', 1],
    ]);
    const others = await o.points('infercache.requests', { 'infercache.result': 'miss' });
    expect(others.every((p) => !('infercache.bypass.reason' in p.attributes))).to.equal(true);
    expect(cache.stats()).to.deep.include({
      bypasses: 3,
      bypassReasons: { unkeyable: 1, authorization: 1, cookie: 1 },
    });
    expect(cache.stats().kinds.route!.bypassReasons).to.deep.equal({ authorization: 1, cookie: 1 });
    expect(down.stats().bypassReasons).to.deep.equal({ unavailable: 1 });
    expect(off.stats().bypassReasons).to.deep.equal({ disabled: 1 });
  });

  it('records operation durations in seconds by result, with the advised buckets', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    await cache.wrap('prediction', 'd', async () => 1);
    const started = performance.now();
    await cache.wrap('prediction', 'd', async () => 1);
    const hitSeconds = (performance.now() - started) / 1000;
    const hits = await o.points('infercache.operation.duration', { 'infercache.result': 'hit' });
    const misses = await o.points('infercache.operation.duration', { 'infercache.result': 'miss' });
    expect(count(hits)).to.equal(1);
    expect(count(misses)).to.equal(1);
    const h = hits[0]!.value as { sum: number; buckets: { boundaries: number[] } };
    // in seconds: above 0 and no longer than the call took (in milliseconds it would be 1000 times that)
    expect(h.sum).to.be.above(0).and.at.most(hitSeconds);
    expect(h.buckets.boundaries[0]).to.equal(0.00005);
    expect(hits[0]!.attributes).to.include({ 'infercache.operation': 'wrap', 'infercache.kind': 'prediction' });
  });

  it('records every duration in the next collection, though they reach the SDK in batches', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    const calls = BATCH * 2 + 5; // two full batches and a partial one
    for (let i = 0; i < calls; i++) await cache.wrap('prediction', 'batch', async () => 1, { memory: i % 2 === 0 });
    const hits = await o.points('infercache.operation.duration', { 'infercache.result': 'hit' });
    const misses = await o.points('infercache.operation.duration', { 'infercache.result': 'miss' });
    expect(count(hits) + count(misses)).to.equal(calls);
    expect(count(misses)).to.equal(1);
    // and nothing twice: a second collection sees the same totals (cumulative temporality)
    const again = await o.points('infercache.operation.duration', { 'infercache.result': 'hit' });
    expect(count(again)).to.equal(calls - 1);
  });

  it('counts a failed call as result error', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    await cache.wrap('prediction', 'e', () => Promise.reject(new RangeError('bad input'))).catch(() => {});
    expect(sum(await o.points('infercache.requests', { 'infercache.result': 'error' }))).to.equal(1);
    const failed = await o.points('infercache.operation.duration', { 'error.type': 'RangeError' });
    expect(count(failed)).to.equal(1);
  });

  it('records entry sizes, memory-tier entries and the breaker state', async () => {
    // no bus: its start-up bound on memory entries (memory.busDownTtl) must not race the gauge on a slow machine
    const cache = await ready(newCache({ telemetry: o.telemetry, bus: false }));
    class Models {
      @CachedModel({ cache, name: 'm' })
      async load() {
        return { weights: new Float32Array(256) };
      }
    }
    await new Models().load();
    const sizes = await o.points('infercache.entry.size', { 'infercache.kind': 'model' });
    expect(count(sizes)).to.equal(1);
    expect((sizes[0]!.value as { sum: number }).sum).to.be.greaterThan(1024);
    expect(sum(await o.points('infercache.memory.entries'))).to.equal(1);
    await cache.wrap('embedding', 'e', async () => [0.1], { memory: { maxEntries: 10 } }); // a kind's own tier
    expect(sum(await o.points('infercache.memory.entries'))).to.equal(2);
    expect(sum(await o.points('infercache.breaker.state', { 'infercache.breaker.state': 'closed' }))).to.equal(1);
    expect(sum(await o.points('infercache.breaker.state', { 'infercache.breaker.state': 'open' }))).to.equal(0);
  });

  describe('Redis memory gauges', () => {
    let admin: ReturnType<typeof createClient>;
    let maxmemory = '0';
    before(async () => {
      admin = createClient({ url: testRedisUrl() });
      await admin.connect();
      maxmemory = (await admin.configGet('maxmemory')).maxmemory ?? '0';
    });
    afterEach(async () => {
      await admin.configSet('maxmemory', maxmemory);
    });
    after(() => admin.close());

    const infoMemory = async () => {
      const text = await admin.info('memory');
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)![1]);
      return { used: field('used_memory'), max: field('maxmemory') };
    };
    /** Collects until the gauge reports `expected` max (the first read runs in the background once gauges exist). */
    const gauges = async (expectedMax: number) => {
      for (let attempt = 0; ; attempt++) {
        const used = await o.points('infercache.redis.memory.used');
        const max = await o.points('infercache.redis.memory.max');
        if (max.length === 1 && max[0]!.value === expectedMax)
          return { used: sum(used), max: sum(max), n: used.length };
        if (attempt > 500) throw new Error(`gauge never reported max ${expectedMax}: ${JSON.stringify(max)}`);
        await sleep(10);
      }
    };

    it('reports used memory and maxmemory as INFO memory gives them, in bytes', async () => {
      await admin.configSet('maxmemory', String(512 * 1024 * 1024));
      const cache = await ready(newCache({ telemetry: o.telemetry, fleet: { interval: '100ms' } }));
      await cache.wrap('prediction', 'mem', async () => 1);
      const reported = await gauges(512 * 1024 * 1024);
      const info = await infoMemory();
      expect(info.max).to.equal(512 * 1024 * 1024);
      expect(reported.n).to.equal(1);
      // used_memory moves with every command: the gauge's figure is the one INFO gave a moment ago
      expect(reported.used)
        .to.be.greaterThan(0)
        .and.closeTo(info.used, info.used * 0.5);
      const points = await o.points('infercache.redis.memory.used');
      expect(points[0]!.attributes).to.deep.equal({});

      await admin.configSet('maxmemory', String(256 * 1024 * 1024)); // read again at the next interval
      expect((await gauges(256 * 1024 * 1024)).max).to.equal(256 * 1024 * 1024);
    });

    it('reports maxmemory 0 when Redis has no limit', async () => {
      await admin.configSet('maxmemory', '0');
      const cache = await ready(newCache({ telemetry: o.telemetry }));
      await cache.wrap('prediction', 'mem', async () => 1);
      const reported = await gauges(0);
      expect(reported.max).to.equal(0);
      expect(reported.used).to.be.greaterThan(0);
    });

    it('reports nothing without Redis, and never reads INFO when no meter records', async () => {
      const local = await ready(newCache({ redis: false, telemetry: o.telemetry }));
      await local.wrap('prediction', 'mem', async () => 1);
      expect(await o.points('infercache.memory.entries')).to.have.length(1); // the gauges exist
      expect(await o.points('infercache.redis.memory.used')).to.have.length(0);

      await admin.configResetStat();
      const cache = await ready(newCache({ fleet: { interval: '100ms' } })); // no meter provider given or registered
      await cache.wrap('prediction', 'mem', async () => 1);
      await cache.flushFleet();
      await cache.flushFleet(); // written after the first read the watch would have sent
      const stats = await admin.info('commandstats');
      expect(stats).to.not.match(/^cmdstat_info:/m);
      expect(stats).to.match(/^cmdstat_hincrbyfloat:/m);
    });
  });

  it('never breaks the call when the meter or its instruments throw', async () => {
    const boom = () => {
      throw new Error('broken meter');
    };
    const instrument = { add: boom, record: boom, addCallback: () => {} };
    const broken = {
      getMeter: () => ({
        createCounter: () => instrument,
        createHistogram: () => instrument,
        createObservableGauge: () => instrument,
      }),
    };
    const throwing = { getMeter: boom };
    for (const meterProvider of [broken, throwing]) {
      const cache = await ready(newCache({ telemetry: { meterProvider: meterProvider as never } }));
      expect(await cache.wrap('prediction', 'm', async () => 1)).to.equal(1);
      expect(await cache.wrap('prediction', 'm', async () => 2)).to.equal(1);
      const failed = await cache.wrap('prediction', 'e', () => Promise.reject(new Error('own'))).catch((e: Error) => e);
      expect((failed as Error).message).to.equal('own');
    }
  });

  it('rejects bad telemetry and costPerCall options once, naming them', () => {
    expect(() => newCache({ telemetry: { recordKeys: 'raw' as never } })).to.throw(TypeError, /telemetry.recordKeys/);
    expect(() => newCache({ telemetry: { meterProvider: {} as never } })).to.throw(
      TypeError,
      /telemetry.meterProvider/,
    );
    expect(() => newCache({ costPerCall: { llm: -1 } })).to.throw(TypeError, /costPerCall.llm/);
  });

  it('creates instruments lazily: a meter provider registered after the cache is still used', async () => {
    const cache = await ready(newCache());
    await cache.wrap('prediction', 'lazy', async () => 1); // nothing registered yet
    metrics.setGlobalMeterProvider(o.meterProvider);
    try {
      await cache.wrap('prediction', 'lazy', async () => 1);
      expect(sum(await o.points('infercache.requests', { 'infercache.result': 'hit' }))).to.equal(1);
    } finally {
      metrics.disable();
    }
  });
});
