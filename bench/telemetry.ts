/**
 * The cost of telemetry on the hit path, as ratios measured in one run. Three caches on the same private Redis:
 *   off     `telemetry: { enabled: false }` (no instrumentation at all: the baseline)
 *   no-sdk  the default, with no OpenTelemetry SDK registered (what every user without an SDK pays)
 *   sdk     tracer and meter providers of the 2.x SDK (spans sampled, batched to a discarding exporter; metrics
 *           aggregated by a reader), passed through the `telemetry` option
 * for a memory-tier hit and a Redis hit. Contenders run round-robin, one batch each per round, order rotating;
 * round 0 is a warm-up. redis-server and the benchmark are pinned to one CPU with taskset when it is there.
 *
 *   npx tsx bench/telemetry.ts                 full run (~20 s)
 *   BENCH_QUICK=1 npx tsx bench/telemetry.ts   a few calls: proves it runs
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createCache, type Cache } from '../src/index.js';
import { startTestRedis } from '../src/testing.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 2 : 12;
const CALLS = QUICK ? 200 : 20_000;
const KEYS = 64;

class IdleReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const discard: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};

function pin(pid: number | undefined, cpu: number): boolean {
  if (pid === undefined) return false;
  const r = spawnSync('taskset', ['-pc', String(cpu), String(pid)], { stdio: 'ignore' });
  return r.status === 0;
}

async function batch(cache: Cache, memory: boolean, n: number): Promise<number> {
  const options = { memory };
  const fn = async () => ({ price: 412_000, currency: 'EUR' });
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await cache.wrap('price', `k${i % KEYS}`, fn, options);
  return Number(process.hrtime.bigint() - started) / n;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const server = await startTestRedis();
  const pinned = pin(server.pid, 0) && pin(process.pid, 0);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()); // as NodeSDK does
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard)] });
  const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
  const base = { redis: { url: server.url }, logger: false as const, setDefault: false };
  const caches: Record<string, Cache> = {
    off: createCache({ ...base, telemetry: { enabled: false } }),
    'no-sdk': createCache(base),
    sdk: createCache({ ...base, telemetry: { tracerProvider, meterProvider } }),
  };
  await Promise.all(Object.values(caches).map((c) => c.connect()));
  const names = Object.keys(caches);
  console.log(`infercache telemetry overhead — ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log(`${pinned ? 'pinned to CPU 0 with taskset' : 'not pinned'}; ${ROUNDS} rounds × ${CALLS} calls\n`);
  for (const [phase, memory] of [
    ['memory hit', true],
    ['redis hit', false],
  ] as const) {
    for (const c of Object.values(caches)) await batch(c, memory, KEYS); // fill
    const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let round = 0; round <= ROUNDS; round++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(round + j) % names.length]!;
        const ns = await batch(caches[name]!, memory, memory ? CALLS : Math.ceil(CALLS / 10));
        if (round > 0) perRound[name]!.push(ns);
      }
    }
    const off = median(perRound.off!);
    const row = (n: string) => {
      const m = median(perRound[n]!);
      return `${n.padEnd(7)} ${(m / 1000).toFixed(2).padStart(8)} µs/call  ×${(m / off).toFixed(3)} vs off`;
    };
    console.log(`${phase}:`);
    for (const n of names) console.log(`  ${row(n)}`);
    const sdkOverNoSdk = median(perRound.sdk!) / median(perRound['no-sdk']!);
    console.log(`  SDK registered vs no SDK: ×${sdkOverNoSdk.toFixed(3)}`);
  }
  await Promise.all(Object.values(caches).map((c) => c.close()));
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
