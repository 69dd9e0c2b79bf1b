/** The `semantic` option of the LLM mode: its type, defaults and validation (once, when the wrapper is created). */
import { ConfigError } from '../../errors.js';
import { SEMANTIC_DEFAULTS } from '../../defaults.js';
import { GUARD_NAMES, type GuardName } from './guards.js';

/** A vector an embedder returns. */
export type EmbeddingVector = readonly number[] | Float32Array | Float64Array;

/** What a `verify` function is given for a match in the uncertainty band. */
export interface SemanticCandidate {
  /** The compared text of the request being served. */
  text: string;
  /** The compared text of the stored request that matched. */
  matchedText: string;
  /** Cosine similarity of the two embeddings. */
  similarity: number;
  /** The stored answer that would be served (the stream's chunks, `{ chunks }`, for a streamed request). */
  answer: unknown;
}

/** Built-in guards to turn off (each is on by default). */
export interface SemanticGuards {
  /** Refuse when the texts mention different numbers (digits or spelled out). @default true */
  numbers?: boolean;
  /** Refuse when the texts hold a different number of negations (`not`, `no`, `never`, `n't`, `without`…). @default true */
  negations?: boolean;
  /** Refuse when one text names an entity or quotes a string the other does not contain. @default true */
  entities?: boolean;
}

/** The semantic tier of a kind: similar prompts hit, under guards. */
export interface SemanticOptions {
  /**
   * Your embedder: text → vector (`number[]`, `Float32Array`, or a promise of one), e.g. OpenAI embeddings through
   * a `cachedOpenAI` client, or a local model. All vectors of a kind must come from the same embedder.
   */
  embed: (text: string) => EmbeddingVector | PromiseLike<EmbeddingVector>;
  /** Cosine similarity from which a match is served (0 < threshold ≤ 1). Pick it with `tuneThreshold`. */
  threshold: number;
  /**
   * Width of the uncertainty band below `threshold`: a match in `[threshold - band, threshold)` is served only if
   * `verify` says yes (no `verify`: a miss). @default 0
   */
  band?: number;
  /** Decides matches in the band (a cross-encoder, an LLM judge, a rule). A throw or rejection counts as no. */
  verify?: (candidate: SemanticCandidate) => boolean | PromiseLike<boolean>;
  /** Built-in guards against false hits; `false` turns all off. @default all on */
  guards?: SemanticGuards | false;
  /**
   * The text compared, from the request body (everything else in the body must match exactly). Return undefined to
   * look the request up exactly only. The last string value in the body equal to it is left out of the exact filter.
   * @default the last user message's text
   */
  compare?: (body: Record<string, unknown>, endpoint: string) => string | undefined;
}

/** The semantic option after validation. */
export interface ResolvedSemantic {
  embed: SemanticOptions['embed'];
  threshold: number;
  band: number;
  verify: SemanticOptions['verify'];
  guards: Readonly<Record<GuardName, boolean>>;
  compare: SemanticOptions['compare'];
}

const KNOWN: Record<keyof SemanticOptions, true> = {
  embed: true,
  threshold: true,
  band: true,
  verify: true,
  guards: true,
  compare: true,
};

/** Validates the `semantic` option; throws ConfigError naming the setting (`<where>.semantic.threshold`...). */
export function resolveSemantic(value: unknown, setting: string): ResolvedSemantic | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(setting, 'expected { embed, threshold, band?, verify?, guards?, compare? }');
  }
  const o = value as Partial<Record<keyof SemanticOptions, unknown>>;
  for (const name of Object.keys(o))
    if (!(name in KNOWN)) throw new ConfigError(`${setting}.${name}`, 'unknown option');
  if (typeof o.embed !== 'function') {
    throw new ConfigError(`${setting}.embed`, 'required: a function text → number[] | Float32Array (or a promise)');
  }
  const threshold = o.threshold;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) {
    throw new ConfigError(
      `${setting}.threshold`,
      'required: a cosine similarity in (0, 1]; pick it with tuneThreshold',
    );
  }
  const band = o.band ?? SEMANTIC_DEFAULTS.band;
  if (typeof band !== 'number' || !(band >= 0 && band < threshold)) {
    throw new ConfigError(`${setting}.band`, 'expected a number >= 0 and below threshold');
  }
  if (o.verify !== undefined && typeof o.verify !== 'function') {
    throw new ConfigError(`${setting}.verify`, 'expected a function of the candidate returning a boolean');
  }
  if (o.compare !== undefined && typeof o.compare !== 'function') {
    throw new ConfigError(`${setting}.compare`, 'expected a function (body, endpoint) → string | undefined');
  }
  return {
    embed: o.embed as SemanticOptions['embed'],
    threshold,
    band,
    verify: o.verify as SemanticOptions['verify'],
    guards: resolveGuards(o.guards, `${setting}.guards`),
    compare: o.compare as SemanticOptions['compare'],
  };
}

/** Validates a `guards` option. */
export function resolveGuards(value: unknown, setting: string): Readonly<Record<GuardName, boolean>> {
  const all = (on: boolean) => Object.freeze({ numbers: on, negations: on, entities: on });
  if (value === undefined || value === true) return all(true);
  if (value === false) return all(false);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(setting, 'expected false or { numbers?, negations?, entities? } (booleans)');
  }
  const out = { ...all(true) };
  for (const [name, on] of Object.entries(value)) {
    if (!GUARD_NAMES.includes(name as GuardName)) throw new ConfigError(`${setting}.${name}`, 'unknown guard');
    if (typeof on !== 'boolean') throw new ConfigError(`${setting}.${name}`, 'expected a boolean');
    out[name as GuardName] = on;
  }
  return Object.freeze(out);
}
