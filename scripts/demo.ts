/**
 * `npm run demo`: the price-api example on a real Redis, a realistic burst of requests with repeats (a few popular
 * listings asked for again and again, a long tail asked for once or twice), and a short report of what the cache did;
 * then the tutor-bot example on the same Redis, student questions through its cached `openai` client, and the tokens
 * and money its LLM cache saved (scripts/demo-tutor.ts).
 *
 * Uses REDIS_URL when set (its keys are removed afterwards); otherwise starts a private Redis from the
 * `redis-server` on PATH through redis-memory-server, and says what to install when there is none.
 */
import { createClient } from 'redis';
import type { AddressInfo } from 'node:net';
import { buildPriceApi } from '../examples/price-api/app.js';
import { PriceModel, type Property } from '../examples/price-api/model.js';
import { startTestRedis, type TestRedis } from '../src/testing.js';
import { latencies, latencyRow, prng, send } from './demo-load.js';
import { tutorPhase } from './demo-tutor.js';

const REQUESTS = 600;
const CONCURRENCY = 12;
const LISTINGS = 80;
const NAMESPACE = 'infercache-demo';

/** The burst: LISTINGS properties, picked with a Zipf-like popularity (s = 1.1), as a real listing site sees. */
function burst(): Property[] {
  const random = prng(42);
  const cities = ['warsaw', 'krakow', 'gdansk', 'poznan'];
  const listings: Property[] = Array.from({ length: LISTINGS }, (_, i) => ({
    city: cities[i % cities.length]!,
    area: 28 + Math.round(random() * 90),
    rooms: 1 + Math.floor(random() * 5),
    yearBuilt: 1950 + Math.floor(random() * 74),
  }));
  const weights = listings.map((_, rank) => 1 / (rank + 1) ** 1.1);
  const total = weights.reduce((a, b) => a + b, 0);
  return Array.from({ length: REQUESTS }, () => {
    let pick = random() * total;
    let i = 0;
    while (i < weights.length - 1 && (pick -= weights[i]!) > 0) i++;
    // The same listing, its keys in another order: the canonical body makes it the same entry.
    const listing = listings[i]!;
    return random() < 0.5 ? listing : (Object.fromEntries(Object.entries(listing).reverse()) as unknown as Property);
  });
}

/** Listings nobody asked for yet: each is a miss. */
function fresh(count: number): Property[] {
  return Array.from({ length: count }, (_, i) => ({ city: 'poznan', area: 200 + i, rooms: 6, yearBuilt: 2024 }));
}

async function redisFor(): Promise<{ url: string; label: string; server?: TestRedis }> {
  const url = process.env.REDIS_URL?.trim();
  if (url) return { url, label: `REDIS_URL (${url.replace(/\/\/[^@/]*@/, '//***@')})` };
  try {
    const server = await startTestRedis();
    return { url: server.url, label: `embedded redis-server on ${server.url}`, server };
  } catch (error) {
    console.error(`\n${(error as Error).message}`);
    console.error('Or point the demo at a Redis you run: REDIS_URL=redis://localhost:6379 npm run demo\n');
    process.exit(1);
  }
}

async function removeDemoKeys(url: string): Promise<void> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  for await (const keys of client.scanIterator({ MATCH: `${NAMESPACE}:*`, COUNT: 500 })) {
    if (keys.length) await client.del(keys);
  }
  await client.close();
}

/** The price-api phase. Returns whether it worked. */
async function pricePhase(redis: { url: string; label: string }, version: string): Promise<boolean> {
  const model = new PriceModel(); // 80..140 ms per inference, like a small gradient-boosted model behind an API
  const app = await buildPriceApi({
    env: { REDIS_URL: redis.url },
    cache: { namespace: NAMESPACE, version, logger: false },
    model,
  });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    await app.cache.connect();
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/predict`;
    const info = await app.cache.info();
    console.log(`\ninfercache demo: examples/price-api (Fastify) on ${redis.label}`);
    console.log(`  sending ${REQUESTS} POST /predict for ${LISTINGS} listings, ${CONCURRENCY} at a time...\n`);

    const jobs = burst();
    const burstStarted = performance.now();
    const results = await send(url, jobs, CONCURRENCY);
    const burstSeconds = (performance.now() - burstStarted) / 1000;
    const calls = model.inferences;
    // One request at a time: cached listings (hits), then listings never asked for (misses).
    const single = [...(await send(url, jobs.slice(0, 100), 1)), ...(await send(url, fresh(10), 1))];

    const hits = latencies(results, 'HIT');
    const misses = latencies(results, 'MISS');
    const bypassed = results.filter((r) => r.cache === 'BYPASS').length;
    const failed = results.filter((r) => r.status !== 200).length;
    const stats = app.cache.stats().kinds.price;

    console.log(`  requests         ${results.length} in ${burstSeconds.toFixed(2)} s, ${failed} failed`);
    console.log(
      `  hit rate         ${((hits.length / results.length) * 100).toFixed(1)} %  ` +
        `(${hits.length} HIT, ${misses.length} MISS, ${bypassed} BYPASS)`,
    );
    console.log(`  model calls      ${calls}: concurrent requests for one listing share one computation`);
    console.log(`  latency${' '.repeat(28)}p50       p99`);
    console.log(latencyRow('HIT,  12 at a time', hits));
    console.log(latencyRow('MISS, 12 at a time', misses));
    console.log(latencyRow('HIT,  one at a time', latencies(single, 'HIT')));
    console.log(latencyRow('MISS, one at a time', latencies(single, 'MISS')));
    console.log(`  compute time     ${(stats?.computeSeconds ?? 0).toFixed(1)} s of model time spent on misses`);
    console.log(`  time saved       ${(stats?.timeSavedSeconds ?? 0).toFixed(1)} s of model time avoided by hits`);
    if (bypassed > 0) {
      console.log(
        `  BYPASS           Redis did not answer within the ${app.cache.settings.operationTimeout} ms operation timeout ` +
          '(a busy machine): those requests were computed, as without a cache',
      );
    }
    console.log(
      `  redis            ${info.redis?.usedMemory ?? '?'} used; keys: ${NAMESPACE}:price:<run>:POST:/predict#m1:<sha256 of body>`,
    );
    return failed === 0 && hits.length > 0;
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const redis = await redisFor();
  const version = `run-${Date.now().toString(36)}`;
  try {
    const priced = await pricePhase(redis, version);
    console.log('');
    const tutored = await tutorPhase(redis.url, redis.label, { namespace: NAMESPACE, version });
    console.log(`\n  done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    if (!priced || !tutored) process.exitCode = 1;
  } finally {
    if (redis.server) await redis.server.stop();
    else await removeDemoKeys(redis.url).catch(() => {});
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
