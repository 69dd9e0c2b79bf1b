/**
 * The demo's load generator and its arithmetic: a seeded PRNG, a worker thread that sends JSON bodies and records
 * each response's latency and `X-Cache`, and percentiles.
 */
import { Worker } from 'node:worker_threads';

/** A seeded PRNG (mulberry32), so every run sends the same requests. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The `p`th percentile of ascending `sorted` (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** One response as the client saw it (`status` 0: no response within the timeout, or a network error). */
export interface Sample {
  ms: number;
  cache: string;
  status: number;
}

/**
 * The load generator runs in a worker thread, so its own work does not stall the server's event loop and the
 * latencies are the server's. Plain JavaScript, evaluated: no TypeScript loader needed in the worker.
 */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, bodies, concurrency, timeoutMs } = workerData;
(async () => {
  const samples = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const t0 = performance.now();
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer();
        samples.push({ ms: performance.now() - t0, cache: res.headers.get('x-cache') || '?', status: res.status });
      } catch {
        samples.push({ ms: performance.now() - t0, cache: '?', status: 0 });
      }
    }
  }));
  parentPort.postMessage(samples);
})().catch((error) => { throw error; });
`;

/** POSTs each of `bodies` (as JSON) to `url`, `concurrency` at a time, each bounded by `timeoutMs`. */
export function send(url: string, bodies: unknown[], concurrency: number, timeoutMs = 10_000): Promise<Sample[]> {
  const json = bodies.map((b) => JSON.stringify(b));
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENT, { eval: true, workerData: { url, bodies: json, concurrency, timeoutMs } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/** Ascending latencies of the samples whose `X-Cache` is `kind`. */
export function latencies(samples: Sample[], kind: string): number[] {
  return samples
    .filter((r) => r.cache === kind)
    .map((r) => r.ms)
    .sort((a, b) => a - b);
}

/** A latency for a table cell. */
export const ms = (value: number) =>
  Number.isNaN(value) ? '-' : value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(0)} ms`;

/** One latency row: label, p50, p99. */
export function latencyRow(label: string, values: number[]): string {
  return `    ${label.padEnd(26)}${ms(percentile(values, 50)).padStart(9)}${ms(percentile(values, 99)).padStart(10)}`;
}
