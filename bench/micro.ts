/**
 * Micro benchmarks: infercache (default settings; options reused, and written inline) against the floors (raw
 * node-redis cache-aside with msgpackr and with JSON), the uncached function and the peers, on a
 * private redis-server pinned with the benchmark to one CPU. Contenders run round-robin, one batch each per round,
 * in an order that rotates every round; round 0 is a warm-up and is discarded.
 *
 *   npm run bench:micro                      full run (~1.5 min)
 *   BENCH_QUICK=1 npm run bench:micro        a few calls per phase: proves it runs
 *   BENCH_ONLY=infercache npm run bench:micro   contenders whose name contains one of the words (floors always run)
 */
import { startTestRedis } from '../src/testing.js';
import { measured } from './lib/package.js';
import { benchCpus, cpuClock, hasTaskset, machine, pin } from './lib/cpu.js';
import {
  collectYoungGarbage,
  concurrent,
  median,
  pairedRatio,
  sequential,
  sleep,
  summarise,
  type Batch,
} from './lib/measure.js';
import { floor, infercache, jsonFloor, uncached, type Compute, type Contender } from './lib/contenders.js';
import { bentocache, cacheable, cacheManager, typeCacheable } from './lib/peers.js';
import { makeValue, valueSizes } from './lib/value.js';
import { fmt, ratio, table, versions, writeResults } from './lib/report.js';
import { evaluateMicro, type MicroPhase, type PhaseResult, type ResultRow } from './lib/targets.js';
import { CALLS, HIT_KEYS, IN_FLIGHT, QUICK, batchCalls, inflightKey } from './lib/phases.js';

/** The phases measured in rounds of batches (the stampede is counted, not timed per batch). */
type TimedPhase = Exclude<MicroPhase, 'stampede'>;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
/**
 * Runs, each with fresh contenders (clients, connections, caches): within one process an instance can stay a few per
 * cent faster or slower than an identical one for as long as it lives (±8 % measured between five identical caches),
 * which more rounds of the same instances would not average out. Rounds of every run are pooled.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const STAMPEDE_CALLERS = 100;
const STAMPEDE_MS = 50;

async function main(): Promise<void> {
  const started = Date.now();
  const cpus = benchCpus();
  const server = await startTestRedis();
  const pinned = pin(server.pid, cpus.main) && pin(process.pid, cpus.main);
  const pinning = pinned
    ? `redis-server and the benchmark pinned to CPU ${cpus.main} with taskset`
    : hasTaskset
      ? 'taskset refused: not pinned (expect noisy, higher round trips)'
      : 'taskset not found: not pinned (expect noisy, higher round trips)';
  console.log(`infercache micro benchmarks — ${machine()}; measuring ${measured}`);
  console.log(
    `${pinning}; ${RUNS} run(s) with fresh contenders × (${ROUNDS} rounds + 1 warm-up round), order rotating${gcNote()}\n`,
  );

  const value = makeValue();
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim().toLowerCase());
  const factories: Array<[string, () => Promise<Contender>]> = [
    ['floor: msgpackr', () => floor(server.url)],
    ['floor: JSON', () => jsonFloor(server.url)],
    ['uncached function', async () => uncached()],
    ['infercache redis', () => infercache(server.url, { memory: false })],
    ['infercache memory+redis', () => infercache(server.url, { memory: true })],
    ['infercache memory+redis, inline options', () => infercache(server.url, { memory: true, inline: true })],
    ['cache-manager redis', () => cacheManager(server.url)],
    ['cacheable redis', () => cacheable(server.url, false)],
    ['cacheable memory+redis', () => cacheable(server.url, true)],
    ['bentocache redis', () => bentocache(server.url, false)],
    ['bentocache memory+redis', () => bentocache(server.url, true)],
    ['@type-cacheable redis', () => typeCacheable(server.url)],
  ];
  const wanted = factories.filter(
    ([name]) => name.startsWith('floor') || !only || only.some((word) => name.toLowerCase().includes(word)),
  );
  let contenders: Contender[] = [];

  // One compute function per contender, counting its runs: a hit phase that computes is reported, not hidden.
  const computes = wanted.map(() => 0);
  const fns: Compute[] = wanted.map((_, idx) => () => {
    computes[idx]!++;
    return Promise.resolve(value);
  });
  const hitKeys = wanted.map((_, idx) => Array.from({ length: HIT_KEYS }, (_, k) => `h:${idx}:${k}`));

  // Batches after the warm-up round are sized from it (`batchCalls`).
  const rounds = async (
    base: number,
    run: (c: Contender, idx: number, round: number, calls: number) => Promise<Batch>,
  ): Promise<Batch[][]> => {
    const batches = contenders.map((): Batch[] => []);
    const calls = contenders.map(() => base);
    for (let round = 0; round <= ROUNDS; round++) {
      for (let j = 0; j < contenders.length; j++) {
        const idx = (round + j) % contenders.length;
        collectYoungGarbage();
        await sleep(5); // let concurrent sweeping finish before the clock starts
        const cpu = cpuClock(server.pid);
        const batch = await run(contenders[idx]!, idx, round, calls[idx]!);
        batch.cpuMicros = cpu();
        if (round > 0) batches[idx]!.push(batch);
        else calls[idx] = batchCalls(base, batch.wallMs);
      }
    }
    return batches;
  };
  // Batches and computations of every run, pooled by phase and contender.
  const pooled = {
    hit: wanted.map((): Batch[] => []),
    miss: wanted.map((): Batch[] => []),
    inflight: wanted.map((): Batch[] => []),
  };
  const computed = { hit: wanted.map(() => 0), miss: wanted.map(() => 0), inflight: wanted.map(() => 0) };
  const measure = async (phase: TimedPhase, batches: () => Promise<Batch[][]>): Promise<void> => {
    computes.fill(0);
    (await batches()).forEach((b, idx) => pooled[phase][idx]!.push(...b));
    computes.forEach((n, idx) => (computed[phase][idx]! += n));
  };
  const phaseResult = (phase: TimedPhase): PhaseResult => ({
    phase,
    rows: contenders.map((c, idx) => ({
      name: c.name,
      role: c.role,
      tier: c.tier,
      codec: c.codec,
      inline: c.inline,
      ...summarise(pooled[phase][idx]!),
      computes: computed[phase][idx]!,
    })),
  });

  for (let run = 0; run < RUNS; run++) {
    if (run > 0) await closeAll(contenders);
    contenders = await Promise.all(wanted.map(([, make]) => make()));
    // Prime the hit keys (twice: the second pass fills memory tiers that fill on read), then let writes land.
    for (let pass = 0; pass < 2; pass++) {
      await Promise.all(
        contenders.map(async (c, idx) => {
          for (const key of hitKeys[idx]!) await c.get(key, fns[idx]!);
        }),
      );
      await sleep(100);
    }
    await measure('hit', () =>
      rounds(CALLS.hit, (c, idx, _round, calls) =>
        sequential((i) => c.get(hitKeys[idx]![i % HIT_KEYS]!, fns[idx]!), calls),
      ),
    );
    await measure('miss', () =>
      rounds(CALLS.miss, (c, idx, round, calls) =>
        sequential((i) => c.get(`m:${idx}:${run}:${round}:${i}`, fns[idx]!), calls),
      ),
    );
    await measure('inflight', () =>
      rounds(CALLS.inflight, (c, idx, round, calls) =>
        concurrent((i) => c.get(hitKeys[idx]![inflightKey(i, round)]!, fns[idx]!), calls, IN_FLIGHT),
      ),
    );
  }
  const results: PhaseResult[] = [phaseResult('hit'), phaseResult('miss'), phaseResult('inflight')];

  // Stampede: 100 callers at once on a cold key whose computation takes 50 ms; count the computations.
  const runs = contenders.map((): number[] => []);
  const walls = contenders.map((): number[] => []);
  const stampedeRounds = QUICK ? 1 : 3;
  for (let round = 0; round <= stampedeRounds; round++) {
    for (let j = 0; j < contenders.length; j++) {
      const idx = (round + j) % contenders.length;
      const c = contenders[idx]!;
      let count = 0;
      const slow = async () => {
        count++;
        await sleep(STAMPEDE_MS);
        return value;
      };
      const t = performance.now();
      await Promise.all(Array.from({ length: STAMPEDE_CALLERS }, () => c.get(`s:${idx}:${round}`, slow)));
      if (round > 0) {
        runs[idx]!.push(count);
        walls[idx]!.push(performance.now() - t);
      }
    }
  }
  results.push({
    phase: 'stampede',
    rows: contenders.map((c, idx) => ({
      name: c.name,
      role: c.role,
      tier: c.tier,
      codec: c.codec,
      inline: c.inline,
      median: median(walls[idx]!) * 1000,
      p99: Math.max(...walls[idx]!) * 1000,
      opsPerSec: NaN,
      samples: runs[idx]!.length,
      cpuPerOp: NaN,
      computes: Math.max(...runs[idx]!),
    })),
  });

  await closeAll(contenders);
  await server.stop();

  const targets = evaluateMicro(results);
  printResults(results, value);
  console.log('\nTargets');
  for (const t of targets) console.log(`  ${t.met ? 'met ' : 'MISS'}  ${t.name}: ${t.detail}`);
  const stray = results.filter((r) => r.phase === 'hit' || r.phase === 'inflight').flatMap((r) => r.rows);
  for (const row of stray.filter((r) => r.role !== 'reference' && r.computes > 0)) {
    console.log(`  warning: ${row.name} computed ${row.computes} time(s) during a hit phase (timeouts? see fn runs)`);
  }
  const file = writeResults('micro', {
    kind: 'micro',
    date: new Date().toISOString(),
    machine: machine(),
    measured,
    pinning,
    command: 'npm run bench:micro',
    rounds: ROUNDS,
    runs: RUNS,
    calls: { ...CALLS, inFlight: IN_FLIGHT, hitKeys: HIT_KEYS, stampedeCallers: STAMPEDE_CALLERS },
    valueBytes: valueSizes(value),
    versions: versions([
      'redis',
      'cache-manager',
      'keyv',
      '@keyv/redis',
      'cacheable',
      'bentocache',
      'ioredis',
      '@type-cacheable/core',
    ]),
    contenders: contenders.map((c) => ({ name: c.name, role: c.role, tier: c.tier, note: c.note })),
    results,
    targets,
    seconds: (Date.now() - started) / 1000,
  });
  console.log(`\nwrote ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

const TITLES: Record<MicroPhase, string> = {
  hit: `Sequential hit (~1 KB value, ${HIT_KEYS} keys)`,
  miss: 'Sequential miss (fn returns at once; floors = GET + SET)',
  inflight: `${IN_FLIGHT} calls in flight over ${HIT_KEYS} keys (hits)`,
  stampede: `Stampede: ${STAMPEDE_CALLERS} callers on a cold key, fn takes ${STAMPEDE_MS} ms`,
};

function printResults(results: PhaseResult[], value: unknown): void {
  const sizes = valueSizes(value);
  console.log(`value: ${sizes.msgpack} B msgpack, ${sizes.json} B JSON; latencies in µs`);
  for (const r of results) {
    console.log(`\n${TITLES[r.phase]}`);
    if (r.phase === 'stampede') {
      const rows = r.rows.map((row) => ({
        name: row.name,
        cells: [`${row.computes}`, fmt(row.median / 1000, ' ms'), fmt(row.p99 / 1000, ' ms')],
      }));
      console.log(table(['contender', 'runs / 100 callers (max)', 'wall (median)', 'wall (max)'], rows));
      continue;
    }
    // Ratios to each floor, paired round by round (median over rounds): latency, or for 64 in flight the rate.
    const ops = r.phase === 'inflight';
    const floors = r.rows.filter((row) => row.role === 'floor');
    const rows = r.rows.map((row) => ({
      name: row.name,
      cells: [
        fmt(row.median),
        fmt(row.p99),
        fmt(row.opsPerSec),
        ...floors.map((f) => ratio(pairedOf(row, f, ops))),
        fmt(row.cpuPerOp),
        ...(r.phase === 'miss' ? [] : [String(row.computes)]),
      ],
    }));
    const per = ops ? 'ops/s' : 'median';
    const headers = [
      'contender',
      'median µs',
      'p99 µs',
      'ops/s',
      ...floors.map((f) => `× ${f.codec} floor (${per})`),
      'CPU µs/op',
    ];
    console.log(table(r.phase === 'miss' ? headers : [...headers, 'fn runs'], rows));
  }
  console.log('\n(× floor: the median over rounds of the ratio within each round, contenders interleaved)');
}

/** `row` to floor `f`, paired round by round: median latency, or with `ops` the rate. */
function pairedOf(row: ResultRow, f: ResultRow, ops: boolean): number {
  const pick = (r: ResultRow) => (ops ? r.perRound?.opsPerSec : r.perRound?.median) ?? [];
  return pairedRatio(pick(row), pick(f)).median;
}

/** Closes every contender, giving each at most 2 s. */
async function closeAll(contenders: Contender[]): Promise<void> {
  await Promise.all(contenders.map((c) => Promise.race([c.close().catch(() => {}), sleep(2000)])));
}

function gcNote(): string {
  return typeof (globalThis as { gc?: unknown }).gc === 'function'
    ? '; young-generation GC forced between batches'
    : '';
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
