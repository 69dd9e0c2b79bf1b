/**
 * Probabilistic early refresh (XFetch) under load: one hot key, computed in `COMPUTE_MS`, read by `CALLERS` callers
 * every `PERIOD_MS` for `SECONDS` across several expiries of its TTL, once without and once with `earlyRefresh`.
 * Counts the calls that had to wait for a computation (misses, joined ones included), the computations, and the
 * slowest call. Not run in CI.
 *
 *   node --import tsx bench/xfetch.ts
 *   XFETCH_SECONDS=3 XFETCH_TTL=0.5 node --import tsx bench/xfetch.ts
 */
import { startTestRedis } from '../src/testing.js';
import { createCache, type EntryOptions } from '../src/index.js';
import { machine } from './lib/cpu.js';

const SECONDS = Number(process.env.XFETCH_SECONDS ?? 6);
const TTL = Number(process.env.XFETCH_TTL ?? 1); // seconds
const COMPUTE_MS = Number(process.env.XFETCH_COMPUTE_MS ?? 100);
const CALLERS = Number(process.env.XFETCH_CALLERS ?? 32);
const PERIOD_MS = Number(process.env.XFETCH_PERIOD_MS ?? 5);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Run {
  label: string;
  calls: number;
  misses: number;
  computations: number;
  earlyRefreshes: number;
  slowestMs: number;
}

async function run(url: string, label: string, options: EntryOptions<number>): Promise<Run> {
  const cache = createCache({ redis: { url }, namespace: `xfetch-${label}`, setDefault: false, logger: false });
  await cache.connect();
  let computations = 0;
  const compute = async () => {
    computations++;
    await sleep(COMPUTE_MS);
    return computations;
  };
  const opts = { ttl: TTL, ...options };
  await cache.wrap('hot', 'key', compute, opts); // the first computation is not counted as a miss under load
  cache.resetStats();
  computations = 0;
  const end = performance.now() + SECONDS * 1000;
  let slowest = 0;
  const caller = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      await cache.wrap('hot', 'key', compute, opts);
      slowest = Math.max(slowest, performance.now() - started);
      await sleep(PERIOD_MS);
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  await sleep(COMPUTE_MS * 2); // a refresh still running lands
  const s = cache.stats().kinds.hot!;
  await cache.close();
  return {
    label,
    calls: s.total,
    misses: s.misses,
    computations,
    earlyRefreshes: s.earlyRefreshes,
    slowestMs: Math.round(slowest),
  };
}

async function main(): Promise<void> {
  const server = await startTestRedis();
  try {
    console.log(`infercache XFetch benchmark — ${machine()}`);
    console.log(
      `one hot key, ttl ${TTL}s, computation ${COMPUTE_MS} ms, ${CALLERS} callers every ${PERIOD_MS} ms, ${SECONDS}s\n`,
    );
    const rows = [
      await run(server.url, 'plain', {}),
      await run(server.url, 'early', { earlyRefresh: true }),
      await run(server.url, 'early-memory', { earlyRefresh: true, memory: true }),
    ];
    console.table(rows);
  } finally {
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
