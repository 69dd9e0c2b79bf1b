/**
 * LLM mode benchmark (not in CI): on a private redis-server pinned with the benchmark to one CPU, against the fake
 * OpenAI-compatible upstream of the tests (in this process, on loopback).
 *
 * 1. A 2 KB streamed answer: time to first chunk and to last chunk, a hit through `cachedOpenAI` vs the upstream
 *    through the plain `openai` client, interleaved.
 * 2. A non-streamed hit through the wrapped `openai` client vs a plain `cache.wrap` hit of the same value (keyed by
 *    the same body), interleaved batches: the wrapper's overhead (target: at most 1.2×).
 *
 *   npx tsx bench/llm.ts              (~30 s)
 *   BENCH_QUICK=1 npx tsx bench/llm.ts
 */
import OpenAI from 'openai';
import { createCache } from '../src/index.js';
import { startTestRedis } from '../src/testing.js';
import { cachedOpenAI } from '../src/llm/index.js';
import { benchCpus, machine, pin } from './lib/cpu.js';
import { median, sequential } from './lib/measure.js';
import { startFakeOpenAI } from '../test/llm/fixtures/fake-openai.js';

const QUICK = process.env.BENCH_QUICK === '1';
const STREAM_ROUNDS = QUICK ? 3 : 40;
const HIT_ROUNDS = QUICK ? 2 : 12;
const HIT_CALLS = QUICK ? 20 : 1000;

async function main(): Promise<void> {
  const server = await startTestRedis();
  const cpus = benchCpus();
  const pinned = pin(server.pid, cpus.main) && pin(process.pid, cpus.main);
  const fake = await startFakeOpenAI();
  const cache = createCache({ redis: { url: server.url }, logger: false, setDefault: false, operationTimeout: '1s' });
  await cache.connect();
  const raw = new OpenAI({ apiKey: 'sk-bench', baseURL: fake.url, maxRetries: 0 });
  const client = cachedOpenAI(raw, { cache, scope: 'global' });
  console.log(`infercache LLM benchmark — ${machine()}; ${pinned ? `pinned to CPU ${cpus.main}` : 'not pinned'}\n`);

  // 1. streamed 2 KB answer
  const body = {
    model: 'gpt-4o-mini',
    temperature: 0,
    stream: true as const,
    messages: [{ role: 'user' as const, content: 'Tell me a story, size:2048' }],
  };
  let bytes = 0;
  const timeStream = async (c: OpenAI) => {
    const t0 = performance.now();
    let first = 0;
    let text = '';
    for await (const chunk of await c.chat.completions.create(body)) {
      if (!first) first = performance.now() - t0;
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    bytes = text.length;
    return { first, last: performance.now() - t0 };
  };
  await timeStream(client); // fills the entry
  const upstream = { first: [] as number[], last: [] as number[] };
  const hit = { first: [] as number[], last: [] as number[] };
  for (let round = 0; round < STREAM_ROUNDS; round++) {
    const order = round % 2 === 0 ? [false, true] : [true, false];
    for (const cached of order) {
      const r = await timeStream(cached ? client : raw);
      const into = cached ? hit : upstream;
      into.first.push(r.first);
      into.last.push(r.last);
    }
  }
  const ms = (v: number) => v.toFixed(2);
  console.log(`streamed answer of ${bytes} characters, ${STREAM_ROUNDS} interleaved runs each, medians:`);
  console.log(
    `  upstream (fake, loopback): first chunk ${ms(median(upstream.first))} ms, last ${ms(median(upstream.last))} ms`,
  );
  console.log(
    `  hit (cachedOpenAI):        first chunk ${ms(median(hit.first))} ms, last ${ms(median(hit.last))} ms\n`,
  );

  // 2. non-streamed hit: wrapped client vs cache.wrap of the same value
  const plainBody = {
    model: 'gpt-4o-mini',
    temperature: 0,
    messages: [{ role: 'user' as const, content: 'size:2048' }],
  };
  const value = await client.chat.completions.create(plainBody);
  await cache.wrap('plain', plainBody, async () => value);
  const wrapped = () => client.chat.completions.create(plainBody);
  const plain = () => cache.wrap('plain', plainBody, async () => value);
  const perCall = { wrapped: [] as number[], plain: [] as number[] };
  for (let round = 0; round <= HIT_ROUNDS; round++) {
    const order = round % 2 === 0 ? (['wrapped', 'plain'] as const) : (['plain', 'wrapped'] as const);
    for (const name of order) {
      const batch = await sequential(name === 'wrapped' ? wrapped : plain, HIT_CALLS);
      if (round > 0) perCall[name].push(median(Array.from(batch.latencies))); // round 0 warms up
    }
  }
  const w = median(perCall.wrapped);
  const p = median(perCall.plain);
  console.log(
    `non-streamed hit of a ${JSON.stringify(value).length}-byte completion, ${HIT_ROUNDS} rounds of ${HIT_CALLS} calls, medians:`,
  );
  console.log(`  cache.wrap hit:              ${p.toFixed(1)} µs`);
  console.log(
    `  cachedOpenAI hit:            ${w.toFixed(1)} µs  (${(w / p).toFixed(2)}× the plain hit; target ≤ 1.20×)`,
  );

  await cache.close();
  await fake.close();
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
