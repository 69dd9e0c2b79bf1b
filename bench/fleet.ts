/**
 * Cost of the fleet statistics per instance: calls per second of `wrap` with `fleet` off and on (writing every
 * second, hot keys sampled 1 in 8), in the same run, the two caches taking turns batch by batch (order alternating),
 * on a private redis-server pinned with the benchmark to one CPU. `npm run bench:fleet`.
 */
import { createCache, type Cache } from '../src/index.js';
import { startTestRedis } from '../src/testing.js';
import { benchCpus, cpuClock, machine, pin } from './lib/cpu.js';
import { concurrent, median, sequential, type Batch } from './lib/measure.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 16);
const BATCH = Number(process.env.BENCH_BATCH ?? 20000);
const KEYS = 100;

interface Phase {
  name: string;
  run(cache: Cache, offset: number): Promise<Batch>;
}

const value = { price: 123.45, model: 'v2', at: new Date(0) };
const compute = async () => value;
/** Entry options are memoised per object: one object per call site, as decorators and routes do. */
const inMemory = { memory: true };
const inRedis = {};
const phases: Phase[] = [
  {
    name: 'memory hit, sequential',
    run: (cache, offset) => sequential((i) => cache.wrap('m', i % KEYS, compute, inMemory), BATCH, offset),
  },
  {
    name: 'Redis hit, sequential',
    run: (cache, offset) => sequential((i) => cache.wrap('r', i % KEYS, compute, inRedis), BATCH, offset),
  },
  {
    name: 'Redis hit, 64 in flight',
    run: (cache, offset) => concurrent((i) => cache.wrap('r', i % KEYS, compute, inRedis), BATCH, 64, offset),
  },
];

async function main(): Promise<void> {
  const server = await startTestRedis();
  const cpus = benchCpus();
  const pinned = pin(server.pid, cpus.main) && pin(process.pid, cpus.main);
  console.log(`fleet statistics cost — ${machine()}; ${pinned ? `pinned to CPU ${cpus.main}` : 'not pinned'}`);
  console.log(`${ROUNDS} rounds of ${BATCH} calls per contender and phase, alternating order\n`);
  const base = { redis: { url: server.url }, setDefault: false, logger: false as const, telemetry: { enabled: false } };
  const off = createCache({ ...base, namespace: 'bench-off', fleet: false });
  const on = createCache({ ...base, namespace: 'bench-on', fleet: { interval: '1s' } });
  await Promise.all([off.connect(), on.connect()]);
  const contenders: Array<[string, Cache]> = [
    ['fleet off', off],
    ['fleet on', on],
  ];
  const rows: string[] = [];
  for (const phase of phases) {
    const rates = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
    const cpu = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
    for (let round = -1; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? contenders : [...contenders].reverse();
      for (const [name, cache] of order) {
        const clock = cpuClock(server.pid);
        const batch = await phase.run(cache, round * BATCH);
        const micros = clock();
        if (round >= 0) rates.get(name)!.push((batch.ops / batch.wallMs) * 1000);
        if (round >= 0) cpu.get(name)!.push(micros / batch.ops);
      }
    }
    const offRate = median(rates.get('fleet off')!);
    const onRate = median(rates.get('fleet on')!);
    const offCpu = median(cpu.get('fleet off')!);
    const onCpu = median(cpu.get('fleet on')!);
    rows.push(
      `| ${phase.name} | ${Math.round(offRate)} | ${Math.round(onRate)} | ${(((onRate - offRate) / offRate) * 100).toFixed(1)}% | ${offCpu.toFixed(2)} | ${onCpu.toFixed(2)} |`,
    );
  }
  const flushes = (await on.fleetStats({ window: '10m' })).instances;
  console.log('| phase | calls/s, fleet off | calls/s, fleet on | difference | CPU µs/call, off | CPU µs/call, on |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  console.log(`\n(fleet on: ${flushes} instance seen in fleetStats; medians over ${ROUNDS} batches)`);
  await Promise.all([off.close(), on.close()]);
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
