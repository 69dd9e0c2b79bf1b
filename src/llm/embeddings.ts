/**
 * Embedding batches: each input is its own entry, upstream is asked only for the inputs not cached, and the answer is
 * reassembled in input order with the usage of what was actually computed.
 */
import { llmKey } from './key.js';
import { recordLlm, costOf } from './stats.js';
import type { LlmCacheInfo, LlmEngine, LlmRequest } from './engine.js';
import type { TokenUsage } from './shapes.js';

/** One stored embedding. */
interface StoredEmbedding {
  /** The vector (or base64 string, with `encoding_format: 'base64'`). */
  e: unknown;
  /** Input tokens it cost (the batch's tokens shared out by input length when several were computed together). */
  n: number;
  /** Model that answered. */
  m: string | undefined;
  /** Computed at (ms since epoch). */
  t: number;
}

type Obj = Record<string, unknown>;

/** The inputs of an embeddings body: a batch (array of strings or of token arrays), or one input. */
function inputsOf(input: unknown): { items: unknown[]; batch: boolean } {
  if (Array.isArray(input) && input.length > 0 && input.every((i) => typeof i === 'string' || Array.isArray(i))) {
    return { items: input, batch: true };
  }
  return { items: [input], batch: false };
}

const lengthOf = (item: unknown): number =>
  typeof item === 'string' ? Math.max(1, item.length) : Array.isArray(item) ? Math.max(1, item.length) : 1;

/**
 * Embeds `request.body.input` through the cache: `compute(body)` is called once, for the inputs not cached (none
 * when all are), and the result holds every input's embedding at its index.
 */
export async function embedThroughCache<T>(
  engine: LlmEngine<any>,
  request: LlmRequest,
  compute: (body: Obj) => Promise<T>,
): Promise<{ value: T; info: LlmCacheInfo }> {
  const { cache, kind, aliases, prices } = engine.options;
  const control = request.control;
  if (control.skip || request.scope === undefined || !cache.enabled) {
    recordLlm(cache, kind, 'bypass');
    return { value: await compute(request.body), info: { hit: false, age: 0, result: 'bypass' } };
  }
  const { items, batch } = inputsOf(request.body.input);
  const keys = items.map((item) => llmKey({ ...request.body, input: item }, { aliases, endpoint: 'embeddings' }));
  const parts = keys.map((k) => ({ s: request.scope, k, m: 'item' })); // hashed by the cache: no tenant id in keys
  const now = Date.now();
  const found: Array<StoredEmbedding | undefined> = control.refresh
    ? items.map(() => undefined)
    : await Promise.all(
        parts.map(async (p) => {
          const stored = await cache.get<StoredEmbedding>(kind, p).catch(() => undefined);
          const fresh = stored && (control.maxAgeMs === undefined || now - stored.t <= control.maxAgeMs);
          return fresh ? stored : undefined;
        }),
      );
  // inputs to compute, each once even when repeated in the batch
  const missing: number[] = [];
  const firstOf = new Map<string, number>();
  found.forEach((f, i) => {
    if (f || firstOf.has(keys[i]!)) return;
    firstOf.set(keys[i]!, missing.length);
    missing.push(i);
  });
  let upstream: Obj | undefined;
  let usage = { prompt_tokens: 0, total_tokens: 0 };
  const computed: StoredEmbedding[] = [];
  if (missing.length > 0) {
    const input = batch ? missing.map((i) => items[i]) : items[0];
    upstream = (await compute({ ...request.body, input })) as Obj;
    const data = Array.isArray(upstream.data) ? (upstream.data as Obj[]) : [];
    const u = (upstream.usage ?? {}) as Obj;
    const tokens = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
    usage = { prompt_tokens: tokens, total_tokens: typeof u.total_tokens === 'number' ? u.total_tokens : tokens };
    const totalLength = missing.reduce((sum, i) => sum + lengthOf(items[i]), 0);
    const model = typeof upstream.model === 'string' ? upstream.model : undefined;
    missing.forEach((i, j) => {
      const row = data.find((d) => d.index === j) ?? data[j];
      computed.push({
        e: row?.embedding,
        n: Math.round((tokens * lengthOf(items[i])) / totalLength),
        m: model,
        t: now,
      });
    });
    if (computed.some((c) => c.e === undefined)) throw new Error('infercache: embeddings answer misses inputs');
    const options =
      engine.options.ttl === undefined && control.ttlMs === undefined
        ? {}
        : { ttl: (control.ttlMs ?? engine.options.ttl!) / 1000 };
    await Promise.all(missing.map((i, j) => cache.set(kind, parts[i], computed[j], options).catch(() => false)));
  }
  const hits = found.filter((f) => f !== undefined) as StoredEmbedding[];
  const saved: TokenUsage = { input: hits.reduce((sum, h) => sum + h.n, 0), output: 0, cachedInput: 0 };
  const requested = typeof request.body.model === 'string' ? request.body.model : undefined;
  const price = (requested && prices[requested]) || prices[hits[0]?.m ?? ''];
  const cost = costOf(saved, price);
  for (let i = 0; i < hits.length; i++)
    recordLlm(cache, kind, 'hit', i === 0 ? { usage: saved, cost, model: requested } : undefined);
  for (let i = 0; i < missing.length; i++) recordLlm(cache, kind, 'miss');
  const age = hits.length ? Math.max(...hits.map((h) => Math.floor((now - h.t) / 1000))) : 0;
  const info: LlmCacheInfo = {
    hit: missing.length === 0,
    age,
    result: missing.length === 0 ? 'hit' : control.refresh ? 'refresh' : 'miss',
    key: keys.length === 1 ? keys[0] : undefined,
    tokensSaved: saved,
    costSaved: cost,
  };
  if (hits.length === 0 && upstream && !batch) return { value: upstream as T, info };
  const rows = items.map((_, i) => {
    const f = found[i] ?? computed[firstOf.get(keys[i]!)!]!;
    return { object: 'embedding', index: i, embedding: f.e };
  });
  const model = (upstream?.model as string | undefined) ?? hits[0]?.m ?? requested;
  const value = { ...(upstream ?? { object: 'list' }), data: rows, model, usage } as T;
  return { value, info };
}
