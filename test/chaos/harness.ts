/**
 * The chaos harness: steady concurrent load on a decorated service and a Fastify route, every result checked
 * against the uncached function, with figures (calls, errors, wrong values, worst added latency, time to recover).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { CachedPrediction, UseCache, type Cache } from '../../src/index.js';
import infercache from '../../plugins/fastify.js';

/** Time the stand-in model takes, ms. "Added latency" is a call's duration minus this. */
export const MODEL_MS = 3;

/** What a call returns: the uncached function's value, and the model revision of its bucket it was computed with. */
export interface Scored {
  id: number;
  score: number;
  label: string;
  rev: number;
}

/** The uncached function: what every call must return (apart from `rev`). */
export function reference(id: number): Omit<Scored, 'rev'> {
  return { id, score: id * 7 + 0.5, label: `item-${id}` };
}

/** Ids fall in buckets; each bucket's entries carry the tag `bucket:<n>` and are retrained (invalidated) during load. */
const BUCKETS = 4;
const bucket = (id: number) => id % BUCKETS;

/**
 * Model revisions per bucket. A retrain bumps `current`, invalidates the bucket's tag, and once that resolved sets
 * `confirmed`: a call that starts after that must never get a value computed with an older revision (stale).
 */
const revisions = { current: new Array<number>(BUCKETS).fill(0), confirmed: new Array<number>(BUCKETS).fill(0) };

const model = async (id: number): Promise<Scored> => {
  const rev = revisions.current[bucket(id)]!; // the revision in use when the computation starts
  await new Promise((resolve) => setTimeout(resolve, MODEL_MS));
  return { ...reference(id), rev };
};

/** Retrains (tag invalidations Redis took) a run goes on for at least, so that staleness is really tested. */
export const MIN_RETRAINS = 4;

/** Retrains one bucket after another until stopped; invalidations Redis refused are retried by the cache itself. */
async function retrain(cache: Cache, running: () => boolean, counts: { retrains: number }): Promise<void> {
  for (let n = 0; running(); n++) {
    const b = n % BUCKETS;
    const rev = ++revisions.current[b]!;
    try {
      await cache.invalidateTags(`bucket:${b}`);
      revisions.confirmed[b] = Math.max(revisions.confirmed[b]!, rev);
      counts.retrains++;
    } catch {
      // Redis could not take it now: not confirmed; replayed on reconnect, confirmed by a later retrain
    }
    await sleep(100);
  }
}

/** A service with two cached methods bound to `cache`: Redis only, and memory tier + Redis (with the bus). */
export function makeService(cache: Cache) {
  @UseCache(cache)
  class ScoringService {
    @CachedPrediction({ kind: 'score', ttl: '5m', tags: (id: number) => [`bucket:${id % 4}`] })
    async score(id: number): Promise<{ id: number; score: number; label: string }> {
      return model(id);
    }
    @CachedPrediction({ kind: 'embed', ttl: '5m', memory: true, tags: (id: number) => [`bucket:${id % 4}`] })
    async embed(id: number): Promise<{ id: number; score: number; label: string }> {
      return model(id);
    }
  }
  return new ScoringService();
}

/** A Fastify app on `cache` with one cached route, `GET /score/:id`. */
async function makeApp(cache: Cache): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(infercache, { cache });
  const tags = (req: { params: unknown }) => [`bucket:${bucket(Number((req.params as { id: string }).id))}`];
  app.get<{ Params: { id: string } }>('/score/:id', { config: { cache: { kind: 'route', tags } } }, async (req) =>
    model(Number(req.params.id)),
  );
  await app.ready();
  return app;
}

type Call = (id: number) => Promise<unknown>;

/** The three ways the load reaches the cache: a Redis-only method, a memory-tier method, a Fastify route. */
function callers(service: ReturnType<typeof makeService>, app: FastifyInstance): Call[] {
  const route: Call = async (id) => {
    const res = await app.inject(`/score/${id}`);
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    return res.json();
  };
  return [(id) => service.score(id), (id) => service.embed(id), route];
}

/** Figures of one run. */
export interface Figures {
  fault: string;
  calls: number;
  errors: number;
  wrong: number;
  /** Values computed with a model revision older than one invalidated before the call started. */
  stale: number;
  /** Tag invalidations (retrains) Redis took during the run. */
  retrains: number;
  /** Longest (call duration − model time), ms. */
  worstAddedMs: number;
  /** From the end of the fault to the first Redis hit after it, ms (undefined if hits never resumed). */
  recoverMs: number | undefined;
  /** Redis hits in the `afterMs` after hits resumed (longer, up to `recoverWithinMs`, until one came). */
  hitsAfter: number;
  /** Longest event-loop stall seen during the run, ms (part of any added latency, not caused by Redis). */
  loopStallMs: number;
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  fault: string;
  cache: Cache;
  /** Concurrent callers, spread over the Redis-only method, the memory-tier method and the route. @default 12 */
  workers?: number;
  /** Distinct ids called (small, so most calls are hits in steady state). @default 40 */
  ids?: number;
  /** Load before the fault, ms. @default 400 */
  warmMs?: number;
  /** Injects the fault and resolves when it has ended (the server is back). */
  inject: () => Promise<void>;
  /** Longest wait for hits to resume after the fault, ms. @default 5000 */
  recoverWithinMs?: number;
  /** Load kept after hits resumed, ms. @default 300 */
  afterMs?: number;
}

/** Runs load, injects the fault during it, and returns the figures once hits have resumed (or the wait ran out). */
export async function runLoad(options: LoadOptions): Promise<Figures> {
  const { cache } = options;
  const app = await makeApp(cache);
  const calls = callers(makeService(cache), app);
  const figures: Figures = {
    fault: options.fault,
    calls: 0,
    errors: 0,
    wrong: 0,
    stale: 0,
    retrains: 0,
    worstAddedMs: 0,
    recoverMs: undefined,
    hitsAfter: 0,
    loopStallMs: 0,
  };
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  let running = true;
  const ids = options.ids ?? 40;
  const worker = async (_: unknown, n: number) => {
    const call = calls[n % calls.length]!;
    while (running) {
      const id = Math.floor(Math.random() * ids);
      const started = performance.now();
      const confirmed = revisions.confirmed[bucket(id)]!;
      try {
        const { rev, ...value } = (await call(id)) as Scored;
        if (!isDeepStrictEqual(value, reference(id))) figures.wrong++;
        else if (!(rev >= confirmed)) figures.stale++;
      } catch {
        figures.errors++;
      }
      figures.calls++;
      figures.worstAddedMs = Math.max(figures.worstAddedMs, performance.now() - started - MODEL_MS);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const workers = Array.from({ length: options.workers ?? 12 }, worker);
  workers.push(retrain(cache, () => running, figures));
  try {
    await sleep(options.warmMs ?? 400);
    await options.inject();
    const ended = performance.now();
    const hits = redisHits(cache);
    const deadline = ended + (options.recoverWithinMs ?? 5000);
    while (redisHits(cache) === hits && performance.now() < deadline) await sleep(5);
    if (redisHits(cache) > hits) figures.recoverMs = Math.round(performance.now() - ended);
    const before = redisHits(cache);
    await sleep(options.afterMs ?? 300);
    // a loaded machine can time out a few operations and open the breaker again for a while: the window goes on (up
    // to recoverWithinMs) until hits came, which is what hits resuming means
    const until = performance.now() + (options.recoverWithinMs ?? 5000);
    while (redisHits(cache) === before && performance.now() < until) await sleep(5);
    figures.hitsAfter = redisHits(cache) - before;
    // a loaded machine runs fewer retrains in the same time: keep the load on until enough of them were taken
    const enough = performance.now() + 15_000;
    while (figures.retrains < MIN_RETRAINS && performance.now() < enough) await sleep(20);
  } finally {
    running = false;
    await Promise.all(workers);
    loop.disable();
    await app.close();
  }
  figures.loopStallMs = Math.round(loop.max / 1e5) / 10;
  figures.worstAddedMs = Math.round(figures.worstAddedMs * 10) / 10;
  return figures;
}

/** Hits of the kinds that are only in Redis (the memory-tier kind keeps hitting while Redis is down). */
const redisHits = (cache: Cache) => (cache.stats().kinds.score?.hits ?? 0) + (cache.stats().kinds.route?.hits ?? 0);

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Prints the figures of every run as a table. */
export function printFigures(all: Figures[]): void {
  if (all.length === 0) return;
  console.log('\n  chaos figures (operation timeout 50 ms):');
  console.table(
    all.map((f) => ({
      fault: f.fault,
      calls: f.calls,
      errors: f.errors,
      wrong: f.wrong,
      stale: f.stale,
      retrains: f.retrains,
      'worst added ms': f.worstAddedMs,
      'recover ms': f.recoverMs ?? 'never',
      'hits after': f.hitsAfter,
      'loop stall ms': f.loopStallMs,
    })),
  );
}
