/**
 * The semantic tier of one wrapper: on an exact miss, finds a stored answer to a similar prompt within the same
 * exact-match filter, and serves it only past the threshold (or the verifier, in the band), the built-in guards and
 * a read through the cache that honours TTLs and every invalidation.
 */
import { createHash } from 'node:crypto';
import type { Cache } from '../../cache.js';
import { llmKey } from '../key.js';
import { recordSemantic, recordSimilarity, type SemanticRefusal } from '../stats.js';
import { lastUserText, withoutCompared } from './compare.js';
import { guardRefusing } from './guards.js';
import type { ResolvedSemantic } from './options.js';
import { PARTITION_SEPARATOR, SemanticStore, type SemanticEntryOptions } from './store.js';

/** Candidates examined per lookup, most similar first. */
const CANDIDATES = 4;
/** Tolerance of the threshold comparisons (float32 rounding: equal texts give 0.99999994). */
const EPSILON = 1e-6;

/** What `cacheInfo(result).semantic` holds when a semantic lookup ran and found a candidate. */
export interface SemanticInfo {
  /** Cosine similarity of the match served, or of the nearest candidate when none was. */
  similarity: number;
  /** Why the nearest candidate at or above `threshold - band` was not served, on a miss. */
  refusedBy?: SemanticRefusal;
}

/** A stored answer served for a similar prompt (what the cache's computation returns instead of computing). */
export class SemanticServed {
  constructor(
    readonly value: unknown,
    readonly age: number,
    readonly info: SemanticInfo,
  ) {}
}

/** A request prepared for the semantic tier: its compared text, filter and (once embedded) vector. */
export interface SemanticProbe {
  text: string;
  partition: string;
  vector?: Float32Array;
  /** Set on a miss that found a candidate. */
  info?: SemanticInfo;
}

/** What the tier needs to know of a request. */
export interface SemanticRequest {
  endpoint: string;
  body: Record<string, unknown>;
  /** `<delivery>.<scope tag>`: part of the filter. */
  mode: string;
  scope: string;
}

/** Rounded to 1e-6 (as tuneThreshold does): float32 noise aside, equal texts have similarity 1. */
function rounded(similarity: number): number {
  return Math.max(-1, Math.min(1, Math.round(similarity * 1e6) / 1e6));
}

/** Cosine similarity of two vectors (0 when their lengths differ). */
function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** The semantic tier of one wrapper (one kind). */
export class SemanticTier {
  readonly #options: ResolvedSemantic;
  readonly #cache: Cache;
  readonly #kind: string;
  readonly #aliases: Readonly<Record<string, string>> | undefined;
  readonly #warn: (message: string) => void;
  readonly #store: SemanticStore;

  constructor(
    options: ResolvedSemantic,
    parts: { cache: Cache; kind: string; aliases?: Readonly<Record<string, string>>; warn: (m: string) => void },
  ) {
    this.#options = options;
    this.#cache = parts.cache;
    this.#kind = parts.kind;
    this.#aliases = parts.aliases;
    this.#warn = parts.warn;
    this.#store = SemanticStore.of(parts.cache);
    void this.#store.ready(parts.kind); // filled from Redis at start
  }

  /** The compared text and filter of a request, or undefined when it has none (looked up exactly only). */
  probe(request: SemanticRequest): SemanticProbe | undefined {
    if (request.endpoint === 'embeddings') return undefined;
    let text: string | undefined;
    try {
      text = this.#options.compare ? this.#options.compare(request.body, request.endpoint) : lastUserText(request.body);
    } catch (error) {
      this.#fail(`semantic.compare threw (${(error as Error)?.message})`);
      return undefined;
    }
    if (typeof text !== 'string' || text.trim() === '') return undefined;
    const rest = llmKey(withoutCompared(request.body, text), { aliases: this.#aliases, endpoint: request.endpoint });
    const filter = createHash('sha256')
      .update(`${request.mode}|${request.scope}|${this.#cache.settings.version}|${rest}`)
      .digest('base64url');
    return { text, partition: this.#kind + PARTITION_SEPARATOR + filter };
  }

  /** Looks a probe up: a stored answer to serve, or undefined (the probe then carries the vector to remember). */
  async lookup(probe: SemanticProbe, maxAgeMs: number | undefined): Promise<SemanticServed | undefined> {
    const vector = await this.#embed(probe.text);
    if (!vector) return undefined;
    probe.vector = vector;
    await this.#store.ready(this.#kind);
    recordSemantic(this.#cache, this.#kind, 'lookup');
    const { threshold, band } = this.#options;
    let found: Array<{ id: string; similarity: number; error: number }>;
    try {
      found = this.#store.index.search(probe.partition, vector, CANDIDATES);
    } catch (error) {
      this.#fail(`semantic.embed returned a vector the index refuses (${(error as Error)?.message})`);
      return undefined;
    }
    const nearest = found[0] && rounded(found[0].similarity);
    // the index's similarity may be approximate (quantised): within its error bound of the floor is a candidate,
    // and the decision uses the exact similarity to the stored float32 vector
    const candidates = found.filter((c) => c.similarity + c.error >= threshold - band - EPSILON);
    let refusedBy: SemanticRefusal | undefined;
    const before = this.#store.failures();
    const reads = candidates.map((c) =>
      Promise.all([this.#store.read(this.#kind, c.id), this.#cache.get(this.#kind, c.id).catch(() => undefined)]),
    );
    for (let i = 0; i < candidates.length; i++) {
      const { id } = candidates[i]!;
      const [record, answer] = await reads[i]!;
      const similarity = record ? rounded(cosine(vector, record.v)) : candidates[i]!.similarity;
      if (!record || answer === undefined) {
        // expired or invalidated (kind, tag, version, entry): dropped, unless Redis failed meanwhile
        if (this.#store.failures() === before) this.#store.drop(this.#kind, id);
        continue;
      }
      const age = Math.max(0, (Date.now() - record.at) / 1000);
      if (maxAgeMs !== undefined && age * 1000 > maxAgeMs) continue;
      if (similarity < threshold - band - EPSILON) continue;
      const why =
        guardRefusing(probe.text, record.t, this.#options.guards) ??
        (await this.#verify(probe.text, record.t, similarity, answer));
      if (why) {
        recordSemantic(this.#cache, this.#kind, { refused: why });
        refusedBy ??= why;
        continue;
      }
      recordSemantic(this.#cache, this.#kind, 'hit');
      recordSimilarity(this.#cache, this.#kind, similarity, 'hit');
      return new SemanticServed(answer, age, { similarity });
    }
    if (nearest !== undefined) {
      recordSimilarity(this.#cache, this.#kind, nearest, 'miss');
      probe.info = refusedBy ? { similarity: nearest, refusedBy } : { similarity: nearest };
    }
    return undefined;
  }

  /** Stores the vector of an answer just stored under `id` (fail-open). */
  async remember(probe: SemanticProbe, id: string, entry: SemanticEntryOptions): Promise<void> {
    if (!probe.vector) return;
    const record = { v: probe.vector, t: probe.text, p: probe.partition, at: Date.now() };
    await this.#store.add(this.#kind, id, record, entry).catch(() => {});
  }

  /** In the band: the verifier's refusal, or 'band' when there is none; undefined past the threshold or when it agrees. */
  async #verify(
    text: string,
    matchedText: string,
    similarity: number,
    answer: unknown,
  ): Promise<SemanticRefusal | undefined> {
    if (similarity >= this.#options.threshold - EPSILON) return undefined;
    const verify = this.#options.verify;
    if (!verify) return 'band';
    recordSemantic(this.#cache, this.#kind, 'verifierCall');
    try {
      return (await verify({ text, matchedText, similarity, answer })) === true ? undefined : 'verifier';
    } catch (error) {
      this.#fail(`semantic.verify threw (${(error as Error)?.message})`);
      return 'verifier';
    }
  }

  async #embed(text: string): Promise<Float32Array | undefined> {
    try {
      const raw = await this.#options.embed(text);
      const vector =
        ArrayBuffer.isView(raw) || Array.isArray(raw) ? Float32Array.from(raw as ArrayLike<number>) : undefined;
      if (vector && vector.length > 0 && vector.every(Number.isFinite) && vector.some((x) => x !== 0)) return vector;
      this.#fail('semantic.embed returned no vector of finite numbers, not all zero');
    } catch (error) {
      this.#fail(`semantic.embed threw (${(error as Error)?.message})`);
    }
    return undefined;
  }

  #fail(message: string): void {
    recordSemantic(this.#cache, this.#kind, 'error');
    this.#warn(`${message}; the request goes on without the semantic tier`);
  }
}
