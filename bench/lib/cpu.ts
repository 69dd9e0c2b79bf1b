/**
 * CPU pinning with `taskset`. On a small machine a sequential Redis round trip takes ~15 µs when the client and
 * redis-server share a core and ~100 µs when the scheduler puts them on different cores, so the benchmarks pin
 * both, and say so in their output.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

/** Whether `taskset` is on PATH. */
export const hasTaskset: boolean = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v taskset'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

/** Number of CPUs this process may use. */
export const cpuCount: number = availableParallelism();

/**
 * The CPUs the benchmark uses: `BENCH_CPUS` (comma-separated list), else the last two CPUs (the last one for the
 * server side: Redis and the code under test; the other one for the load generator).
 */
export function benchCpus(): { main: number; load: number } {
  const fromEnv = process.env.BENCH_CPUS?.split(',').map((s) => Number(s.trim()));
  if (fromEnv && fromEnv.length > 0 && fromEnv.every((n) => Number.isInteger(n) && n >= 0)) {
    return { main: fromEnv[0]!, load: fromEnv[1] ?? fromEnv[0]! };
  }
  const last = Math.max(0, cpuCount - 1);
  return { main: last, load: Math.max(0, last - 1) };
}

/** Pins every thread of `pid` to `cpu`; returns false when taskset is missing or refuses. */
export function pin(pid: number | undefined, cpu: number): boolean {
  if (!hasTaskset || pid === undefined) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** One line describing the machine: CPU model, count, Node version. */
export function machine(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${model}, ${cpuCount} CPU${cpuCount === 1 ? '' : 's'}, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** CPU time of the main thread of `pid` so far, µs (Linux /proc; NaN elsewhere). redis-server works on its main thread. */
export function threadCpuMicros(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
  } catch {
    return NaN;
  }
}

/** Starts a CPU clock over this process (all threads) and `pid`; the returned function gives the µs spent since. */
export function cpuClock(pid: number | undefined): () => number {
  const self = process.cpuUsage();
  const other = threadCpuMicros(pid);
  return () => {
    const used = process.cpuUsage(self);
    return used.user + used.system + (threadCpuMicros(pid) - other);
  };
}
