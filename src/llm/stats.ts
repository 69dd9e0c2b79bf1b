/**
 * Tokens and money the LLM mode saved, per cache and kind: `llmStats(cache)`, and the OpenTelemetry counters
 * `infercache.llm.tokens_saved` and `infercache.llm.cost_saved` (with the model as an attribute).
 */
import type { Attributes, Counter, Histogram } from '@opentelemetry/api';
import type { Cache } from '../cache.js';
import * as C from '../telemetry/semconv.js';
import { LazyInstruments, report } from '../telemetry/lazy.js';
import type { ModelPrice } from './options.js';
import type { TokenUsage } from './shapes.js';

/** LLM counters of one kind. */
export interface LlmKindStats {
  /** Answers served from the cache (joined streams included). */
  hits: number;
  /** Answers computed upstream and offered to the cache. */
  misses: number;
  /** Answers computed upstream without the cache (policy, `skip`, no scope, cache off). */
  bypasses: number;
  /** Requests that shared an identical request's upstream call while it ran (also counted in hits). */
  joined: number;
  /** Answers computed but not stored: refused, cut by the token limit, incomplete or failed streams. */
  notStored: number;
  /** Tokens not sent to the provider. */
  tokensSaved: TokenUsage;
  /** Money not spent, from `prices` (0 for models without a price). */
  costSaved: number;
  /** The semantic tier (similar prompts): its hits are counted in `hits` too. */
  semantic: LlmSemanticStats;
}

/** Counters of the semantic tier of one kind. */
export interface LlmSemanticStats {
  /** Lookups by similarity (exact misses of requests with a compared text). */
  lookups: number;
  /** Answers served for a similar prompt. */
  hits: number;
  /** Matches refused: by a built-in guard, in the band without `verify` (`band`), or by `verify` (`verifier`). */
  refusals: Record<SemanticRefusal, number>;
  /** Calls of `verify`. */
  verifierCalls: number;
  /** Embedder or verifier failures (the request went on without the semantic tier). */
  errors: number;
}

/** Why a semantic match was refused. */
export type SemanticRefusal = 'numbers' | 'negations' | 'entities' | 'band' | 'verifier';

/** A semantic-tier event to count. */
export type SemanticEvent = 'lookup' | 'hit' | 'verifierCall' | 'error' | { refused: SemanticRefusal };

/** What `llmStats(cache)` returns: totals and per kind. */
export interface LlmStats extends LlmKindStats {
  kinds: Record<string, LlmKindStats>;
}

const empty = (): LlmKindStats => ({
  hits: 0,
  misses: 0,
  bypasses: 0,
  joined: 0,
  notStored: 0,
  tokensSaved: { input: 0, output: 0, cachedInput: 0 },
  costSaved: 0,
  semantic: {
    lookups: 0,
    hits: 0,
    refusals: { numbers: 0, negations: 0, entities: 0, band: 0, verifier: 0 },
    verifierCalls: 0,
    errors: 0,
  },
});

const copySemantic = (s: LlmSemanticStats): LlmSemanticStats => ({ ...s, refusals: { ...s.refusals } });

const byCache = new WeakMap<Cache, Map<string, LlmKindStats>>();

function counters(cache: Cache, kind: string): LlmKindStats {
  let kinds = byCache.get(cache);
  if (!kinds) byCache.set(cache, (kinds = new Map()));
  let s = kinds.get(kind);
  if (!s) kinds.set(kind, (s = empty()));
  return s;
}

/** Tokens and money saved by the LLM mode on `cache`, per kind, since the start or the last `resetLlmStats`. */
export function llmStats(cache: Cache): LlmStats {
  const total = empty();
  const kinds: Record<string, LlmKindStats> = {};
  for (const [kind, s] of byCache.get(cache) ?? []) {
    kinds[kind] = { ...s, tokensSaved: { ...s.tokensSaved }, semantic: copySemantic(s.semantic) };
    total.hits += s.hits;
    total.misses += s.misses;
    total.bypasses += s.bypasses;
    total.joined += s.joined;
    total.notStored += s.notStored;
    total.tokensSaved.input += s.tokensSaved.input;
    total.tokensSaved.output += s.tokensSaved.output;
    total.tokensSaved.cachedInput += s.tokensSaved.cachedInput;
    total.costSaved += s.costSaved;
    const t = total.semantic;
    t.lookups += s.semantic.lookups;
    t.hits += s.semantic.hits;
    t.verifierCalls += s.semantic.verifierCalls;
    t.errors += s.semantic.errors;
    for (const [why, n] of Object.entries(s.semantic.refusals)) t.refusals[why as SemanticRefusal] += n;
  }
  return { ...total, kinds };
}

/** Zeroes the counters of `llmStats(cache)`. */
export function resetLlmStats(cache: Cache): void {
  byCache.delete(cache);
}

/** Money an answer's usage cost at `price` (per 1M tokens). */
export function costOf(usage: TokenUsage, price: Required<ModelPrice> | undefined): number {
  if (!price) return 0;
  const cached = Math.min(usage.cachedInput, usage.input);
  return ((usage.input - cached) * price.input + cached * price.cachedInput + usage.output * price.output) / 1e6;
}

/** Counts one LLM request's outcome; on a hit, adds the tokens and money saved (and the metrics). */
export function recordLlm(
  cache: Cache,
  kind: string,
  event: 'hit' | 'miss' | 'bypass' | 'joined' | 'notStored',
  saved?: { usage: TokenUsage; cost: number; model: string | undefined },
): void {
  const s = counters(cache, kind);
  if (event === 'joined') {
    s.joined++;
    s.hits++;
  } else if (event === 'hit') s.hits++;
  else if (event === 'miss') s.misses++;
  else if (event === 'bypass') s.bypasses++;
  else s.notStored++;
  if (!saved) return;
  s.tokensSaved.input += saved.usage.input;
  s.tokensSaved.output += saved.usage.output;
  s.tokensSaved.cachedInput += saved.usage.cachedInput;
  s.costSaved += saved.cost;
  recordMetrics(cache, kind, saved);
}

/** Counts a semantic-tier event of `kind`. */
export function recordSemantic(cache: Cache, kind: string, event: SemanticEvent): void {
  const s = counters(cache, kind).semantic;
  if (event === 'lookup') s.lookups++;
  else if (event === 'hit') s.hits++;
  else if (event === 'verifierCall') s.verifierCalls++;
  else if (event === 'error') s.errors++;
  else s.refusals[event.refused]++;
}

/** Records the nearest similarity a semantic lookup found (histogram `infercache.llm.semantic.similarity`). */
export function recordSimilarity(cache: Cache, kind: string, similarity: number, outcome: 'hit' | 'miss'): void {
  try {
    instruments(cache)?.similarity.record(similarity, { [C.ATTR_KIND]: kind, [C.ATTR_LLM_SEMANTIC_OUTCOME]: outcome });
  } catch (error) {
    report(error);
  }
}

interface LlmInstruments {
  tokens: Counter;
  cost: Counter;
  similarity: Histogram;
  /** Attribute sets by kind, model and token type (or `cost`), made once. */
  attributes: Map<string, Attributes>;
}

const instrumentsByCache = new WeakMap<Cache, LazyInstruments<LlmInstruments>>();

function instruments(cache: Cache): LlmInstruments | undefined {
  let lazy = instrumentsByCache.get(cache);
  if (!lazy) {
    lazy = new LazyInstruments(cache.settings.telemetry, (meter) => ({
      tokens: meter.createCounter(C.METRIC_LLM_TOKENS_SAVED, {
        description: 'Tokens not sent to the LLM provider thanks to cache hits',
        unit: '{token}',
      }),
      cost: meter.createCounter(C.METRIC_LLM_COST_SAVED, {
        description: 'Money not spent on the LLM provider thanks to cache hits (from the prices table)',
        unit: '{cost}',
      }),
      similarity: meter.createHistogram(C.METRIC_LLM_SEMANTIC_SIMILARITY, {
        description: 'Nearest cosine similarity found by each semantic lookup (pick the threshold from it)',
        unit: '1',
        advice: { explicitBucketBoundaries: C.SIMILARITY_BUCKETS },
      }),
      attributes: new Map(),
    }));
    instrumentsByCache.set(cache, lazy);
  }
  return lazy.get();
}

/** The attribute set of one kind, model and token type (`undefined` for the cost counter), made once. */
function attributesOf(m: LlmInstruments, kind: string, model: string, type?: string): Attributes {
  const id = `${kind}\0${model}\0${type ?? ''}`;
  let a = m.attributes.get(id);
  if (!a) {
    a = { [C.ATTR_KIND]: kind, [C.ATTR_GEN_AI_REQUEST_MODEL]: model };
    if (type !== undefined) a[C.ATTR_LLM_TOKEN_TYPE] = type;
    if (m.attributes.size < 10_000) m.attributes.set(id, Object.freeze(a));
  }
  return a;
}

function recordMetrics(
  cache: Cache,
  kind: string,
  saved: { usage: TokenUsage; cost: number; model: string | undefined },
): void {
  try {
    const m = instruments(cache);
    if (!m) return;
    const model = saved.model ?? 'unknown';
    const { input, output, cachedInput } = saved.usage;
    if (input > 0) m.tokens.add(input, attributesOf(m, kind, model, 'input'));
    if (output > 0) m.tokens.add(output, attributesOf(m, kind, model, 'output'));
    if (cachedInput > 0) m.tokens.add(cachedInput, attributesOf(m, kind, model, 'cached_input'));
    if (saved.cost > 0) m.cost.add(saved.cost, attributesOf(m, kind, model));
  } catch (error) {
    report(error);
  }
}
