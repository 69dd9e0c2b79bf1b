/**
 * Prints the README "Performance" tables (Markdown) from the last results in bench/results/:
 *
 *   npm run bench && npx tsx bench/summary.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, ratio, table } from './lib/report.js';
import type { PhaseResult, ResultRow, TargetCheck } from './lib/targets.js';

interface MicroFile {
  date: string;
  machine: string;
  pinning: string;
  results: PhaseResult[];
  targets: TargetCheck[];
}

interface HttpRow {
  framework: string;
  route: string;
  reqPerSec: number;
  ratioToBare: number;
}

interface HttpFile {
  date: string;
  rows: HttpRow[];
  targets: TargetCheck[];
}

const dir = process.env.BENCH_RESULTS_DIR ?? join(process.cwd(), 'bench', 'results');
const read = <T>(name: string): T => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as T;

function main(): void {
  const micro = read<MicroFile>('micro');
  const http = read<HttpFile>('http');
  const phase = (id: string) => micro.results.find((r) => r.phase === id)!;
  const floorOf = (id: string) => phase(id).rows.find((r) => r.role === 'floor')!;
  const rowOf = (id: string, name: string) => phase(id).rows.find((r) => r.name === name)!;
  const names = phase('hit')
    .rows.filter((r) => r.role !== 'reference')
    .map((r) => r.name);
  const latency = (id: string, row: ResultRow) => `${fmt(row.median)} (${ratio(row.median / floorOf(id).median)})`;
  console.log(`${micro.date.slice(0, 10)} · ${micro.machine} · ${micro.pinning}\n`);
  console.log(
    table(
      ['contender', 'hit µs (× floor)', 'miss µs (× floor)', '64 in flight ops/s (× floor)', 'stampede runs'],
      names.map((name) => ({
        name,
        cells: [
          latency('hit', rowOf('hit', name)),
          latency('miss', rowOf('miss', name)),
          `${fmt(rowOf('inflight', name).opsPerSec)} (${ratio(rowOf('inflight', name).opsPerSec / floorOf('inflight').opsPerSec)})`,
          String(rowOf('stampede', name).computes),
        ],
      })),
    ),
  );
  const routes = ['bare', 'redis', 'cached-memory', 'cached-redis', 'cached-miss'];
  console.log();
  console.log(
    table(
      ['req/s (× bare)', 'bare', 'raw Redis GET', 'infercache memory hit', 'infercache Redis hit', 'infercache miss'],
      ['fastify', 'express'].map((framework) => ({
        name: framework === 'fastify' ? 'Fastify 5' : 'Express 5',
        cells: routes.map((route) => {
          const row = http.rows.find((r) => r.framework === framework && r.route === route)!;
          return route === 'bare' ? fmt(row.reqPerSec) : `${fmt(row.reqPerSec)} (${ratio(row.ratioToBare)})`;
        }),
      })),
    ),
  );
  console.log();
  for (const t of [...micro.targets, ...http.targets])
    console.log(`- ${t.met ? 'met' : '**missed**'}: ${t.name} (${t.detail})`);
}

main();
