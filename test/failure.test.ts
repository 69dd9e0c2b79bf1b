/** Redis stopped, paused, unreachable at start-up and returning garbage: every call still returns the right value. */
import { expect } from 'chai';
import { startTestRedis, type TestRedis } from '../src/testing.js';
import { newCache, counted, sleep, warnings, writesLanded } from './helpers.js';
import { adminClient } from './setup/root-hooks.js';
import { internalsOf } from '../src/cache.js';

const model = (x: number) => ({ score: x * 2 });

describe('when Redis fails', function () {
  this.timeout(30_000);
  let server: TestRedis | undefined;
  afterEach(async () => {
    if (server?.pid) {
      try {
        process.kill(server.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await server?.stop();
    server = undefined;
  });

  it('keeps answering correctly, within the operation timeout, when Redis is stopped mid-run', async () => {
    server = await startTestRedis();
    const cache = newCache({ redis: { url: server.url }, operationTimeout: '50ms' });
    const fn = counted(model);
    for (let i = 0; i < 20; i++) expect(await cache.wrap('p', [i % 5], () => fn(i % 5))).to.deep.equal(model(i % 5));
    await server.stop();
    const { skipped, timeouts } = internalsOf(cache).redis!.counters;
    for (let i = 0; i < 50; i++) {
      expect(await cache.wrap('p', [i % 5], () => fn(i % 5))).to.deep.equal(model(i % 5));
    }
    // never held up: each call's read was skipped (not connected, breaker open) or ended by the operation timeout,
    // never left waiting for an answer (a hang would end the test by its timeout)
    const after = internalsOf(cache).redis!.counters;
    expect(after.skipped - skipped + after.timeouts - timeouts).to.be.at.least(50);
    expect((await cache.health()).status).to.equal('unavailable');
  });

  it('opens the circuit breaker when the connection is lost, and closes it when Redis is back', async () => {
    const { startProxy } = await import('./setup/proxy.js');
    const { testRedis } = await import('./setup/root-hooks.js');
    const proxy = await startProxy(testRedis().port);
    try {
      const cache = newCache({ redis: { url: proxy.url }, bus: false });
      await cache.connect();
      expect(internalsOf(cache).redis!.breaker.state).to.equal('closed');
      await proxy.down();
      for (let i = 0; i < 100 && internalsOf(cache).redis!.breaker.state !== 'open'; i++) await sleep(10);
      expect(internalsOf(cache).redis!.breaker.state, 'open once the connection dropped, before any call').to.equal(
        'open',
      );
      expect(await cache.wrap('p', 'k', async () => 'computed')).to.equal('computed');
      await proxy.up();
      for (let i = 0; i < 300 && internalsOf(cache).redis!.breaker.state !== 'closed'; i++) await sleep(10);
      expect(internalsOf(cache).redis!.breaker.state).to.equal('closed');
    } finally {
      await proxy.close();
    }
  });

  it('answers within the operation timeout while Redis is paused (SIGSTOP), then hits resume', async () => {
    server = await startTestRedis();
    const cache = newCache({ redis: { url: server.url }, operationTimeout: '40ms', breaker: { cooldown: '100ms' } });
    await cache.connect();
    await cache.wrap('p', 'k', async () => model(1));
    process.kill(server.pid!, 'SIGSTOP');
    const fn = counted(model);
    const { skipped, timeouts } = internalsOf(cache).redis!.counters;
    for (let i = 0; i < 30; i++) expect(await cache.wrap('p', 'k', () => fn(1))).to.deep.equal(model(1));
    // a paused Redis never answers: each call's read was ended by the operation timeout or skipped by the open
    // breaker (a call left waiting would end the test by its timeout)
    const after = internalsOf(cache).redis!.counters;
    expect(after.timeouts - timeouts, 'the first reads time out').to.be.at.least(1);
    expect(after.skipped - skipped + after.timeouts - timeouts).to.be.at.least(30);
    expect(internalsOf(cache).redis!.breaker.state).to.not.equal('closed');
    process.kill(server.pid!, 'SIGCONT');
    const hitsBefore = cache.stats().hits;
    for (let i = 0; i < 50 && cache.stats().hits === hitsBefore; i++) {
      await sleep(50);
      await cache.wrap('p', 'k', () => fn(1));
    }
    expect(cache.stats().hits).to.be.greaterThan(hitsBefore);
  });

  it('does not block start-up when Redis is down, and hits begin once Redis starts', async () => {
    const port = await freePort();
    // a first call waiting for the connection would wait out the 60 s connect timeout: the test's 30 s timeout
    const cache = newCache({
      redis: { url: `redis://127.0.0.1:${port}`, connectTimeout: '60s' },
      operationTimeout: '50ms',
    });
    const fn = counted(model);
    expect(await cache.wrap('p', 'k', () => fn(3))).to.deep.equal(model(3));
    server = await startTestRedis({ port });
    for (let i = 0; i < 60 && cache.stats().hits === 0; i++) {
      await sleep(100);
      await cache.wrap('p', 'k', () => fn(3));
    }
    expect(cache.stats().hits).to.be.greaterThan(0);
  });

  it('uses Redis from the first call when the connection is still being made', async () => {
    const writer = newCache();
    await writer.wrap('p', 'early', async () => 'stored');
    const fresh = newCache({ operationTimeout: '1s' });
    const fn = counted(() => 'computed');
    expect(await fresh.wrap('p', 'early', fn)).to.equal('stored');
    expect(fn.calls).to.equal(0);
  });

  it('treats garbage bytes and wrong-type values as misses, deletes them and counts an error', async () => {
    const cache = newCache();
    const admin = adminClient();
    await admin.set('infercache:p:v1:garbage', Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    await admin.hSet('infercache:p:v1:hash', 'f', 'v');
    await admin.set('infercache:p:v1:text', 'hello');
    const fn = counted(() => 'right');
    expect(await cache.wrap('p', 'garbage', fn)).to.equal('right');
    expect(await cache.wrap('p', 'hash', fn)).to.equal('right');
    expect(await cache.wrap('p', 'text', fn)).to.equal('right');
    expect(fn.calls).to.equal(3);
    expect(cache.stats().errors).to.be.at.least(2);
    const dropped = warnings.find((w) => w.includes('dropped an unreadable entry'));
    expect(dropped).to.match(/^infercache: dropped an unreadable entry of kind 'p': (?!infercache:)/);
    await until(async () => (await admin.type('infercache:p:v1:hash')) === 'string'); // the background writes landed
    expect(await cache.wrap('p', 'garbage', fn)).to.equal('right');
    expect(fn.calls).to.equal(3);
  });

  it('never queues commands while disconnected: each call runs at once, not after the operation timeout', async () => {
    server = await startTestRedis();
    // a breaker that failures never open: a command queued while disconnected would wait 5 s
    const cache = newCache({
      redis: { url: server.url },
      operationTimeout: '5s',
      breaker: { threshold: 1_000_000 },
      bus: false,
    });
    await cache.connect();
    await server.stop();
    await until(() => internalsOf(cache).redis!.status !== 'ready');
    // 20 calls queued for the 5 s operation timeout each would end the test by its 30 s timeout
    for (let i = 0; i < 20; i++) expect(await cache.wrap('p', i, async () => i)).to.equal(i);
    expect(internalsOf(cache).redis!.counters.skipped, 'skipped, not sent to a queue').to.be.at.least(20);
  });

  it('keeps the breaker closed when Redis answers with an error reply (OOM under maxmemory)', async () => {
    const cache = newCache({ bus: false });
    const admin = adminClient();
    await cache.wrap('p', 'kept', async () => 'stored');
    await admin.configSet({ maxmemory: '1', 'maxmemory-policy': 'noeviction' });
    try {
      // concurrent misses: one shared MGET, then 20 SETs refused in a row
      const values = await Promise.all(
        Array.from({ length: 20 }, (_, i) => cache.wrap('p', `new-${i}`, async () => i)),
      );
      expect(values).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
      await writesLanded(cache); // the 20 SETs were refused
      expect(internalsOf(cache).redis!.breaker.state).to.equal('closed');
      expect(internalsOf(cache).redis!.counters.lastError).to.match(/OOM/);
      const served = await cache.wrapDetailed('p', 'kept', async () => 'computed');
      expect(served).to.include({ value: 'stored', result: 'hit' });
    } finally {
      await admin.configSet({ maxmemory: '0' });
    }
  });

  it('invalidates even when a generation counter holds garbage or a value of the wrong type', async () => {
    const cache = newCache({ bus: false });
    const admin = adminClient();
    await admin.set('infercache:__gen:kind:price', 'garbage');
    await admin.hSet('infercache:__gen:tag:user:1', 'f', 'v');
    const tagged = { tags: ['user:1'] };
    await cache.wrap('price', 'a', async () => 'old');
    await cache.wrap('reply', 'q', async () => 'old', tagged);
    expect(await cache.wrap('price', 'a', async () => 'new')).to.equal('old');
    expect(await cache.wrap('reply', 'q', async () => 'new', tagged)).to.equal('old');
    await cache.invalidateKind('price');
    await cache.invalidateTags('user:1');
    expect(await cache.wrap('price', 'a', async () => 'new')).to.equal('new');
    expect(await cache.wrap('reply', 'q', async () => 'new', tagged)).to.equal('new');
    await cache.invalidateKind('price'); // the repaired counter counts on
    expect(await cache.wrap('price', 'a', async () => 'newer')).to.equal('newer');
  });

  it('reports a bad password without leaking it', async () => {
    server = await startTestRedis({ args: ['--requirepass', 's3cret-pw'] });
    const url = server.url.replace('redis://', 'redis://default:wrong-pw@');
    const cache = newCache({ redis: { url, connectTimeout: '300ms' } });
    expect(await cache.wrap('p', 'k', async () => 1)).to.equal(1);
    await sleep(300);
    const health = await cache.health();
    expect(health.status).to.equal('unavailable');
    const info = await cache.info();
    const text = JSON.stringify({ health, info });
    expect(text).to.not.include('wrong-pw');
    expect(text).to.include('***');
  });
});

/** Resolves once `test()` holds; the limit (generous, for a loaded machine) only ends a test that would hang. */
async function until(test: () => boolean | Promise<boolean>, limitMs = 5000): Promise<void> {
  const started = performance.now();
  while (!(await test())) {
    if (performance.now() - started > limitMs) throw new Error('condition not met in time');
    await sleep(5);
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('invalidation during an outage', () => {
  it('fails loudly, then is replayed on reconnect so no stale entry is served afterwards', async () => {
    const { startProxy } = await import('./setup/proxy.js');
    const { testRedis } = await import('./setup/root-hooks.js');
    const proxy = await startProxy(testRedis().port);
    try {
      const cache = newCache({ redis: { url: proxy.url }, breaker: { cooldown: '50ms' } });
      await cache.connect();
      await cache.wrap('price', 'k', async () => 'old model');
      await until(async () => (await newCache().get('price', 'k')) === 'old model'); // the background write landed
      await proxy.down();
      await sleep(20);
      let error: unknown;
      await cache.invalidateKind('price').catch((e: unknown) => (error = e));
      expect((error as { code?: string }).code).to.equal('E_CACHE_UNAVAILABLE');
      await proxy.up();
      const reader = newCache();
      const fn = counted(() => 'new model');
      for (let i = 0; i < 40 && fn.calls === 0; i++) {
        await sleep(50);
        await reader.wrap('price', 'k', fn);
      }
      expect(await reader.wrap('price', 'k', fn)).to.equal('new model');
    } finally {
      await proxy.close();
    }
  });
});

describe('connect()', () => {
  it('rejects with UnavailableError after the first failed attempt instead of waiting for Redis forever', async () => {
    const cache = newCache({ redis: { url: 'redis://127.0.0.1:1', connectTimeout: '200ms' } });
    // waiting for Redis forever would end the test by its timeout
    const error = await cache.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as { code?: string }).code).to.equal('E_CACHE_UNAVAILABLE');
  });
});

describe('close()', () => {
  it('returns promptly when Redis accepts connections but never answers (a partition)', async () => {
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => void sockets.add(socket)); // accepts, reads nothing back
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const cache = newCache({ redis: { url: `redis://127.0.0.1:${port}`, connectTimeout: '300ms' } });
      expect(await cache.wrap('p', 'k', async () => 'computed')).to.equal('computed');
      await sleep(100);
      await cache.close(); // a hang would end the test by its timeout; the grace is 1 s
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe('close() right after a write or an invalidation', () => {
  it("lets a miss's background write land, logging nothing", async () => {
    const cache = newCache({ operationTimeout: '5s' }); // a timeout would log: load must not cause one
    await cache.connect();
    // wrap returns before its SET is answered; close() is called at once
    expect(await cache.wrap('p', 'k1', async () => ({ score: 1 }))).to.deep.equal({ score: 1 });
    await cache.close();
    expect(warnings).to.deep.equal([]);
    expect(await adminClient().exists('infercache:p:v1:k1')).to.equal(1);
  });

  it('lets a write of a memory-tier entry land and publish its bus message, logging nothing', async () => {
    const listener = adminClient().duplicate();
    await listener.connect();
    try {
      const message = new Promise<string>((resolve) => void listener.subscribe('infercache:__bus', resolve));
      await sleep(0);
      const cache = newCache({ operationTimeout: '5s' }); // a timeout would log: load must not cause one
      await cache.connect();
      expect(await cache.wrap('m', 'k2', async () => 'v', { memory: true })).to.equal('v');
      await cache.close(); // the PUBLISH follows the SET's reply, after wrap returned
      expect(JSON.parse(await message)).to.include({ key: 'infercache:m:v1:k2', kind: 'm' });
      expect(warnings).to.deep.equal([]);
      expect(await adminClient().exists('infercache:m:v1:k2')).to.equal(1);
    } finally {
      await listener.close();
    }
  });

  it("lets invalidateKind's bus message go out, logging nothing", async () => {
    const listener = adminClient().duplicate();
    await listener.connect();
    try {
      const message = new Promise<string>((resolve) => void listener.subscribe('infercache:__bus', resolve));
      await sleep(0);
      const cache = newCache({ operationTimeout: '5s' }); // a timeout would log: load must not cause one
      await cache.connect();
      await cache.invalidateKind('p');
      await cache.close();
      expect(JSON.parse(await message)).to.include({ kind: 'p' });
      expect(warnings).to.deep.equal([]);
      expect(Number(await adminClient().get('infercache:__gen:kind:p'))).to.be.above(0);
    } finally {
      await listener.close();
    }
  });
});
