import { expect } from 'chai';
import { createServer, connect, type Socket } from 'node:net';
import { createClient } from 'redis';
import { newCache, counted, sleep, eventually } from './helpers.js';
import { testRedis, testRedisUrl } from './setup/root-hooks.js';
import { startProxy } from './setup/proxy.js';
import { startTestRedis } from '../src/testing.js';
import { internalsOf } from '../src/cache.js';

/**
 * A proxy to the test Redis that accepts connections but forwards nothing until `release()`: a first connection that
 * is still being set up when the cache is asked for its health, however fast the machine is.
 */
async function startGate(targetPort: number) {
  const held: Socket[] = [];
  const pairs = new Set<Socket>();
  let open = false;
  const forward = (client: Socket) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      pairs.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => pairs.delete(s));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  const server = createServer((client) => {
    if (open) forward(client);
    else held.push(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    release() {
      open = true;
      for (const client of held.splice(0)) forward(client);
    },
    async close() {
      for (const s of [...held, ...pairs]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('stats, health and info', () => {
  it('counts hits, misses and the compute time the hits saved, per kind', async () => {
    const cache = newCache();
    const slow = counted(() => 'ok', 30);
    await cache.wrap('forecast', 'a', slow);
    await cache.wrap('forecast', 'a', slow);
    await cache.wrap('forecast', 'a', slow);
    await cache.wrap('product', 'list', async () => [1]);
    const s = cache.stats();
    expect(s.kinds.forecast).to.include({ hits: 2, misses: 1, total: 3 });
    // lower bounds only (the function sleeps 30 ms; a loaded machine can only make it slower): each hit saved one
    // computation's time
    expect(s.kinds.forecast!.computeSeconds).to.be.at.least(0.025);
    expect(s.kinds.forecast!.timeSavedSeconds).to.be.closeTo(2 * s.kinds.forecast!.computeSeconds, 1e-6);
    expect(s).to.include({ hits: 2, misses: 2, total: 4, hitRate: 0.5 });
    cache.resetStats();
    expect(cache.stats().total).to.equal(0);
  });

  it('reports healthy with the probe latency when Redis answers', async () => {
    const cache = newCache();
    const health = await cache.health();
    expect(health.status).to.equal('healthy');
    expect(health.redis.probe).to.equal('ok');
    expect(health.redis.latencyMs).to.be.a('number');
  });

  it('reports healthy for a memory-only cache', async () => {
    const cache = newCache({ redis: false });
    expect((await cache.health()).status).to.equal('healthy');
    expect(await cache.wrap('p', 'k', async () => 1)).to.equal(1);
  });

  it('describes namespace, version, TTLs, entries per kind and Redis memory', async () => {
    const cache = newCache({ namespace: 'forecast', version: 'v3', ttl: { model: '6h', forecast: '5m' } });
    await cache.set('forecast', 'a', 1);
    await cache.set('forecast', 'b', 2);
    await cache.set('product', 'list', [1]);
    const info = await cache.info();
    expect(info).to.include({ namespace: 'forecast', version: 'v3' });
    expect(info.ttl.model).to.include({ ms: 6 * 3600_000, source: 'option' });
    expect(info.entries?.byKind).to.deep.equal({ forecast: 2, product: 1 });
    expect(info.redis?.usedMemory).to.be.a('string');
  });
});

describe('health() at start-up', () => {
  it('waits for the first connection when called right after createCache, and reports healthy', async () => {
    const gate = await startGate(testRedis().port);
    try {
      const cache = newCache({ redis: { url: gate.url, connectTimeout: '10s' } });
      const pending = cache.health(); // synchronously after createCache; the gate holds the first connection
      // Held longer than the operation timeout (1 s), the limit health() used to wait for the connection.
      await Promise.race([pending, sleep(1500)]);
      gate.release();
      const health = await pending;
      expect(health.redis.probe).to.equal('ok');
      expect(health.status).to.equal('healthy');
    } finally {
      await gate.close();
    }
  });

  it('resolves unavailable, without hanging, when the first connection fails, and after it without waiting', async function () {
    this.timeout(5000); // the default connectTimeout is 2 s; a refused connection fails long before
    const cache = newCache({ redis: { url: `redis://127.0.0.1:${await closedPort()}` } });
    const first = await cache.health();
    expect(first.status).to.equal('unavailable');
    expect(first.redis.probe).to.equal('failed');
    expect((await cache.health()).status).to.equal('unavailable');
  });
});

describe('health() degraded', () => {
  it('reports degraded when the read/write probe takes longer than the operation timeout', async () => {
    // each of the probe's three round trips (SET, GET, DEL) takes ~500 ms, under the 1 s timeout (500 ms to spare for
    // a loaded machine); all three, over it
    const proxy = await startProxy(testRedis().port, '127.0.0.1', { latencyMs: 500 });
    try {
      const cache = newCache({ redis: { url: proxy.url }, operationTimeout: '1s' });
      await cache.connect();
      const health = await cache.health();
      expect(health.redis.probe).to.equal('ok');
      expect(health.redis.latencyMs).to.be.above(1000);
      expect(health.redis.breaker).to.equal('closed');
      expect(health.status).to.equal('degraded');
    } finally {
      await proxy.close();
    }
  });

  it('reports degraded while the circuit breaker is open, and healthy once its probe has closed it', async () => {
    const server = await startTestRedis();
    try {
      const cache = newCache({
        redis: { url: server.url },
        operationTimeout: '200ms',
        breaker: { threshold: 2, cooldown: '30s', maxCooldown: '30s' },
      });
      await cache.connect();
      process.kill(server.pid!, 'SIGSTOP');
      try {
        for (let i = 0; i < 5 && internalsOf(cache).redis!.breaker.state !== 'open'; i++) {
          expect(await cache.wrap('p', `k${i}`, async () => 'v')).to.equal('v');
        }
      } finally {
        process.kill(server.pid!, 'SIGCONT');
      }
      expect(internalsOf(cache).redis!.breaker.state).to.equal('open');
      const degraded = await cache.health();
      expect(degraded.redis.probe).to.equal('ok');
      expect(degraded.redis.breaker).to.equal('open');
      expect(degraded.status).to.equal('degraded');
      const healthy = await cache.health();
      expect(healthy.redis.breaker).to.equal('closed');
      expect(healthy.status).to.equal('healthy');
    } finally {
      await server.stop();
    }
  });
});

describe('Redis connection sources', () => {
  it('uses an existing node-redis client and leaves it open on close', async () => {
    const client = createClient({ url: testRedisUrl() });
    client.on('error', () => {});
    await client.connect();
    try {
      const cache = newCache({ redis: { client } });
      expect(await cache.wrap('p', 'k', async () => 'v')).to.equal('v');
      await sleep(10);
      expect(await newCache().get('p', 'k')).to.equal('v');
      await cache.close();
      expect(client.isOpen).to.equal(true);
    } finally {
      await client.close();
    }
  });

  it('closes a client it was given when closeClient is true', async () => {
    const client = createClient({ url: testRedisUrl() });
    client.on('error', () => {});
    await client.connect();
    const cache = newCache({ redis: { client, closeClient: true } });
    await cache.close();
    expect(client.isOpen).to.equal(false);
  });
});

describe('memory tier bounds', () => {
  it('keeps at most maxEntries entries', async () => {
    const cache = newCache({ redis: false, memory: { maxEntries: 3 } });
    for (let i = 0; i < 10; i++) await cache.wrap('m', i, async () => i, { memory: true });
    const fn = counted(() => -1);
    for (let i = 9; i >= 0; i--) await cache.wrap('m', i, fn, { memory: true });
    expect(fn.calls).to.equal(7); // 9, 8 and 7 were kept; 6..0 were evicted
  });

  it('keeps at most maxBytes bytes of encoded values', async () => {
    const cache = newCache({ redis: false, memory: { maxBytes: 4000 } });
    const big = (i: number) => async () => 'x'.repeat(1000) + i;
    for (let i = 0; i < 10; i++) await cache.wrap('m', i, big(i), { memory: true });
    const fn = counted(() => 'recomputed');
    for (let i = 9; i >= 0; i--) await cache.wrap('m', i, fn, { memory: true });
    expect(fn.calls).to.be.within(7, 9); // about 1 KB each: at most 3 fit in 4000 bytes
  });
});

describe('Redis paused with CLIENT PAUSE', () => {
  it('answers every call within the operation timeout and serves hits again afterwards', async function () {
    this.timeout(20_000);
    const server = await startTestRedis();
    const admin = createClient({ url: server.url });
    admin.on('error', () => {});
    try {
      await admin.connect();
      const cache = newCache({ redis: { url: server.url }, operationTimeout: '40ms', breaker: { cooldown: '100ms' } });
      await cache.wrap('p', 'k', async () => 'v');
      await sleep(10);
      // 5 s: far longer than the 20 calls take (about 5 timeouts, then the open breaker skips Redis)
      await admin.sendCommand(['CLIENT', 'PAUSE', '5000', 'ALL']);
      const { skipped, timeouts } = internalsOf(cache).redis!.counters;
      const hits = cache.stats().hits;
      for (let i = 0; i < 20; i++) expect(await cache.wrap('p', 'k', async () => 'v')).to.equal('v');
      // no call waited for the pause to end: each read was ended by the operation timeout or skipped by the breaker
      const after = internalsOf(cache).redis!.counters;
      expect(after.timeouts - timeouts, 'the first reads time out').to.be.at.least(1);
      expect(after.skipped - skipped + after.timeouts - timeouts).to.be.at.least(20);
      expect(cache.stats().hits).to.equal(hits);
      await eventually(async () => (await cache.wrapDetailed('p', 'k', async () => 'v')).result === 'hit');
    } finally {
      await admin.close().catch(() => {});
      await server.stop();
    }
  });
});
