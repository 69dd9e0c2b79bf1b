/**
 * Many instances: how fast an invalidation reaches another instance's memory tier over the bus, and how many
 * computations N instances missing the same key make with and without the lease.
 * Run: `npx tsx bench/many-instances.ts` (starts a private redis-server from PATH).
 */
import { createCache, type Cache } from '../src/index.js';
import { startTestRedis } from '../src/testing.js';
import { internalsOf } from '../src/cache.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function main(): Promise<void> {
  const redis = await startTestRedis();
  const open: Cache[] = [];
  const make = (bus = true) => {
    const c = createCache({ redis: { url: redis.url }, setDefault: false, logger: false, bus });
    open.push(c);
    return c;
  };
  try {
    const a = make();
    const b = make();
    await Promise.all([a.connect(), b.connect()]);
    const times: number[] = [];
    for (let i = 0; i < 500; i++) {
      await a.wrap('model', 'm', async () => i, { memory: true });
      const before = internalsOf(a).bus!.counters.received;
      const started = performance.now();
      await b.invalidateKind('model');
      while (internalsOf(a).bus!.counters.received === before) await new Promise((r) => setImmediate(r));
      times.push(performance.now() - started);
    }
    times.sort((x, y) => x - y);
    console.log(
      `invalidateKind → other instance's memory dropped (500 runs, incl. the INCR round trip): ` +
        `p50 ${pct(times, 0.5).toFixed(3)} ms, p99 ${pct(times, 0.99).toFixed(3)} ms, max ${times.at(-1)!.toFixed(3)} ms`,
    );
    for (const n of [5, 20]) {
      for (const lock of [false, true]) {
        const caches = Array.from({ length: n }, () => make(false));
        await Promise.all(caches.map((c) => c.connect()));
        let calls = 0;
        const fn = async () => {
          calls++;
          await sleep(100);
          return 'answer';
        };
        const started = performance.now();
        await Promise.all(caches.map((c) => c.wrap('llm', `q-${n}-${lock}`, fn, { lock })));
        const ms = performance.now() - started;
        console.log(`${n} instances, 100 ms computation, lock ${lock}: ${calls} computations, ${ms.toFixed(0)} ms`);
      }
    }
  } finally {
    await Promise.all(open.map((c) => c.close()));
    await redis.stop();
  }
}

void main();
