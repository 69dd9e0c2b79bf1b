import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

interface MicroResults {
  results: Array<{ phase: string; rows: Array<{ name: string; computes: number; samples: number }> }>;
}

interface SemanticResults {
  results: Array<{ index: string; size: number; memoryBytes: number }>;
}

describe('benchmarks (smoke: they run; nothing here looks at timing)', function () {
  this.timeout(60_000);

  it('runs the micro benchmark for infercache and the floor with a few calls per phase', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infercache-bench-'));
    try {
      await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/micro.ts'], {
        env: {
          ...process.env,
          BENCH_QUICK: '1',
          BENCH_SOURCES: '1', // the benchmark proper measures dist/, which a test run need not have built
          BENCH_ONLY: 'infercache',
          BENCH_RESULTS_DIR: dir,
          // a busy machine can stall a read past the default 50 ms: the smoke test checks that hits hit
          BENCH_OPERATION_TIMEOUT: '1s',
        },
      });
      const { results } = JSON.parse(readFileSync(join(dir, 'micro.json'), 'utf8')) as MicroResults;
      expect(results.map((r) => r.phase)).to.deep.equal(['hit', 'miss', 'inflight', 'stampede']);
      for (const phase of results) {
        const names = phase.rows.map((r) => r.name);
        expect(names).to.include.members(['infercache redis', 'infercache memory+redis']);
        for (const row of phase.rows) expect(row.samples, `${phase.phase} ${row.name}`).to.be.above(0);
      }
      const hits = results.filter((r) => r.phase === 'hit' || r.phase === 'inflight').flatMap((r) => r.rows);
      for (const row of hits) expect(row.computes, `${row.name} computed on a hit`).to.equal(0);
      const stampede = results.find((r) => r.phase === 'stampede')!.rows.filter((r) => r.name.startsWith('infercache'));
      for (const row of stampede) expect(row.computes, row.name).to.equal(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the isolated benchmark: infercache and the floors each in a process of its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infercache-bench-'));
    try {
      await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/isolated.ts'], {
        env: {
          ...process.env,
          BENCH_QUICK: '1',
          BENCH_SOURCES: '1',
          BENCH_RESULTS_DIR: dir,
          BENCH_OPERATION_TIMEOUT: '1s',
        },
      });
      const { results } = JSON.parse(readFileSync(join(dir, 'isolated.json'), 'utf8')) as MicroResults;
      expect(results.map((r) => r.phase)).to.deep.equal(['hit', 'miss', 'inflight']);
      for (const phase of results) {
        expect(phase.rows.map((r) => r.name)).to.deep.equal([
          'floor: node-redis GET+msgpackr',
          'floor: node-redis GET+JSON',
          'infercache redis',
        ]);
        for (const row of phase.rows) expect(row.samples, `${phase.phase} ${row.name}`).to.be.above(0);
        // a miss computes once per call, a hit never
        for (const row of phase.rows)
          expect(row.computes > 0, `${phase.phase} ${row.name}`).to.equal(phase.phase === 'miss');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the telemetry benchmark: every contender and both floors in each phase, and the targets', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/telemetry.ts'], {
      env: { ...process.env, BENCH_QUICK: '1', BENCH_SOURCES: '1' },
    });
    const sections = stdout.split(/^ {2}(?:memory|redis) hit \(/m).slice(1);
    expect(sections, stdout).to.have.length(4); // two phases, wall and CPU time
    for (const section of sections) {
      for (const name of ['off', 'no-sdk', 'sdk', 'sdk+mem', 'sdk@10%', 'span', 'span+h']) {
        const row = new RegExp(`^ {4}${name.replace(/[+%]/g, '\\$&')} +[\\d.]+ µs +×[\\d.]+`, 'm');
        expect(section, name).to.match(row);
      }
    }
    const floors =
      /Redis-tier hit.*floors: one bare span around the call ×[\d.]+; that span and one histogram measurement ×[\d.]+\)/;
    expect(stdout).to.match(floors);
  });

  it('runs the vector index benchmark on a few small sets and reports every index at every size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infercache-bench-'));
    try {
      await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/semantic.ts'], {
        env: { ...process.env, BENCH_SIZES: '500,1200', BENCH_DIMS: '32', BENCH_QUERIES: '40', BENCH_RESULTS_DIR: dir },
      });
      const { results } = JSON.parse(readFileSync(join(dir, 'semantic.json'), 'utf8')) as SemanticResults;
      expect(results.map((r) => `${r.index} @ ${r.size}`)).to.have.members(
        [500, 1200].flatMap((n) =>
          ['exact (float32, full scan)', 'memory IVF (int8)', 'memory IVF (float32)'].map((i) => `${i} @ ${n}`),
        ),
      );
      for (const r of results) expect(r.memoryBytes, r.index).to.be.above(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
