/** Many instances: memory-tier coherence over the Redis pub/sub bus. Each `Cache` stands for one app instance. */
import { expect } from 'chai';
import { newCache, sleep, counted } from './helpers.js';
import { adminClient, testRedis } from './setup/root-hooks.js';
import { startProxy } from './setup/proxy.js';
import type { Cache } from '../src/index.js';
import { internalsOf } from '../src/cache.js';

const MEM = { memory: true, tags: ['user:1'] } as const;

/** Resolves when `cache` received a message from another instance; returns how long that took (ms). */
async function received(cache: Cache, before: number, limitMs = 1000): Promise<number> {
  const started = performance.now();
  while (internalsOf(cache).bus!.counters.received === before) {
    if (performance.now() - started > limitMs) throw new Error('no bus message arrived');
    await new Promise((resolve) => setImmediate(resolve));
  }
  return performance.now() - started;
}

async function until(test: () => boolean, limitMs = 2000): Promise<void> {
  const started = performance.now();
  while (!test()) {
    if (performance.now() - started > limitMs) throw new Error('condition not met in time');
    await sleep(2);
  }
}

/**
 * Memory-tier entry options whose `deserialize` waits, once `hold()` was called, until `release()`: it holds a Redis
 * read open while another change happens.
 */
function heldReads() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  const options = {
    memory: true,
    serialize: (v: string) => Buffer.from(v),
    deserialize: async (bytes: Buffer) => {
      if (held) await gate;
      return bytes.toString();
    },
  };
  return {
    options,
    hold: () => void (held = true),
    release: () => {
      held = false;
      release();
    },
  };
}

/** Two connected instances; A holds 'v1' in its memory tier. */
async function twoInstances(options: Parameters<typeof newCache>[0] = {}) {
  const a = newCache(options);
  const b = newCache(options);
  await Promise.all([a.connect(), b.connect()]);
  expect(internalsOf(a).bus?.up).to.equal(true);
  await a.wrap('model', 'm', async () => 'v1', MEM);
  const second = await a.wrapDetailed('model', 'm', async () => 'unexpected', MEM);
  expect(second).to.include({ value: 'v1', tier: 'memory' });
  return { a, b };
}

describe('many instances: memory-tier coherence over pub/sub', () => {
  const cases: Array<[string, (b: Cache) => Promise<unknown>]> = [
    ['invalidateKind', (b) => b.invalidateKind('model')],
    ['invalidateTags', (b) => b.invalidateTags('user:1')],
    ['invalidateAll', (b) => b.invalidateAll()],
    ['delete', (b) => b.delete('model', 'm')],
    ['set', (b) => b.set('model', 'm', 'v2')],
  ];
  for (const [name, change] of cases) {
    it(`another instance's ${name} drops this instance's memory copy within milliseconds`, async () => {
      const { a, b } = await twoInstances();
      const before = internalsOf(a).bus!.counters.received;
      await change(b);
      const ms = await received(a, before);
      expect(ms).to.be.below(50);
      const after = await a.wrapDetailed('model', 'm', async () => 'v2', MEM);
      expect(after.value).to.equal('v2');
      expect(after.tier).to.not.equal('memory');
    });
  }

  it("another instance's write on a miss drops an older memory copy", async () => {
    const { a, b } = await twoInstances();
    await adminClient().del('infercache:model:v1:m'); // the Redis entry expired; A still holds v1 in memory
    const before = internalsOf(a).bus!.counters.received;
    expect(await b.wrap('model', 'm', async () => 'v2', MEM)).to.equal('v2');
    await received(a, before);
    expect(await a.wrap('model', 'm', async () => 'unexpected', MEM)).to.equal('v2');
  });

  it('does not keep in memory a value computed while another instance invalidated its kind', async () => {
    const a = newCache();
    const b = newCache();
    await Promise.all([a.connect(), b.connect()]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = a.wrap(
      'model',
      'm',
      async () => {
        await gate;
        return 'before retrain';
      },
      MEM,
    );
    await sleep(20);
    const before = internalsOf(a).bus!.counters.received;
    await b.invalidateKind('model');
    await received(a, before);
    release();
    expect(await slow).to.equal('before retrain'); // the call that was already running gets its result
    expect(await a.wrap('model', 'm', async () => 'after retrain', MEM)).to.equal('after retrain');
  });

  it('does not keep in memory a value read from Redis while another instance replaced that entry', async () => {
    const a = newCache();
    const b = newCache();
    await Promise.all([a.connect(), b.connect()]);
    const reads = heldReads();
    const opts = reads.options;
    await b.wrap('model', 'm', async () => 'v1', opts);
    reads.hold();
    const reading = a.wrap('model', 'm', async () => 'computed', opts);
    await sleep(20);
    const before = internalsOf(a).bus!.counters.received;
    await b.set('model', 'm', 'v2', opts);
    await received(a, before);
    reads.release();
    expect(await reading).to.equal('v1'); // the read that was already running returns what it read
    expect(await a.wrap('model', 'm', async () => 'computed', opts)).to.equal('v2');
  });

  it('does not keep in memory a value read while this instance deleted that entry', async () => {
    const a = newCache({ bus: false });
    const reads = heldReads();
    const opts = reads.options;
    await newCache({ bus: false }).wrap('model', 'm', async () => 'v1', opts);
    reads.hold();
    const reading = a.wrap('model', 'm', async () => 'computed', opts);
    await sleep(20);
    await a.delete('model', 'm');
    reads.release();
    expect(await reading).to.equal('v1');
    expect(await a.wrap('model', 'm', async () => 'recomputed', opts)).to.equal('recomputed');
  });

  it('does not keep in memory a value computed while this instance invalidated its kind', async () => {
    const a = newCache();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = a.wrap(
      'model',
      'm',
      async () => {
        await gate;
        return 'before retrain';
      },
      MEM,
    );
    await sleep(20);
    await a.invalidateKind('model');
    release();
    await slow;
    expect(await a.wrap('model', 'm', async () => 'after retrain', MEM)).to.equal('after retrain');
  });

  it('ignores its own messages and keeps unrelated memory entries', async () => {
    const { a, b } = await twoInstances();
    await a.wrap('other', 'o', async () => 'kept', { memory: true });
    const before = internalsOf(a).bus!.counters.received;
    await a.invalidateKind('nothing');
    await b.invalidateKind('nothing-either');
    await received(a, before);
    expect(internalsOf(a).bus!.counters.received).to.equal(before + 1);
    const kept = await a.wrapDetailed('other', 'o', async () => 'unexpected', { memory: true });
    expect(kept).to.include({ value: 'kept', tier: 'memory' });
  });

  it('never fails a call when publishing fails', async () => {
    const offline = newCache({ redis: { url: 'redis://127.0.0.1:1' }, operationTimeout: '20ms' });
    expect(await offline.set('model', 'm', 'x')).to.equal(false);
    await until(() => internalsOf(offline).bus!.counters.failed === 1);
  });

  it('replays an invalidation published during an outage when Redis is back', async () => {
    const { a } = await twoInstances();
    const proxy = await startProxy(testRedis().port);
    try {
      const b = newCache({ redis: { url: proxy.url }, operationTimeout: '50ms' });
      await b.connect();
      await proxy.down();
      await until(() => internalsOf(b).redis!.status !== 'ready');
      const before = internalsOf(a).bus!.counters.received;
      await b.invalidateKind('model').catch(() => {}); // fails now, replayed on reconnect
      await until(() => internalsOf(b).bus!.counters.failed === 1);
      expect(await a.wrap('model', 'm', async () => 'unexpected', MEM)).to.equal('v1');
      await proxy.up();
      const ms = await received(a, before, 5000);
      expect(ms).to.be.below(5000);
      expect(await a.wrap('model', 'm', async () => 'v2', MEM)).to.equal('v2');
    } finally {
      await proxy.close();
    }
  });

  it('bounds memory staleness while the subscriber is down, and resyncs when it is back', async () => {
    const { a } = await twoInstances({ memory: { busDownTtl: '30ms' } });
    const silent = newCache({ bus: false });
    await silent.set('model', 'm', 'v2', MEM); // no message: A keeps serving v1 while its bus is up
    await sleep(50);
    expect(await a.wrap('model', 'm', async () => 'unexpected', MEM)).to.equal('v1');
    const resyncs = internalsOf(a).bus!.counters.resyncs;
    const admin = adminClient();
    await admin.configSet('requirepass', 'bus-test-pw'); // the subscriber cannot come back until this is undone
    try {
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await until(() => internalsOf(a).bus!.up === false);
      // v1 was stored more than busDownTtl ago: it is re-read from Redis instead of served from memory
      const read = await a.wrapDetailed('model', 'm', async () => 'unexpected', MEM);
      expect(read).to.include({ value: 'v2', tier: 'redis' });
      // freshly stored entries are still served from memory for busDownTtl
      expect(await a.wrapDetailed('model', 'm', async () => 'unexpected', MEM)).to.include({ tier: 'memory' });
      await sleep(40);
      expect(await a.wrapDetailed('model', 'm', async () => 'unexpected', MEM)).to.include({ tier: 'redis' });
    } finally {
      await admin.configSet('requirepass', '');
    }
    await until(() => internalsOf(a).bus!.up === true, 5000);
    expect(internalsOf(a).bus!.counters.resyncs).to.equal(resyncs + 1);
    expect(a.info).to.be.a('function');
  });

  it('keeps entries stored before the bus first came up, but only for busDownTtl', async () => {
    const a = newCache({ memory: { busDownTtl: '60ms' } });
    await a.set('model', 'm', 'v1', MEM); // in memory before the subscriber exists
    await sleep(2);
    await a.wrap('model', 'other', async () => 0, MEM); // opens the subscriber
    await until(() => internalsOf(a).bus!.up);
    expect(internalsOf(a).bus!.counters.resyncs).to.equal(0);
    await newCache({ bus: false }).set('model', 'm', 'v2', MEM);
    expect(await a.wrapDetailed('model', 'm', async () => 'x', MEM)).to.include({ value: 'v1', tier: 'memory' });
    await sleep(80);
    expect(await a.wrapDetailed('model', 'm', async () => 'x', MEM)).to.include({ value: 'v2', tier: 'redis' });
    expect(await a.wrapDetailed('model', 'm', async () => 'x', MEM)).to.include({ value: 'v2', tier: 'memory' });
  });

  it('clears the memory tier when the subscriber reconnects (CLIENT KILL TYPE pubsub)', async () => {
    const { a } = await twoInstances();
    const silent = newCache({ bus: false });
    await silent.set('model', 'm', 'v2', MEM);
    expect(await a.wrap('model', 'm', async () => 'unexpected', MEM)).to.equal('v1');
    const resyncs = internalsOf(a).bus!.counters.resyncs;
    await adminClient().sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await until(() => internalsOf(a).bus!.counters.resyncs > resyncs, 5000);
    expect(await a.wrap('model', 'm', async () => 'unexpected', MEM)).to.equal('v2');
  });

  it('reports the bus in info()', async () => {
    const { a, b } = await twoInstances();
    const before = internalsOf(a).bus!.counters.received;
    await b.invalidateTags('user:1');
    await received(a, before);
    const info = await a.info();
    expect(info.bus).to.include({ channel: 'infercache:__bus', up: true, failed: 0 });
    expect(info.bus!.received).to.be.at.least(1);
  });

  it('opens no subscriber when bus is false, and publishes nothing', async () => {
    const a = newCache({ bus: false });
    const fn = counted(() => 1);
    await a.wrap('model', 'm', fn, { memory: true });
    expect(internalsOf(a).bus).to.equal(undefined);
    expect((await a.info()).bus).to.equal(undefined);
    const clients = await adminClient().sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']);
    expect(String(clients).trim()).to.equal('');
  });
});
