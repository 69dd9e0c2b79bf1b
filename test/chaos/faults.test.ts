/**
 * The chaos suite: a private redis-server process per fault, steady concurrent load on a decorated service,
 * and the fault injected during it. No call may fail or return a wrong value, none may wait much longer than
 * the operation timeout, and hits must resume once the fault is over. Figures are printed at the end.
 *
 * The load goes through a Redis-only decorated method, a memory-tier decorated method (with the invalidation bus)
 * and a cached Fastify route.
 */
import { expect } from 'chai';
import { createClient } from 'redis';
import { spawnRedis, type RedisProcess } from '../setup/redis-process.js';
import { newCache } from '../helpers.js';
import { MIN_RETRAINS, printFigures, runLoad, sleep, type Figures } from './harness.js';

const TIMEOUT_MS = 50;
/**
 * Slack over the operation timeout for a loaded 2-core machine (timers, GC, other processes: 150 ms was exceeded
 * under `npm run test:stress`). A bound on hanging, not on speed: a call held up by Redis would wait for the 2 s
 * connect timeout, or forever.
 */
const SLACK_MS = 1000;

describe('chaos: steady load while Redis fails', function () {
  this.timeout(30_000);
  const figures: Figures[] = [];
  let server: RedisProcess | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  after(() => printFigures(figures));

  // the library's defaults (breaker included) apart from the operation timeout: recovery is what a user gets
  const chaosCache = (port: number) =>
    newCache({
      redis: { url: `redis://127.0.0.1:${port}` },
      operationTimeout: `${TIMEOUT_MS}ms`,
      logger: false,
    });

  /** A short-lived admin connection to the chaos server. */
  const adminFor = (port: number) => createClient({ url: `redis://127.0.0.1:${port}` });
  async function admin<T>(port: number, run: (client: ReturnType<typeof adminFor>) => Promise<T>): Promise<T> {
    const client = adminFor(port);
    client.on('error', () => {});
    await client.connect();
    try {
      return await run(client);
    } finally {
      await client.close().catch(() => {});
    }
  }

  function check(f: Figures): void {
    figures.push(f);
    expect(f.calls, 'calls').to.be.above(200);
    expect(f.errors, 'failed calls').to.equal(0);
    expect(f.wrong, 'wrong values').to.equal(0);
    expect(f.stale, 'values older than an invalidation made before the call').to.equal(0);
    expect(f.retrains, 'invalidations during the run').to.be.at.least(MIN_RETRAINS);
    // A stall of the event loop (GC, or other processes on the 2 cores) delays every call, cached or not: it is
    // measured alongside and excused, and printed so that a stall caused by the cache itself would still show.
    expect(f.worstAddedMs, 'worst added latency (ms)').to.be.below(TIMEOUT_MS + SLACK_MS + f.loopStallMs);
    expect(f.recoverMs, 'time until hits resumed (ms)').to.not.equal(undefined);
    expect(f.hitsAfter, 'hits after recovery').to.be.above(0);
  }

  it('survives kill -9 of Redis and a restart on the same port (data lost)', async () => {
    server = await spawnRedis();
    const port = server.port;
    const cache = chaosCache(port);
    const f = await runLoad({
      fault: 'kill -9, restart after 1 s',
      cache,
      inject: async () => {
        await server!.stop();
        await sleep(1000);
        server = await spawnRedis({ port });
      },
    });
    check(f);
  });

  it('survives Redis paused with SIGSTOP for 2 s, then SIGCONT', async () => {
    server = await spawnRedis();
    const cache = chaosCache(server.port);
    const f = await runLoad({
      fault: 'SIGSTOP 2 s, SIGCONT',
      cache,
      inject: async () => {
        server!.signal('SIGSTOP');
        await sleep(2000);
        server!.signal('SIGCONT');
      },
    });
    check(f);
  });

  it('survives Redis full at maxmemory with allkeys-lru, evicting entries and counters', async () => {
    server = await spawnRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    const port = server.port;
    const cache = chaosCache(port);
    let evicted = 0;
    const f = await runLoad({
      fault: 'maxmemory, allkeys-lru, filled',
      cache,
      inject: () =>
        admin(port, async (client) => {
          const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
          await client.configSet('maxmemory', String(used + 512 * 1024));
          const filler = 'x'.repeat(2048);
          for (let batch = 0; batch < 8; batch++) {
            const writes = Array.from({ length: 200 }, (_, i) => client.set(`filler:${batch}:${i}`, filler));
            await Promise.allSettled(writes);
            await sleep(50);
          }
          evicted = Number(/evicted_keys:(\d+)/.exec(await client.info('stats'))![1]);
        }),
    });
    check(f);
    expect(evicted, 'keys evicted').to.be.above(0);
  });

  it('survives garbage bytes and wrong-type values written under live entry and counter keys', async () => {
    server = await spawnRedis();
    const port = server.port;
    const cache = chaosCache(port);
    let corrupted = 0;
    const f = await runLoad({
      fault: 'garbage, hash, list under live keys',
      cache,
      inject: () =>
        admin(port, async (client) => {
          for (let round = 0; round < 6; round++) {
            const keys = await client.keys('infercache:*');
            for (const [i, key] of keys.entries()) {
              if (i % 3 === 0) await client.set(key, Buffer.from([0xc1, 0xff, 0x00, round, 0x42]));
              else if (i % 3 === 1) await client.multi().del(key).hSet(key, 'f', 'v').exec();
              else await client.multi().del(key).rPush(key, ['a', 'b']).exec();
              corrupted++;
            }
            await sleep(150);
          }
        }),
    });
    check(f);
    expect(corrupted, 'keys corrupted').to.be.above(20);
    expect(cache.stats().errors, 'unreadable entries counted').to.be.above(0);
  });

  it('survives every client and pub/sub connection killed (CLIENT KILL TYPE normal, pubsub) again and again', async () => {
    server = await spawnRedis();
    const port = server.port;
    const cache = chaosCache(port);
    const killed = { normal: 0, pubsub: 0 };
    const f = await runLoad({
      fault: 'CLIENT KILL TYPE normal + pubsub ×5',
      cache,
      inject: () =>
        admin(port, async (client) => {
          for (let i = 0; i < 5; i++) {
            for (const type of ['pubsub', 'normal'] as const) {
              killed[type] += Number(await client.sendCommand(['CLIENT', 'KILL', 'TYPE', type]));
            }
            await sleep(300);
          }
        }),
    });
    check(f);
    expect(killed.normal, 'connections killed').to.be.at.least(5);
    expect(killed.pubsub, 'bus subscriptions killed').to.be.at.least(1);
  });
});
