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
  results: Array<{
    phase: 'hit' | 'miss' | 'inflight';
    rows: ResultRow[];
    vsMsgpackr: { median: number };
    vsJson: { median: number };
  }>;
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
  const phase = (id: string) => micro.results.find((r) => r.phase === id)!;
  const floorsOf = (id: string) => phase(id).rows.filter((r) => r.role === 'floor');
  const rowOf = (id: string, name: string) => phase(id).rows.find((r) => r.name === name)!;
  const names = phase('hit')
    .rows.filter((r) => r.role !== 'reference')
    .map((r) => r.name);
  // to each floor (msgpackr, JSON), paired round by round: the median of the per-round ratios
  const ratios = (id: string, row: ResultRow, ops: boolean) =>
    floorsOf(id)
      .map((f) => {
        const pick = (r: ResultRow) => (ops ? r.perRound?.opsPerSec : r.perRound?.median) ?? [];
        return ratio(pairedRatio(pick(row), pick(f)).median);
      })
      .join(', ');
  const latency = (id: string, row: ResultRow) => `${fmt(row.median)} (${ratios(id, row, false)})`;
  console.log(`${micro.date.slice(0, 10)} · ${micro.machine} · ${micro.pinning}\n`);
  console.log(
    table(
      ['contender', 'hit µs (× floors)', 'miss µs (× floors)', '64 in flight ops/s (× floors)', 'stampede runs'],
      names.map((name) => ({
        name,
        cells: [
          latency('hit', rowOf('hit', name)),
          latency('miss', rowOf('miss', name)),
          `${fmt(rowOf('inflight', name).opsPerSec)} (${ratios('inflight', rowOf('inflight', name), true)})`,
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
  const of = (id: string) => file.results.find((r) => r.phase === id)!;
  const cell = (id: string, idx: number) => {
    const r = of(id);
    const row = r.rows[idx]!;
    const shown = id === 'inflight' ? row.opsPerSec : row.median;
    return idx === 2 ? `${fmt(shown)} (${ratio(r.vsMsgpackr.median)}, ${ratio(r.vsJson.median)})` : fmt(shown);
  };
  console.log(`\nEach contender alone in its process (${file.date.slice(0, 16).replace('T', ' ')} UTC):\n`);
  console.log(
    table(
      ['contender', 'hit µs', 'miss µs', '64 in flight ops/s'],
      of('hit').rows.map((row, idx) => ({
        name: row.name,
        cells: [cell('hit', idx), cell('miss', idx), cell('inflight', idx)],
      })),
    ),
  );
  console.log();
  for (const t of file.targets) console.log(`- ${t.met ? 'met' : '**missed**'}: ${t.name} (${t.detail})`);
}

main();
