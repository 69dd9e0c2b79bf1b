/**
 * The Redis-tier phases of the micro benchmark (sequential hit, sequential miss, 64 calls in flight) with each
 * contender alone in its own process: infercache redis and the two floors. In `bench:micro` the contenders share one
 * process, and with it the JIT state of the modules they share (node-redis above all) and a heap holding every
 * other contender's data; there infercache's 64-in-flight throughput fell by 0.1–0.15 of the floors' as peers were
 * added to the process, which a user's app, holding one cache library, does not see. Here one worker process per
 * contender, pinned with redis-server to one CPU, runs one batch at a time when told to (the others wait on IPC),
 * in an order rotating every round, so drift still spreads over all of them.
 *
 *   npm run bench:isolated                 full run (~1 min)
 *   BENCH_QUICK=1 npm run bench:isolated   a few calls per phase: proves it runs
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestRedis } from '../src/testing.js';
import { measured } from './lib/package.js';
import { benchCpus, cpuClock, machine, pin } from './lib/cpu.js';
import {
  collectYoungGarbage,
  concurrent,
  pairedRatio,
  sequential,
  sleep,
  summarise,
  type Batch,
} from './lib/measure.js';
import { floor, infercache, jsonFloor, type Contender } from './lib/contenders.js';
import { makeValue } from './lib/value.js';
import { fmt, ratio, table, writeResults } from './lib/report.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const scaled = (n: number) => (QUICK ? Math.max(8, Math.round(n / 50)) : n);
const CALLS = { hit: scaled(2000), miss: scaled(500), inflight: scaled(4096) };
const BATCH_MS = QUICK ? 1 : 40;
const HIT_KEYS = 256;
const IN_FLIGHT = 64;
const NAMES = ['floor: node-redis GET+msgpackr', 'floor: node-redis GET+JSON', 'infercache redis'] as const;
type Phase = keyof typeof CALLS;
const PHASES: Phase[] = ['hit', 'miss', 'inflight'];

/** What the main process asks a worker for: one batch. */
interface Order {
  phase: Phase;
  round: number;
  run: number;
  calls: number;
}

/** A worker: builds its one contender, primes its hit keys, then runs the batches it is sent. */
async function worker(): Promise<void> {
  const [idx, url, redisPid] = [Number(process.env.BENCH_WORKER), process.env.BENCH_URL!, process.env.BENCH_REDIS_PID];
  const makers = [() => floor(url), () => jsonFloor(url), () => infercache(url, { memory: false })];
  const contender: Contender = await makers[idx]!();
  const value = makeValue();
  let computes = 0;
  const fn = () => {
    computes++;
    return Promise.resolve(value);
  };
  const hitKeys = Array.from({ length: HIT_KEYS }, (_, k) => `i:${idx}:${k}`);
  for (const key of hitKeys) await contender.get(key, fn);
  // A fresh process compiles everything anew: warm each path up (JIT tiers, connection buffers) before round 0.
  const warm = QUICK ? 8 : 5000;
  await sequential((i) => contender.get(hitKeys[i % HIT_KEYS]!, fn), warm);
  await sequential((i) => contender.get(`iw:${idx}:${i}`, fn), warm / 5);
  await concurrent((i) => contender.get(hitKeys[(i * 37) % HIT_KEYS]!, fn), warm, IN_FLIGHT);
  await sleep(100); // writes land
  process.on('message', (message: Order | 'close') => {
    if (message === 'close') {
      void contender.close().finally(() => process.exit(0));
      return;
    }
    void (async () => {
      const { phase, round, run, calls } = message;
      computes = 0;
      collectYoungGarbage();
      await sleep(5);
      const cpu = cpuClock(redisPid === undefined ? undefined : Number(redisPid));
      const get = (key: string) => contender.get(key, fn);
      const batch: Batch =
        phase === 'hit'
          ? await sequential((i) => get(hitKeys[i % HIT_KEYS]!), calls)
          : phase === 'miss'
            ? await sequential((i) => get(`im:${idx}:${run}:${round}:${i}`), calls)
            : await concurrent((i) => get(hitKeys[((i + round * IN_FLIGHT) * 37) % HIT_KEYS]!), calls, IN_FLIGHT);
      batch.cpuMicros = cpu();
      process.send!({ batch, computes });
    })();
  });
  process.send!('ready');
}

/** Sends an order to a worker and waits for its batch. */
function order(child: ChildProcess, what: Order): Promise<{ batch: Batch; computes: number }> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`a benchmark worker exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (reply) => {
      child.off('exit', onExit);
      resolve(reply as { batch: Batch; computes: number });
    });
    child.send(what);
  });
}

/** Starts one worker per contender, pinned to `cpu`; resolves once each has primed its keys. */
async function startWorkers(url: string, redisPid: number | undefined, cpu: number): Promise<ChildProcess[]> {
  const file = fileURLToPath(import.meta.url);
  return Promise.all(
    NAMES.map(async (_, idx) => {
      const env = { ...process.env, BENCH_WORKER: String(idx), BENCH_URL: url, BENCH_REDIS_PID: String(redisPid) };
      const child = fork(file, [], { env, execArgv: process.execArgv, serialization: 'advanced' });
      pin(child.pid, cpu);
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`a benchmark worker exited before it was ready (${code})`)));
      });
      return child;
    }),
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  const cpu = benchCpus().main;
  const server = await startTestRedis();
  const pinned = pin(server.pid, cpu) && pin(process.pid, cpu);
  console.log(`infercache isolated benchmark — ${machine()}; measuring ${measured}`);
  console.log(
    `one process per contender${pinned ? `, pinned with redis-server to CPU ${cpu}` : ' (not pinned)'}; ` +
      `${RUNS} run(s) with fresh processes × (${ROUNDS} rounds + 1 warm-up round), order rotating\n`,
  );
  const pooled = Object.fromEntries(PHASES.map((p) => [p, NAMES.map((): Batch[] => [])])) as Record<Phase, Batch[][]>;
  const computed = Object.fromEntries(PHASES.map((p) => [p, NAMES.map(() => 0)])) as Record<Phase, number[]>;
  for (let run = 0; run < RUNS; run++) {
    const workers = await startWorkers(server.url, server.pid, cpu);
    for (const phase of PHASES) {
      const calls = NAMES.map(() => CALLS[phase]);
      for (let round = 0; round <= ROUNDS; round++) {
        for (let j = 0; j < workers.length; j++) {
          const idx = (round + j) % workers.length;
          const { batch, computes } = await order(workers[idx]!, { phase, round, run, calls: calls[idx]! });
          if (round === 0) {
            const base = CALLS[phase];
            calls[idx] = Math.min(base * 100, Math.max(base, Math.ceil((BATCH_MS * base) / batch.wallMs)));
          } else {
            pooled[phase][idx]!.push(batch);
            computed[phase][idx]! += computes;
          }
        }
      }
    }
    for (const child of workers) child.send('close');
    await Promise.all(workers.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  }
  await server.stop();

  const results = PHASES.map((phase) => {
    const rows = NAMES.map((name, idx) => ({
      name,
      ...summarise(pooled[phase][idx]!),
      computes: computed[phase][idx]!,
    }));
    const paired = (idx: number, floorIdx: number) => {
      const metric = phase === 'inflight' ? 'opsPerSec' : 'median';
      return pairedRatio(rows[idx]!.perRound![metric], rows[floorIdx]!.perRound![metric]);
    };
    return { phase, rows, vsMsgpackr: paired(2, 0), vsJson: paired(2, 1) };
  });
  for (const r of results) {
    console.log(r.phase === 'inflight' ? `${IN_FLIGHT} calls in flight (ops/s)` : `Sequential ${r.phase} (µs)`);
    console.log(
      table(
        ['contender', 'median µs', 'p99 µs', 'ops/s', 'CPU µs/op', 'fn runs'],
        r.rows.map((row) => ({
          name: row.name,
          cells: [fmt(row.median), fmt(row.p99), fmt(row.opsPerSec), fmt(row.cpuPerOp), String(row.computes)],
        })),
      ),
    );
    console.log('');
  }
  const span = (p: { median: number; min: number; max: number }) =>
    `${ratio(p.median)} (${ratio(p.min)}–${ratio(p.max)} over rounds)`;
  const [hit, miss, inflight] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0]];
  const targets = [
    {
      name: 'Redis-tier hit ≤ 1.10× both floors',
      met: hit.vsMsgpackr.median <= 1.1 && hit.vsJson.median <= 1.1,
      detail: `${span(hit.vsMsgpackr)} the msgpackr floor, ${span(hit.vsJson)} the JSON floor`,
    },
    {
      name: 'Miss ≤ 1.15× each floor’s GET + SET',
      met: miss.vsMsgpackr.median <= 1.15 && miss.vsJson.median <= 1.15,
      detail: `${span(miss.vsMsgpackr)} the msgpackr floor, ${span(miss.vsJson)} the JSON floor`,
    },
    {
      name: '64 in flight ≥ 1.0× the floors’ ops/s',
      met: inflight.vsMsgpackr.median >= 1 && inflight.vsJson.median >= 1,
      detail: `${span(inflight.vsMsgpackr)} the msgpackr floor, ${span(inflight.vsJson)} the JSON floor`,
    },
  ];
  console.log('Targets (issue #13), infercache redis with each contender alone in its process');
  for (const t of targets) console.log(`  ${t.met ? 'met ' : 'MISS'}  ${t.name}: ${t.detail}`);
  const strays = results.filter((r) => r.phase !== 'miss').flatMap((r) => r.rows.filter((row) => row.computes > 0));
  for (const row of strays) console.log(`  warning: ${row.name} computed ${row.computes} time(s) during a hit phase`);
  const file = writeResults('isolated', {
    kind: 'isolated',
    date: new Date().toISOString(),
    machine: machine(),
    measured,
    command: 'npm run bench:isolated',
    rounds: ROUNDS,
    runs: RUNS,
    calls: { ...CALLS, inFlight: IN_FLIGHT, hitKeys: HIT_KEYS },
    results,
    targets,
    seconds: (Date.now() - started) / 1000,
  });
  console.log(`\nwrote ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

(process.env.BENCH_WORKER === undefined ? main() : worker()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
