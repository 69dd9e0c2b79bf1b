/**
 * HTTP benchmarks with autocannon: Fastify and Express, a bare route, a route doing a raw Redis GET, and the same
 * route cached by infercache (memory tier and Redis tier, hit and miss). The servers run in their own processes,
 * pinned with redis-server to one CPU; autocannon runs here, pinned to the other. Every (framework, route) pair
 * runs once per round, a framework's routes one after another in an order that rotates every round; round 0 is a
 * short warm-up and is discarded. The target's ratio comes from the Fastify bare and memory-tier routes run back to
 * back, in turn first, PAIRS times.
 *
 *   npm run bench:http                     full run (~2.5 min)
 *   BENCH_QUICK=1 npm run bench:http       one short round: proves it runs
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { startTestRedis } from '../src/testing.js';
import { measured } from './lib/package.js';
import { benchCpus, cpuCount, hasTaskset, machine, pin } from './lib/cpu.js';
import { median, pairedRatio, sleep } from './lib/measure.js';
import { fmt, ratio, table, versions, writeResults } from './lib/report.js';
import { HTTP_IDS } from './lib/value.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? (QUICK ? 1 : 5));
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? (QUICK ? 1 : 1.5));
const WARMUP_SECONDS = 1;
/** Back-to-back pairs of the Fastify bare and memory-tier routes, and seconds per run, for the target's ratio. */
const PAIRS = Number(process.env.BENCH_HTTP_PAIRS ?? (QUICK ? 1 : 10));
const PAIR_SECONDS = QUICK ? 0.5 : 1;
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 32);

type Framework = 'fastify' | 'express';
type RouteId = 'bare' | 'redis' | 'cached-memory' | 'cached-redis' | 'cached-miss';

const ROUTES: Array<{ id: RouteId; label: string; path: (n: number, round: number) => string; expect?: string }> = [
  { id: 'bare', label: 'bare route (no cache)', path: (n) => `/bare/${n % HTTP_IDS}` },
  { id: 'redis', label: 'raw node-redis GET + decode', path: (n) => `/redis/${n % HTTP_IDS}` },
  {
    id: 'cached-memory',
    label: 'infercache hit, memory tier',
    path: (n) => `/cached/memory/${n % HTTP_IDS}`,
    expect: 'HIT',
  },
  {
    id: 'cached-redis',
    label: 'infercache hit, Redis tier',
    path: (n) => `/cached/redis/${n % HTTP_IDS}`,
    expect: 'HIT',
  },
  { id: 'cached-miss', label: 'infercache miss (new id each time)', path: (n, r) => `/cached/miss/r${r}-${n}` },
];

interface Cell {
  framework: Framework;
  route: RouteId;
  reqPerSec: number[];
  mean: number[];
  p99: number[];
  errors: number;
  non2xx: number;
}

async function startServer(framework: Framework, url: string, cpu: number): Promise<{ port: number; stop(): void }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/http-server.ts', framework, url], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${framework} server exited with ${code}`)));
  });
  pin(child.pid, cpu);
  const { port } = JSON.parse(line) as { port: number };
  return { port, stop: () => child.stdin?.end() };
}

async function load(port: number, route: (typeof ROUTES)[number], seconds: number, round: number) {
  let n = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      { method: 'GET', path: route.path(0, round), setupRequest: (req) => ({ ...req, path: route.path(n++, round) }) },
    ],
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const cpus = benchCpus();
  const server = await startTestRedis();
  const pinned = pin(server.pid, cpus.main) && pin(process.pid, cpus.load);
  const pinning = !pinned
    ? `${hasTaskset ? 'taskset refused' : 'taskset not found'}: not pinned`
    : cpuCount > 1
      ? `redis-server and the HTTP servers pinned to CPU ${cpus.main}, autocannon to CPU ${cpus.load} (taskset)`
      : `everything pinned to CPU ${cpus.main} (one CPU: the load generator competes with the server)`;
  console.log(`infercache HTTP benchmarks — ${machine()}; measuring ${measured}`);
  console.log(
    `${pinning}; autocannon ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds + 1 warm-up round, order rotating\n`,
  );

  const frameworks: Framework[] = ['fastify', 'express'];
  const servers = await Promise.all(frameworks.map((f) => startServer(f, server.url, cpus.main)));
  const ports = Object.fromEntries(frameworks.map((f, i) => [f, servers[i]!.port])) as Record<Framework, number>;

  // Fill the hit routes (each id once), then check each route answers as expected.
  const warnings: string[] = [];
  const get = (framework: Framework, path: string) =>
    fetch(`http://127.0.0.1:${ports[framework]}${path}`).then((response) => response.arrayBuffer());
  for (const framework of frameworks) {
    for (const route of ROUTES.filter((r) => r.expect)) {
      for (let n = 0; n < HTTP_IDS; n += 16) {
        await Promise.all(Array.from({ length: 16 }, (_, k) => get(framework, route.path(n + k, 0))));
      }
    }
  }
  await sleep(100);
  for (const framework of frameworks) {
    for (const route of ROUTES) {
      const response = await fetch(`http://127.0.0.1:${ports[framework]}${route.path(1, -1)}`);
      await response.arrayBuffer();
      const xCache = response.headers.get('x-cache');
      const expected = route.expect ?? (route.id === 'cached-miss' ? 'MISS' : null);
      if (response.status !== 200 || xCache !== expected) {
        warnings.push(`${framework} ${route.id}: status ${response.status}, X-Cache ${xCache} (expected ${expected})`);
      }
    }
  }

  const cells: Cell[] = frameworks.flatMap((framework) =>
    ROUTES.map((r) => ({ framework, route: r.id, reqPerSec: [], mean: [], p99: [], errors: 0, non2xx: 0 })),
  );
  // A framework's routes run one after another (so the ratios to its bare route pair runs seconds apart, not a
  // whole round apart), in an order rotating every round; the frameworks take turns going first.
  const perFramework = ROUTES.length;
  for (let round = 0; round <= ROUNDS; round++) {
    for (let j = 0; j < cells.length; j++) {
      const block = (Math.floor(j / perFramework) + round) % frameworks.length;
      const cell = cells[block * perFramework + ((j + round) % perFramework)]!;
      const route = ROUTES.find((r) => r.id === cell.route)!;
      const result = await load(ports[cell.framework], route, round === 0 ? WARMUP_SECONDS : SECONDS, round);
      if (round === 0) continue;
      cell.reqPerSec.push(result['2xx'] / result.duration);
      cell.mean.push(result.latency.mean);
      cell.p99.push(result.latency.p99);
      cell.errors += result.errors;
      cell.non2xx += result.non2xx;
    }
  }
  // The target's ratio: the Fastify bare and memory-tier routes back to back, in turn first, PAIRS times. On a shared
  // VM whose speed swings 2× from one second to the next, runs seconds apart compare; runs a round apart do not.
  const pairs = { bare: [] as number[], memory: [] as number[] };
  const bareRoute = ROUTES.find((r) => r.id === 'bare')!;
  const memoryRoute = ROUTES.find((r) => r.id === 'cached-memory')!;
  for (let p = 0; p < PAIRS; p++) {
    const order = p % 2 === 0 ? (['bare', 'memory'] as const) : (['memory', 'bare'] as const);
    for (const which of order) {
      const result = await load(ports.fastify, which === 'bare' ? bareRoute : memoryRoute, PAIR_SECONDS, p);
      pairs[which].push(result['2xx'] / result.duration);
    }
  }
  for (const s of servers) s.stop();
  await sleep(300);
  await server.stop();

  const rows = cells.map((c) => {
    const bare = cells.find((b) => b.framework === c.framework && b.route === 'bare')!;
    const rps = median(c.reqPerSec);
    return {
      framework: c.framework,
      route: c.route,
      label: ROUTES.find((r) => r.id === c.route)!.label,
      reqPerSec: rps,
      meanMs: median(c.mean),
      p99ms: median(c.p99),
      ratioToBare: rps / median(bare.reqPerSec),
      pairedToBare: pairedRatio(c.reqPerSec, bare.reqPerSec).median,
      errors: c.errors,
      non2xx: c.non2xx,
      perRound: c.reqPerSec.map(Math.round),
    };
  });
  console.log(
    table(
      ['framework / route', 'req/s', 'mean ms', 'p99 ms', '× bare (req/s, paired)', 'errors'],
      rows.map((r) => ({
        name: `${r.framework}: ${r.label}`,
        cells: [fmt(r.reqPerSec), fmt(r.meanMs), fmt(r.p99ms), ratio(r.pairedToBare), String(r.errors + r.non2xx)],
      })),
    ),
  );
  // Paired round by round: both routes ran in the same round, so drift hits both alike.
  const cellOf = (framework: Framework, route: RouteId) =>
    cells.find((c) => c.framework === framework && c.route === route)!;
  const inRounds = pairedRatio(cellOf('fastify', 'cached-memory').reqPerSec, cellOf('fastify', 'bare').reqPerSec);
  const memory = pairedRatio(pairs.memory, pairs.bare);
  const range = (r: { min: number; max: number }) => `${r.min.toFixed(2)}–${r.max.toFixed(2)}×`;
  const targets = [
    {
      name: 'Fastify route served from the memory tier ≥ 0.90× the bare route’s req/s',
      met: memory.median >= 0.9,
      detail:
        `${memory.median.toFixed(2)}× (${range(memory)} over ${PAIRS} back-to-back pairs); ` +
        `${inRounds.median.toFixed(2)}× in the rounds (${range(inRounds)})`,
    },
  ];
  console.log('\n× bare: the median over rounds of the ratio within each round (routes interleaved)');
  console.log('\nTargets');
  for (const t of targets) console.log(`  ${t.met ? 'met ' : 'MISS'}  ${t.name}: ${t.detail}`);
  for (const w of warnings) console.log(`  warning: ${w}`);
  const file = writeResults('http', {
    kind: 'http',
    date: new Date().toISOString(),
    machine: machine(),
    measured,
    pinning,
    command: 'npm run bench:http',
    connections: CONNECTIONS,
    secondsPerRun: SECONDS,
    rounds: ROUNDS,
    versions: versions(['fastify', 'express', 'autocannon', 'redis']),
    rows,
    pairs: { bare: pairs.bare.map(Math.round), memory: pairs.memory.map(Math.round) },
    targets,
    warnings,
    seconds: (Date.now() - started) / 1000,
  });
  console.log(`\nwrote ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
