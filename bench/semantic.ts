/**
 * The semantic tier's vector index: build time, lookup latency, memory, recall@1 and similarity error of the
 * in-process IVF index (int8 and float32) against the exact brute-force index, on seeded clustered unit vectors
 * (2 000 topic centres, members scattered around them like paraphrases of one question).
 *
 *   npm run bench:semantic                   10 k and 100 k vectors of 384 dimensions, 1 000 queries each (minutes)
 *   BENCH_QUICK=1 npm run bench:semantic     2 k and 5 k vectors, 150 queries: proves it runs
 *   BENCH_SIZES=10000 BENCH_QUERIES=3000 npm run bench:semantic
 *
 * Queries: 40 % repeats (a stored vector plus noise, cosine ≈ 0.96 to it), 40 % paraphrases (a new member of a
 * stored topic, nearest stored vector at ≈ 0.75–0.85), 20 % unrelated (uniformly random: the nearest is arbitrary
 * and far below any hit threshold). Recall@1: the index's top-1 is as similar to the query as the exact top-1.
 */
import { loadavg } from 'node:os';
import { createMemoryIndex } from '../src/llm/semantic/index-memory.js';
import { createExactIndex, type VectorIndex } from '../src/llm/semantic/vector-index.js';
import { machine } from './lib/cpu.js';
import { collectGarbage, quantile } from './lib/measure.js';
import { fmt, table, writeResults, type Row } from './lib/report.js';
import { clustered, cosine, perturb, randomUnit } from './lib/vectors.js';

const QUICK = process.env.BENCH_QUICK === '1';
const DIMS = Number(process.env.BENCH_DIMS ?? 384);
const SIZES = (process.env.BENCH_SIZES ?? (QUICK ? '2000,5000' : '10000,100000')).split(',').map(Number);
const QUERIES = Number(process.env.BENCH_QUERIES ?? (QUICK ? 150 : 1000));
const TOPICS = 2000;
/** Lists scanned per lookup (several values: one row each, same build); default: the index's default. */
const NPROBES = process.env.BENCH_NPROBE ? process.env.BENCH_NPROBE.split(',').map(Number) : [undefined];
const LIST_SIZE = process.env.BENCH_LIST_SIZE ? Number(process.env.BENCH_LIST_SIZE) : undefined;
/** Queries whose exact best is at least this similar are the ones a semantic tier may serve. */
const HIGH = 0.85;
const KINDS = ['repeat', 'paraphrase', 'unrelated'] as const;
type Kind = (typeof KINDS)[number];

interface Query {
  kind: Kind;
  vector: Float32Array;
  /** Exact best similarity. */
  best: number;
}

interface Result {
  index: string;
  size: number;
  buildMs: number;
  buildCpuMs: number;
  memoryBytes: number;
  heapDeltaBytes: number;
  medianMs: number;
  p99Ms: number;
  cpuMedianMs: number;
  recall: Record<Kind, number>;
  /** Recall@1 over the queries whose exact best similarity is ≥ HIGH (whatever their kind). */
  recallHigh: number;
  maxError: number;
  maxBound: number;
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/** Bytes held by the process's heap and array buffers, after a full collection (with --expose-gc). */
async function heldBytes(): Promise<number> {
  // Twice, a turn apart: array buffers of collected typed arrays are released after the collection that finds them.
  collectGarbage();
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** Adds vectors 0..size-1 as ids '0'..; returns wall and CPU time. */
function build(index: VectorIndex, vectors: Float32Array[], size: number): { ms: number; cpu: number } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < size; i++) index.add('kind', String(i), vectors[i]!);
  return { ms: performance.now() - started, cpu: cpuMs(cpu) };
}

/** Runs every query once, timing each; compares the top-1 with the exact best. */
function measure(
  name: string,
  index: VectorIndex,
  queries: Query[],
  vectors: Float32Array[],
  nprobe?: number,
): Omit<Result, 'size'> {
  const wall = new Float64Array(queries.length);
  const cpu = new Float64Array(queries.length);
  const found: Record<Kind, number> = { repeat: 0, paraphrase: 0, unrelated: 0 };
  const count: Record<Kind, number> = { repeat: 0, paraphrase: 0, unrelated: 0 };
  let high = 0;
  let highFound = 0;
  let maxError = 0;
  let maxBound = 0;
  for (let i = 0; i < 50; i++) index.search('kind', queries[i % queries.length]!.vector, 1, { nprobe }); // warm-up
  queries.forEach((query, i) => {
    const c = process.cpuUsage();
    const t = performance.now();
    const top = index.search('kind', query.vector, 1, { nprobe })[0]!;
    wall[i] = performance.now() - t;
    cpu[i] = cpuMs(c);
    const truth = cosine(query.vector, vectors[Number(top.id)]!);
    count[query.kind]++;
    const hit = truth >= query.best - 1e-6;
    if (hit) found[query.kind]++;
    if (query.best >= HIGH) {
      high++;
      if (hit) highFound++;
    }
    maxError = Math.max(maxError, Math.abs(top.similarity - truth));
    maxBound = Math.max(maxBound, top.error);
  });
  wall.sort();
  cpu.sort();
  const recall = Object.fromEntries(KINDS.map((k) => [k, count[k] ? found[k] / count[k] : NaN])) as Record<
    Kind,
    number
  >;
  return {
    index: name,
    buildMs: 0,
    buildCpuMs: 0,
    memoryBytes: index.memoryBytes(),
    heapDeltaBytes: 0,
    medianMs: quantile(wall, 0.5),
    p99Ms: quantile(wall, 0.99),
    cpuMedianMs: quantile(cpu, 0.5),
    recall,
    recallHigh: high ? highFound / high : NaN,
    maxError,
    maxBound,
  };
}

/** Seeded queries of the three kinds, with the exact best similarity from the exact index (timed: the baseline). */
async function queriesFor(
  data: ReturnType<typeof clustered>,
  size: number,
): Promise<{ queries: Query[]; exact: Result }> {
  const exactIndex = createExactIndex();
  const before = await heldBytes();
  const built = build(exactIndex, data.vectors, size);
  const heapDeltaBytes = (await heldBytes()) - before;
  const queries: Query[] = Array.from({ length: QUERIES }, (_, i) => {
    const kind: Kind = i % 5 < 2 ? 'repeat' : i % 5 < 4 ? 'paraphrase' : 'unrelated';
    const vector =
      kind === 'repeat'
        ? perturb(data.random, data.vectors[Math.floor(data.random() * size)]!, 0.3)
        : kind === 'paraphrase'
          ? perturb(data.random, data.centres[Math.floor(data.random() * TOPICS)]!, 0.3 + 0.4 * data.random())
          : randomUnit(data.random, DIMS);
    return { kind, vector, best: exactIndex.search('kind', vector, 1)[0]!.similarity };
  });
  const exact = { ...measure('exact (float32, full scan)', exactIndex, queries, data.vectors), size };
  Object.assign(exact, { buildMs: built.ms, buildCpuMs: built.cpu, heapDeltaBytes });
  return { queries, exact };
}

async function main(): Promise<void> {
  const [load1] = loadavg();
  console.log(`infercache vector index benchmark — ${machine()}`);
  console.log(
    `${DIMS} dimensions, ${TOPICS} topics, ${QUERIES} queries per size; load average ${load1!.toFixed(1)} at start` +
      (global.gc ? '' : ' (run with --expose-gc for the heap delta)') +
      '\n',
  );
  const data = clustered({ count: Math.max(...SIZES), topics: TOPICS, dims: DIMS, seed: 42 });
  const sets: Array<{ size: number; queries: Query[]; exact: Result }> = [];
  for (const size of SIZES) sets.push({ size, ...(await queriesFor(data, size)) });
  const results: Result[] = sets.map((s) => s.exact);
  // One precision at a time over every size: the scan loop sees one array type while int8 (the default) is measured.
  for (const precision of ['int8', 'float32'] as const) {
    for (const { size, queries } of sets) {
      let index: VectorIndex | undefined = createMemoryIndex({ dimensions: DIMS, precision, listSize: LIST_SIZE });
      const before = await heldBytes();
      const built = build(index, data.vectors, size);
      const heapDeltaBytes = (await heldBytes()) - before;
      for (const nprobe of NPROBES) {
        const name = `memory IVF (${precision}${nprobe ? `, nprobe ${nprobe}` : ''})`;
        const result = measure(name, index, queries, data.vectors, nprobe);
        results.push({ ...result, size, buildMs: built.ms, buildCpuMs: built.cpu, heapDeltaBytes });
      }
      index = undefined;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  results.sort((a, b) => a.size - b.size);
  const rows: Row[] = results.map((r) => ({
    name: `${r.index} @ ${r.size / 1000} k`,
    cells: [
      fmt(r.buildMs / 1000, 's') + ` (cpu ${fmt(r.buildCpuMs / 1000, 's')})`,
      fmt(r.medianMs, 'ms'),
      fmt(r.p99Ms, 'ms'),
      fmt(r.cpuMedianMs, 'ms'),
      `${(r.memoryBytes / 1e6).toFixed(1)} MB`,
      global.gc ? `${(r.heapDeltaBytes / 1e6).toFixed(1)} MB` : 'n/a',
      KINDS.map((k) => r.recall[k].toFixed(3)).join(' / '),
      r.recallHigh.toFixed(3),
      r.maxError.toExponential(1),
      r.maxBound.toExponential(1),
    ],
  }));
  const headers = [
    'index @ vectors',
    'build',
    'lookup median',
    'p99',
    'cpu median',
    'memoryBytes()',
    'heap delta',
    'recall@1 repeat / paraphrase / unrelated',
    `recall@1 best ≥ ${HIGH}`,
    'max |sim err|',
    'max bound',
  ];
  console.log(table(headers, rows));
  const [, , load15] = loadavg();
  console.log(
    `\nload average ${loadavg()[0]!.toFixed(1)} at the end (15 min: ${load15!.toFixed(1)}); cpu median is this`,
  );
  console.log('process’s CPU time per lookup, steadier than wall time when other work shares the 2 cores.');
  console.log(`Results: ${writeResults('semantic', { machine: machine(), dims: DIMS, queries: QUERIES, results })}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
