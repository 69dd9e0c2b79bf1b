/**
 * `ensureBuilt()`: tests of the published package (entry points, `npm pack`, README samples) run against `dist/`,
 * rebuilt when it is missing or older than any file it is built from, so they never check stale output.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root (mocha runs from it). */
export const repoRoot = process.cwd();

/** Written last by scripts/build.mjs: its time is the build's. */
const BUILD_STAMP = 'dist/cjs/package.json';
const INPUTS = ['src', 'plugins', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs'];

function newestInput(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestInput(join(path, entry)));
  return newest;
}

/** A build's share of a hook's time: a build takes minutes on a loaded 2-core machine. */
const BUILD_TIMEOUT_MS = 600_000;

/**
 * Runs `npm run build` unless `dist/` is newer than every file it is built from. Called as a mocha hook
 * (`before(ensureBuilt)`, or `ensureBuilt.call(this)` inside one), a build gets {@link BUILD_TIMEOUT_MS}.
 */
export function ensureBuilt(this: Mocha.Context | void): void {
  const stamp = join(repoRoot, BUILD_STAMP);
  const builtAt = existsSync(stamp) ? statSync(stamp).mtimeMs : -Infinity;
  const changedAt = Math.max(...INPUTS.map((input) => newestInput(join(repoRoot, input))));
  if (changedAt <= builtAt) return;
  if (this) this.timeout(Math.max(this.timeout(), BUILD_TIMEOUT_MS));
  try {
    execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
}
