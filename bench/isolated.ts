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
import { collectYoungGarbage, concurrent, sequential, sleep, summarise, type Batch } from './lib/measure.js';
import { floor, infercache, jsonFloor, type Contender } from './lib/contenders.js';
import { makeValue } from './lib/value.js';
import { fmt, table, writeResults } from './lib/report.js';
import { evaluateMicro, type PhaseResult } from './lib/targets.js';
import { CALLS, HIT_KEYS, IN_FLIGHT, QUICK, batchCalls, inflightKey } from './lib/phases.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
/** The contenders, one worker each (a worker is told its index). */
const MAKERS: Array<(url: string) => Promise<Contender>> = [
  floor,
  jsonFloor,
  (url) => infercache(url, { memory: false }),
];
type Phase = keyof typeof CALLS;
const PHASES: Phase[] = ['hit', 'miss', 'inflight'];

/** What a worker says once ready: its contender, as the results name it. */
type Described = Pick<Contender, 'name' | 'role' | 'tier' | 'codec'>;

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
  const contender = await MAKERS[idx]!(url);
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
  await concurrent((i) => contender.get(hitKeys[inflightKey(i, 0)]!, fn), warm, IN_FLIGHT);
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
            : await concurrent((i) => get(hitKeys[inflightKey(i, round)]!), calls, IN_FLIGHT);
      batch.cpuMicros = cpu();
      process.send!({ batch, computes });
    })();
  });
  const { name, role, tier, codec } = contender;
  process.send!({ name, role, tier, codec } satisfies Described);
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

/** Starts one worker per contender, pinned to `cpu`; resolves once each has primed its keys and said what it runs. */
async function startWorkers(
  url: string,
  redisPid: number | undefined,
  cpu: number,
): Promise<Array<{ child: ChildProcess; contender: Described }>> {
  const file = fileURLToPath(import.meta.url);
  return Promise.all(
    MAKERS.map(async (_, idx) => {
      const env = { ...process.env, BENCH_WORKER: String(idx), BENCH_URL: url, BENCH_REDIS_PID: String(redisPid) };
      const child = fork(file, [], { env, execArgv: process.execArgv, serialization: 'advanced' });
      pin(child.pid, cpu);
      const contender = await new Promise<Described>((resolve, reject) => {
        child.once('message', (ready) => resolve(ready as Described));
        child.once('exit', (code) => reject(new Error(`a benchmark worker exited before it was ready (${code})`)));
      });
      return { child, contender };
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
  const pooled = Object.fromEntries(PHASES.map((p) => [p, MAKERS.map((): Batch[] => [])])) as Record<Phase, Batch[][]>;
  const computed = Object.fromEntries(PHASES.map((p) => [p, MAKERS.map(() => 0)])) as Record<Phase, number[]>;
  let contenders: Described[] = [];
  for (let run = 0; run < RUNS; run++) {
    const workers = await startWorkers(server.url, server.pid, cpu);
    contenders = workers.map((w) => w.contender);
    for (const phase of PHASES) {
      const calls = MAKERS.map(() => CALLS[phase]);
      for (let round = 0; round <= ROUNDS; round++) {
        for (let j = 0; j < workers.length; j++) {
          const idx = (round + j) % workers.length;
          const { batch, computes } = await order(workers[idx]!.child, { phase, round, run, calls: calls[idx]! });
          if (round === 0) calls[idx] = batchCalls(CALLS[phase], batch.wallMs);
          else {
            pooled[phase][idx]!.push(batch);
            computed[phase][idx]! += computes;
          }
        }
      }
    }
    for (const { child } of workers) child.send('close');
    await Promise.all(workers.map(({ child }) => new Promise((resolve) => child.once('exit', resolve))));
  }
  await server.stop();

  const results: PhaseResult[] = PHASES.map((phase) => ({
    phase,
    rows: contenders.map((c, idx) => ({ ...c, ...summarise(pooled[phase][idx]!), computes: computed[phase][idx]! })),
  }));
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
  const targets = evaluateMicro(results);
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
