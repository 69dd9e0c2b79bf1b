/**
 * The demo's second phase: examples/tutor-bot (Express; the `openai` client through `cachedOpenAI`, answered by the
 * example's in-process stand-in LLM) on the demo's Redis, a class's worth of student questions, some asked again
 * verbatim, and what the LLM cache saved: tokens and money (`GET /stats/llm`), LLM calls, hit vs miss latency.
 */
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { CacheOptions } from '../src/index.js';
import type { LlmStats } from '../src/llm/index.js';
import { createTutorBot, MODEL, PRICES } from '../examples/tutor-bot/app.js';
import { TutorBackends } from '../examples/tutor-bot/service.js';
import { latencies, latencyRow, prng, send } from './demo-load.js';

const QUESTIONS = 200;
const REPEATS = 40; // 20 %: asked again verbatim by the same student
const CONCURRENCY = 40;
const LLM_MS = 700;
/**
 * How long a Redis read may take before the answer is asked of the LLM instead. Against a call of most of a second, a
 * Redis reply of a few hundred ms is still worth waiting for (the library's 50 ms default suits a fast model).
 */
const OPERATION_TIMEOUT = '500ms';
const STUDENTS = ['u1', 'u2', 'u3']; // advanced, beginner, intermediate: the level is part of the prompt

const TOPICS = [
  'recursion',
  'photosynthesis',
  'a monad',
  "Newton's second law",
  'the Pythagorean theorem',
  'supply and demand',
  'mitosis',
  'a derivative',
  'an integral',
  'the water cycle',
  'plate tectonics',
  'compound interest',
  'a prime number',
  'binary search',
  'big-O notation',
  'the French Revolution',
  'osmosis',
  'entropy',
  'the Doppler effect',
  'a closure in JavaScript',
  'DNA replication',
  'the Krebs cycle',
  'a linked list',
  'inflation',
  'the greenhouse effect',
  'a hash table',
  'natural selection',
  'the Treaty of Versailles',
  'a logarithm',
  'electric current',
  'a covalent bond',
  'the subjunctive mood',
  'a matrix inverse',
  'standard deviation',
  'the Big Bang',
  'an SQL join',
  'opportunity cost',
  'the Renaissance',
  'a black hole',
  'the immune system',
];
const FORMS = [
  (t: string) => `What is ${t}?`,
  (t: string) => `Can you explain ${t}?`,
  (t: string) => `How does ${t} work?`,
  (t: string) => `Give me an example of ${t}, please.`,
];

/** One `POST /ask` body. */
interface Ask {
  userId: string;
  question: string;
}

/** Fisher-Yates, in place. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * QUESTIONS asks: QUESTIONS - REPEATS distinct (each topic in each form once, by one student), and REPEATS asked
 * again verbatim, by the same student, of a question asked at least two rounds of CONCURRENCY earlier (an answer
 * already in the cache, not one being computed), the popular ones more often.
 */
function classroom(): Ask[] {
  const random = prng(7);
  const distinct: Ask[] = TOPICS.flatMap((topic, t) =>
    FORMS.map((form, f) => ({ userId: STUDENTS[(t + f) % STUDENTS.length]!, question: form(topic) })),
  ).slice(0, QUESTIONS - REPEATS);
  shuffle(distinct, random);
  const gap = 2 * CONCURRENCY;
  const later = Array.from({ length: QUESTIONS - gap }, (_, i) => gap + i);
  const repeatAt = new Set(shuffle(later, random).slice(0, REPEATS));
  const asks: Ask[] = [];
  let next = 0;
  for (let i = 0; i < QUESTIONS; i++) {
    if (repeatAt.has(i)) {
      // Zipf-like: the earliest questions (the popular ones) are asked again the most.
      const earlier = i - gap;
      asks.push(asks[Math.floor(earlier * random() ** 2)]!);
    } else {
      asks.push(distinct[next++]!);
    }
  }
  return asks;
}

const tokens = (n: number) => n.toLocaleString('en-US');
const dollars = (n: number) => `$${n < 0.01 ? n.toFixed(6) : n.toFixed(2)}`;

/** Runs the phase on the Redis at `url`; its keys go under `cache.namespace`. Returns whether it worked. */
export async function tutorPhase(url: string, label: string, cache: CacheOptions): Promise<boolean> {
  const backends = new TutorBackends({ llmMs: LLM_MS });
  const bot = createTutorBot({
    env: { REDIS_URL: url },
    cache: { operationTimeout: OPERATION_TIMEOUT, ...cache, logger: false },
    backends,
  });
  const server = bot.app.listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    await bot.cache.connect();
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    console.log(`infercache demo: examples/tutor-bot (Express, the openai client through cachedOpenAI) on ${label}`);
    console.log(
      `  sending ${QUESTIONS} POST /ask from ${STUDENTS.length} students, ${CONCURRENCY} at a time ` +
        `(${REPEATS} asked again verbatim); the stand-in LLM answers in ${LLM_MS} ms...\n`,
    );

    const asks = classroom();
    const distinct = new Set(asks.map((a) => `${a.userId} ${a.question}`)).size;
    const started = performance.now();
    const results = await send(`${base}/ask`, asks, CONCURRENCY);
    const seconds = (performance.now() - started) / 1000;
    const stats = (await (await fetch(`${base}/stats/llm`)).json()) as LlmStats;
    // One at a time, questions already answered: what a hit costs without 39 other requests in flight.
    const single = await send(`${base}/ask`, asks.slice(0, 20), 1);

    // X-Cache says HIT or MISS; a MISS computed without the cache (Redis too slow) is a bypass in the stats.
    const hits = latencies(results, 'HIT');
    const misses = latencies(results, 'MISS');
    const failed = results.filter((r) => r.status !== 200).length;
    const price = PRICES[MODEL];
    const perMillion = (n: number | undefined) => (n === undefined ? '?' : `$${n.toFixed(2)}`);
    console.log(`  requests         ${results.length} in ${seconds.toFixed(2)} s, ${failed} failed`);
    console.log(
      `  hit rate         ${((hits.length / results.length) * 100).toFixed(1)} %  ` +
        `(${hits.length} HIT, ${misses.length - stats.bypasses} MISS, ${stats.bypasses} BYPASS)`,
    );
    console.log(
      `  LLM calls        ${backends.calls.llm} for ${distinct} distinct questions: each asked once, the repeats served from Redis`,
    );
    console.log(`  latency${' '.repeat(28)}p50       p99`);
    console.log(latencyRow(`HIT,  ${CONCURRENCY} at a time`, hits));
    console.log(latencyRow(`MISS, ${CONCURRENCY} at a time`, misses));
    console.log(latencyRow('HIT,  one at a time', latencies(single, 'HIT')));
    console.log(
      `  tokens saved     ${tokens(stats.tokensSaved.input)} input, ${tokens(stats.tokensSaved.output)} output ` +
        '(GET /stats/llm)',
    );
    console.log(
      `  money saved      ${dollars(stats.costSaved)}, ${dollars((stats.costSaved / QUESTIONS) * 1e6)} per million ` +
        `such questions (${MODEL} at ${perMillion(price?.input)} / ${perMillion(price?.output)} per 1M tokens in / out)`,
    );
    if (stats.bypasses > 0) {
      console.log(
        `  BYPASS           ${stats.bypasses} answers computed without the cache: Redis did not answer within the ` +
          `${bot.cache.settings.operationTimeout} ms operation timeout (a busy machine); they were asked of the LLM`,
      );
    }
    return failed === 0 && hits.length > 0 && single.every((r) => r.status === 200);
  } finally {
    server.closeAllConnections();
    server.close();
    await bot.close();
  }
}
