/**
 * `npm run test:stress [-- --runs N] [--busy K] [--only unit|integration|legacy]`: runs the whole test suite N times
 * (default 20) while K busy-loop threads (default: one per CPU) keep the CPUs loaded, then reports failures per test.
 * Not part of CI. Each mocha run writes mocha's JSON report to a temp file, which is parsed for failures.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const RUNS = [
  { name: 'unit', args: ['--config', '.mocharc.unit.cjs'], env: {} },
  { name: 'integration', args: ['--config', '.mocharc.integration.cjs'], env: {} },
  {
    name: 'legacy',
    args: ['test/decorators/**/*.test.ts'],
    env: { TSX_TSCONFIG_PATH: 'test/tsconfig.legacy.json' },
  },
];

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = process.argv[at + 1];
  if (value === undefined) throw new Error(`--${name} needs a value`);
  return value;
}

const runs = Number(option('runs', '20'));
const busy = Number(option('busy', String(cpus().length)));
const only = option('only', undefined);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
if (!Number.isInteger(busy) || busy < 0) throw new Error('--busy must be a non-negative integer');
const suites = only ? RUNS.filter((r) => r.name === only) : RUNS;
if (suites.length === 0) throw new Error(`--only must be one of ${RUNS.map((r) => r.name).join(', ')}`);

/** Busy-loop threads: a CPU each, until terminated. */
const workers = Array.from({ length: busy }, () => new Worker('for (;;) {}', { eval: true }));
const stop = () => Promise.all(workers.map((w) => w.terminate()));
process.on('SIGINT', () => void stop().then(() => process.exit(130)));

const dir = mkdtempSync(join(tmpdir(), 'infercache-stress-'));
const mocha = join('node_modules', '.bin', 'mocha');

/** Runs one mocha invocation with the JSON reporter; returns its report (or a synthetic failure when it crashed). */
function runMocha(suite, run) {
  const output = join(dir, `${suite.name}-${run}.json`);
  const args = [...suite.args, '--reporter', 'json', '--reporter-option', `output=${output}`];
  return new Promise((resolve) => {
    const child = spawn(mocha, args, { env: { ...process.env, ...suite.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('close', (code) => {
      if (existsSync(output)) {
        try {
          resolve(JSON.parse(readFileSync(output, 'utf8')));
          return;
        } catch {
          // fall through: a truncated report counts as a crash
        }
      }
      const title = `${suite.name}: mocha exited with ${code} and no report`;
      resolve({
        stats: { tests: 0, failures: 1 },
        failures: [{ fullTitle: title, file: '', err: { message: stderr } }],
      });
    });
  });
}

const failures = new Map(); // "file › full title" -> { count, message }
const perRun = [];
const started = Date.now();
try {
  for (let run = 1; run <= runs; run++) {
    let tests = 0;
    let failed = 0;
    for (const suite of suites) {
      const report = await runMocha(suite, run);
      tests += report.stats.tests ?? 0;
      for (const failure of report.failures ?? []) {
        failed++;
        const file = (failure.file ?? '').replace(`${process.cwd()}/`, '');
        const name = `[${suite.name}] ${file} › ${failure.fullTitle}`;
        const seen = failures.get(name) ?? { count: 0, message: '' };
        seen.count++;
        seen.message = String(failure.err?.message ?? '')
          .split('\n')[0]
          .slice(0, 200);
        failures.set(name, seen);
        console.log(`  failed: ${name}: ${seen.message}`);
      }
    }
    perRun.push(failed);
    console.log(
      `run ${run}/${runs}: ${tests} tests, ${failed} failed (${Math.round((Date.now() - started) / 1000)} s)`,
    );
  }
} finally {
  await stop();
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  `\n${runs} runs with ${busy} busy threads on ${cpus().length} CPUs: ${perRun.filter((f) => f > 0).length} runs failed`,
);
if (failures.size === 0) console.log('no test failed');
else {
  console.log('failures per test:');
  for (const [name, { count, message }] of [...failures].sort((a, b) => b[1].count - a[1].count)) {
    console.log(`  ${count}/${runs}  ${name}\n         ${message}`);
  }
}
process.exitCode = failures.size === 0 ? 0 : 1;
