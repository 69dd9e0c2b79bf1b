/**
 * Soak benchmark: one million distinct keys through the memory tier of a memory-only cache, checking that the
 * process's resident memory stays under a bound while the tier keeps evicting. Not part of `npm test`.
 *
 *   npm run bench:soak                          1 000 000 keys, memory tier 20 000 entries / 32 MiB, RSS bound 256 MiB
 *   SOAK_KEYS=200000 SOAK_RSS_MB=200 npm run bench:soak
 *
 * Resident memory is sampled after a full GC (run with `--expose-gc`, as the npm script does), so the figures show
 * what is retained, not how much garbage V8 let pile up between collections; the unsampled peak is reported too.
 * Exits with code 1 when retained memory goes over the bound, grows by more than GROWTH_MB from the first sample
 * to the last (a leak), or the tier holds more than its bounds.
 */
import { createCache } from '../src/index.js';

const KEYS = Number(process.env.SOAK_KEYS ?? 1_000_000);
const RSS_BOUND_MB = Number(process.env.SOAK_RSS_MB ?? 256);
const MAX_ENTRIES = Number(process.env.SOAK_MAX_ENTRIES ?? 20_000);
const MAX_BYTES = 32 * 1024 * 1024;
const CONCURRENCY = 64;
const SAMPLES = 20;
const GROWTH_MB = 32;
const gc = (globalThis as { gc?: () => void }).gc;
const settle = () => gc?.();

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/** A prediction-like value: an id, a label and a small embedding. */
function predict(id: number) {
  const embedding = new Float32Array(32);
  for (let i = 0; i < embedding.length; i++) embedding[i] = Math.sin(id + i);
  return { id, label: `class-${id % 97}`, score: (id % 1000) / 1000, embedding };
}

async function main(): Promise<void> {
  const cache = createCache({
    redis: false,
    setDefault: false,
    memory: { maxEntries: MAX_ENTRIES, maxBytes: MAX_BYTES },
    logger: false,
  });
  const options = { memory: true, ttl: '1h' } as const;
  const call = (id: number) => cache.wrap('predict', [id], async () => predict(id), options);

  const warm = Math.min(MAX_ENTRIES, 200_000);
  for (let id = 0; id < warm; id++) await call(-1 - id); // fill the tier (up to 200 000) before the baseline
  settle();
  const baseline = process.memoryUsage().rss;
  let rawPeak = baseline;
  const watch = setInterval(() => (rawPeak = Math.max(rawPeak, process.memoryUsage().rss)), 20);
  const samples: Array<{ keys: number; rssMb: number; heapMb: number; entries: number; tierMb: number }> = [];
  let peak = baseline;
  let wrong = 0;
  const started = performance.now();
  const every = Math.max(1, Math.floor(KEYS / SAMPLES));
  for (let next = 0; next < KEYS;) {
    const batch: Array<Promise<void>> = [];
    for (let i = 0; i < CONCURRENCY && next < KEYS; i++, next++) {
      const id = next;
      batch.push(call(id).then((v) => void (v.id !== id && wrong++)));
    }
    await Promise.all(batch);
    if (next % every < CONCURRENCY || next === KEYS) {
      rawPeak = Math.max(rawPeak, process.memoryUsage().rss);
      settle();
      const usage = process.memoryUsage();
      peak = Math.max(peak, usage.rss);
      const tier = (await cache.info()).memory;
      samples.push({
        keys: next,
        rssMb: mb(usage.rss),
        heapMb: mb(usage.heapUsed),
        entries: tier.entries,
        tierMb: mb(tier.bytes),
      });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(watch);
  const growth = samples.at(-1)!.rssMb - samples[0]!.rssMb;
  const stats = cache.stats();
  const tier = (await cache.info()).memory;
  await cache.close();

  console.table(samples);
  const summary = {
    keys: KEYS,
    seconds: Math.round(seconds * 10) / 10,
    callsPerSecond: Math.round(KEYS / seconds),
    misses: stats.misses,
    wrong,
    tierEntries: tier.entries,
    tierBoundEntries: MAX_ENTRIES,
    tierMb: mb(tier.bytes),
    tierBoundMb: mb(MAX_BYTES),
    baselineRssMb: mb(baseline),
    peakRetainedRssMb: mb(peak),
    rssBoundMb: RSS_BOUND_MB,
    growthFirstToLastMb: Math.round(growth * 10) / 10,
    peakRssBetweenGcsMb: mb(rawPeak),
    gcSampled: gc !== undefined,
    node: process.version,
  };
  console.log(JSON.stringify(summary, null, 2));
  const failures: string[] = [];
  if (mb(peak) > RSS_BOUND_MB) failures.push(`peak RSS ${mb(peak)} MiB is over the ${RSS_BOUND_MB} MiB bound`);
  if (growth > GROWTH_MB) failures.push(`RSS grew by ${growth} MiB from the first sample to the last`);
  if (tier.entries > MAX_ENTRIES) failures.push(`the memory tier holds ${tier.entries} entries (> ${MAX_ENTRIES})`);
  if (tier.bytes > MAX_BYTES) failures.push(`the memory tier holds ${tier.bytes} bytes (> ${MAX_BYTES})`);
  if (wrong) failures.push(`${wrong} calls returned a wrong value`);
  for (const f of failures) console.error(`soak: FAIL: ${f}`);
  if (failures.length === 0) console.log(`soak: OK: peak RSS ${mb(peak)} MiB <= ${RSS_BOUND_MB} MiB over ${KEYS} keys`);
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
