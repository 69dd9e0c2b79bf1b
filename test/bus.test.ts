/** Many instances: memory-tier coherence over the Redis pub/sub bus. Each `Cache` stands for one app instance. */
import { expect } from 'chai';
import { newCache, sleep, counted } from './helpers.js';
import { adminClient, testRedis } from './setup/root-hooks.js';
import { startProxy } from './setup/proxy.js';
import type { Cache } from '../src/index.js';
import { internalsOf } from '../src/cache.js';

const MEM = { memory: true, tags: ['user:1'] } as const;

/**
 * Resolves when `cache` received a message from another instance. The limit only ends a test that would otherwise
 * hang: it is generous so that a loaded machine cannot reach it.
 */
async function received(cache: Cache, before: number, limitMs = 5000): Promise<void> {
  const started = performance.now();
  while (internalsOf(cache).bus!.counters.received === before) {
    if (performance.now() - started > limitMs) throw new Error('no bus message arrived');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Resolves once `test()` holds; the limit (generous, for a loaded machine) only ends a test that would hang. */
async function until(test: () => boolean | Promise<boolean>, limitMs = 5000): Promise<void> {
  const started = performance.now();
  while (!(await test())) {
    if (performance.now() - started > limitMs) throw new Error('condition not met in time');
    await sleep(2);
  }
}

/** A gate: `started` resolves when the guarded code began, which then waits until `open()`. */
function gate() {
  let open!: () => void;
  let began!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const started = new Promise<void>((resolve) => (began = resolve));
  return {
    started,
    open,
    pass: async () => {
      began();
      await opened;
    },
  };
}

/**
 * Memory-tier entry options whose `deserialize` waits, once `hold()` was called, until `release()`: it holds a Redis
 * read open while another change happens.
 */
function heldReads() {
  const read = gate();
  let held = false;
  const options = {
    memory: true,
    serialize: (v: string) => Buffer.from(v),
    deserialize: async (bytes: Buffer) => {
      if (held) await read.pass();
      return bytes.toString();
    },
  };
  return {
    options,
    hold: () => void (held = true),
    /** Resolves once a held read is waiting in `deserialize`. */
    reading: read.started,
    release: () => {
      held = false;
      read.open();
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

/**
 * Runs `during` while every subscriber (`cache`'s among them) is disconnected and kept out by a password it does not
 * know, then lets the subscribers back in.
 */
async function subscriberDown(cache: Cache, during: () => Promise<void>): Promise<void> {
  const admin = adminClient();
  await admin.configSet('requirepass', 'bus-test-pw');
  try {
    await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await until(() => internalsOf(cache).bus!.up === false);
    await during();
  } finally {
    await admin.configSet('requirepass', '');
  }
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
    it(`another instance's ${name} drops this instance's memory copy as soon as its message arrives`, async () => {
      const { a, b } = await twoInstances();
      const before = internalsOf(a).bus!.counters.received;
      await change(b);
      await received(a, before);
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
    const computing = gate();
    const slow = a.wrap(
      'model',
      'm',
      async () => {
        await computing.pass();
        return 'before retrain';
      },
      MEM,
    );
    await computing.started;
    const before = internalsOf(a).bus!.counters.received;
    await b.invalidateKind('model');
    await received(a, before);
    computing.open();
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
    await reads.reading;
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
    await reads.reading;
    await a.delete('model', 'm');
    reads.release();
    expect(await reading).to.equal('v1');
    expect(await a.wrap('model', 'm', async () => 'recomputed', opts)).to.equal('recomputed');
  });

  it('does not keep in memory a value computed while this instance invalidated its kind', async () => {
    const a = newCache();
    const computing = gate();
    const slow = a.wrap(
      'model',
      'm',
      async () => {
        await computing.pass();
        return 'before retrain';
      },
      MEM,
    );
    await computing.started;
    await a.invalidateKind('model');
    computing.open();
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

  it('reads messages written by earlier releases, whose sender id comes last, and sends its own id first', async () => {
    const { a } = await twoInstances();
    await a.wrap('other', 'o', async () => 'kept', { memory: true });
    const bus = internalsOf(a).bus!;
    const before = bus.counters.received;
    const sent: string[] = [];
    const listener = (message: string) => sent.push(message);
    const watcher = await adminClient().duplicate().connect();
    try {
      await watcher.subscribe(bus.channel, listener);
      await adminClient().publish(bus.channel, JSON.stringify({ all: true, from: '0123456789abcdef' }));
      await received(a, before);
      const dropped = await a.wrapDetailed('other', 'o', async () => 'unexpected', { memory: true });
      expect(dropped).to.include({ value: 'kept', tier: 'redis' });
      await a.invalidateKind('model');
      // other instances on the channel may publish meanwhile: look at this instance's own messages
      const own = () => sent.filter((message) => message.includes(bus.id));
      await until(() => own().length > 0);
      for (const message of own()) expect(message.startsWith(`{"from":"${bus.id}"`), message).to.equal(true);
    } finally {
      await watcher.close();
    }
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
      await received(a, before);
      expect(await a.wrap('model', 'm', async () => 'v2', MEM)).to.equal('v2');
    } finally {
      await proxy.close();
    }
  });

  it('bounds memory staleness while the subscriber is down: entries older than busDownTtl are re-read', async () => {
    // Only lower bounds on time: load can make the steps slower, never make busDownTtl end early. That a fresh
    // entry is served from memory while the subscriber is down is the next test's, with a busDownTtl of a minute.
    const busDownTtl = 300;
    const { a } = await twoInstances({ memory: { busDownTtl: busDownTtl / 1000 } }); // seconds
    const silent = newCache({ bus: false });
    await silent.set('model', 'm', 'v2', MEM); // no message: A keeps serving v1 while its bus is up
    await sleep(busDownTtl + 50);
    expect(await a.wrap('model', 'm', async () => 'unexpected', MEM)).to.equal('v1');
    await subscriberDown(a, async () => {
      // v1 was stored more than busDownTtl ago: it is re-read from Redis instead of served from memory
      const storedAt = Date.now(); // before this read stores v2 in memory
      const read = await a.wrapDetailed('model', 'm', async () => 'unexpected', MEM);
      expect(read).to.include({ value: 'v2', tier: 'redis' });
      // v2, stored while the subscriber is down, is re-read too once busDownTtl passed, and not before
      await until(async () => (await a.wrapDetailed('model', 'm', async () => 'x', MEM)).tier === 'redis', 10_000);
      expect(Date.now() - storedAt).to.be.at.least(busDownTtl);
    });
  });

  it('serves entries from memory while the subscriber is down, within busDownTtl, and resyncs when it is back', async () => {
    const { a } = await twoInstances({ memory: { busDownTtl: '60s' } }); // longer than the test can take
    const silent = newCache({ bus: false });
    await silent.connect(); // before the password keeps new connections out
    const resyncs = internalsOf(a).bus!.counters.resyncs;
    await subscriberDown(a, async () => {
      expect(await a.wrapDetailed('model', 'm', async () => 'unexpected', MEM)).to.include({ tier: 'memory' });
      expect(await silent.set('model', 'm', 'v2', MEM)).to.equal(true); // no message: A's subscriber is down
      await a.wrap('model', 'fresh', async () => 'f1', MEM); // stored while the subscriber is down
      expect(await a.wrapDetailed('model', 'fresh', async () => 'x', MEM)).to.include({ value: 'f1', tier: 'memory' });
      expect(await a.wrap('model', 'm', async () => 'unexpected', MEM)).to.equal('v1'); // stale for up to busDownTtl
    });
    await until(() => internalsOf(a).bus!.up === true, 10_000);
    expect(internalsOf(a).bus!.counters.resyncs).to.equal(resyncs + 1);
    expect((await a.info()).bus).to.include({ up: true, resyncs: resyncs + 1 });
    expect(await a.wrapDetailed('model', 'm', async () => 'unexpected', MEM)).to.include({
      value: 'v2',
      tier: 'redis',
    });
  });

  it('keeps entries stored before the bus first came up, but only for busDownTtl', async () => {
    // only lower bounds on time (see above); that such an entry is served at all is the next test's
    const busDownTtl = 300;
    const a = newCache({ memory: { busDownTtl: busDownTtl / 1000 } }); // seconds
    const storedAt = Date.now();
    await a.set('model', 'm', 'v1', MEM); // in memory before the subscriber exists
    await sleep(2); // stored at least a millisecond before the subscription
    await a.wrap('model', 'other', async () => 0, MEM); // opens the subscriber
    await until(() => internalsOf(a).bus!.up);
    expect(internalsOf(a).bus!.counters.resyncs).to.equal(0);
    await newCache({ bus: false }).set('model', 'm', 'v2', MEM);
    await until(async () => (await a.wrapDetailed('model', 'm', async () => 'x', MEM)).tier === 'redis', 10_000);
    expect(Date.now() - storedAt).to.be.at.least(busDownTtl);
    // stored while the bus is up: served from memory from now on
    expect(await a.wrapDetailed('model', 'm', async () => 'x', MEM)).to.include({ value: 'v2', tier: 'memory' });
    expect(await a.wrapDetailed('model', 'm', async () => 'x', MEM)).to.include({ value: 'v2', tier: 'memory' });
  });

  it('serves entries stored before the bus first came up from memory, within busDownTtl', async () => {
    const a = newCache({ memory: { busDownTtl: '60s' } }); // longer than the test can take
    await a.set('model', 'm', 'v1', MEM); // in memory before the subscriber exists
    await sleep(2); // stored at least a millisecond before the subscription
    await a.wrap('model', 'other', async () => 0, MEM); // opens the subscriber
    await until(() => internalsOf(a).bus!.up);
    await newCache({ bus: false }).set('model', 'm', 'v2', MEM);
    expect(await a.wrapDetailed('model', 'm', async () => 'x', MEM)).to.include({ value: 'v1', tier: 'memory' });
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

  it("another instance's invalidateTags drops exactly the memory entries carrying one of its tags", async () => {
    const a = newCache();
    const b = newCache();
    await Promise.all([a.connect(), b.connect()]);
    const entries: Array<[string, string[]]> = [
      ['kept', ['user:1']],
      ['first-tag', ['user:2']],
      ['second-tag', ['user:3', 'org:9']],
      ['untagged', []],
    ];
    for (const [id, tags] of entries) await a.wrap('model', id, async () => 'v1', { memory: true, tags });
    const before = internalsOf(a).bus!.counters.received;
    await b.invalidateTags('user:2', 'org:9');
    await received(a, before);
    const tiers: Record<string, string | undefined> = {};
    for (const [id, tags] of entries) {
      tiers[id] = (await a.wrapDetailed('model', id, async () => 'v2', { memory: true, tags })).tier;
    }
    expect(tiers).to.deep.equal({
      kept: 'memory',
      'first-tag': undefined,
      'second-tag': undefined,
      untagged: 'memory',
    });
  });

  it('clears every memory entry when the subscriber reconnects, however recently it was stored', async () => {
    // busDownTtl of a minute: only the resync's clear, not the bound on entries stored while the bus was down, can
    // make A re-read an entry here
    const a = newCache({ memory: { busDownTtl: '60s' } });
    const silent = newCache({ bus: false });
    await a.connect();
    await until(() => internalsOf(a).bus!.up);
    for (const kind of ['model', 'prompt']) await a.wrap(kind, 'k', async () => 'v1', MEM);
    for (const kind of ['model', 'prompt']) await silent.set(kind, 'k', 'v2', MEM); // no bus message
    expect(await a.wrap('model', 'k', async () => 'unexpected', MEM)).to.equal('v1');
    const resyncs = internalsOf(a).bus!.counters.resyncs;
    await adminClient().sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    await until(() => internalsOf(a).bus!.counters.resyncs > resyncs);
    for (const kind of ['model', 'prompt']) {
      expect(await a.wrapDetailed(kind, 'k', async () => 'unexpected', MEM)).to.include({ value: 'v2', tier: 'redis' });
    }
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
