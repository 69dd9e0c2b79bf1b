/**
 * Prints the README "Performance" tables (Markdown) from the last results in bench/results/:
 *
 *   npm run bench && npx tsx bench/summary.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, ratio, table } from './lib/report.js';
import { pairedRatio } from './lib/measure.js';
import type { PhaseResult, ResultRow, TargetCheck } from './lib/targets.js';

interface MicroFile {
  date: string;
  machine: string;
  pinning: string;
  results: PhaseResult[];
  targets: TargetCheck[];
}

interface IsolatedFile {
  date: string;
  results: PhaseResult[];
  targets: TargetCheck[];
}

interface HttpRow {
  framework: string;
  route: string;
  reqPerSec: number;
  ratioToBare: number;
  /** Paired round by round (absent in older results). */
  pairedToBare?: number;
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
  const cell = cells(micro.results);
  const names = micro.results
    .find((r) => r.phase === 'hit')!
    .rows.filter((r) => r.role !== 'reference')
    .map((r) => r.name);
  console.log(`${micro.date.slice(0, 10)} · ${micro.machine} · ${micro.pinning}\n`);
  console.log(
    table(
      ['contender', 'hit µs (× floors)', 'miss µs (× floors)', '64 in flight ops/s (× floors)', 'stampede runs'],
      names.map((name) => ({
        name,
        cells: [cell('hit', name), cell('miss', name), cell('inflight', name), cell('stampede', name)],
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
          return route === 'bare'
            ? fmt(row.reqPerSec)
            : `${fmt(row.reqPerSec)} (${ratio(row.pairedToBare ?? row.ratioToBare)})`;
        }),
      })),
    ),
  );
  console.log();
  for (const t of [...micro.targets, ...http.targets])
    console.log(`- ${t.met ? 'met' : '**missed**'}: ${t.name} (${t.detail})`);
  if (existsSync(join(dir, 'isolated.json'))) isolated(read<IsolatedFile>('isolated'));
}

/** The Redis-tier phases with each contender alone in its process (`npm run bench:isolated`). */
function isolated(file: IsolatedFile): void {
  const cell = cells(file.results);
  console.log(`\nEach contender alone in its process (${file.date.slice(0, 16).replace('T', ' ')} UTC):\n`);
  console.log(
    table(
      ['contender', 'hit µs (× floors)', 'miss µs (× floors)', '64 in flight ops/s (× floors)'],
      file.results[0]!.rows.map(({ name }) => ({
        name,
        cells: [cell('hit', name), cell('miss', name), cell('inflight', name)],
      })),
    ),
  );
  console.log();
  for (const t of file.targets) console.log(`- ${t.met ? 'met' : '**missed**'}: ${t.name} (${t.detail})`);
}

/**
 * A contender's cell of one phase: its median latency (its rate at 64 in flight; its most runs in the stampede), with
 * its ratios to each floor (msgpackr, JSON), paired round by round: the median of the per-round ratios.
 */
function cells(results: PhaseResult[]): (phase: PhaseResult['phase'], name: string) => string {
  return (id, name) => {
    const phase = results.find((r) => r.phase === id)!;
    const row = phase.rows.find((r) => r.name === name)!;
    if (id === 'stampede') return String(row.computes);
    const ops = id === 'inflight';
    const pick = (r: ResultRow) => (ops ? r.perRound?.opsPerSec : r.perRound?.median) ?? [];
    const ratios = phase.rows
      .filter((r) => r.role === 'floor')
      .map((f) => ratio(pairedRatio(pick(row), pick(f)).median))
      .join(', ');
    return `${fmt(ops ? row.opsPerSec : row.median)} (${ratios})`;
  };
}

main();
