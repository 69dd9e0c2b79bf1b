/**
 * The canonical key of an OpenAI-style request body (chat completions, Responses API, embeddings, legacy
 * completions): every field that can change the answer, in any key order, under a key-schema version.
 */
import { hashArgs } from '../keys.js';
import { ConfigError } from '../errors.js';

/**
 * Version of the key schema, part of every key: bumped whenever what goes into a key changes, so that entries
 * written under an older schema are never read under a newer one.
 */
export const LLM_KEY_VERSION = 1;

/**
 * Top-level request fields left out of the key, because they do not change the answer:
 * - `stream`, `stream_options`: how the answer is delivered (a streamed and a plain answer are still stored apart,
 *   see `cachedOpenAI`; the final usage chunk is always captured and dropped on replay when not asked for);
 * - `user`, `safety_identifier`, `metadata`: who asked and labels for the provider's dashboard;
 * - `store`, `background`, `prompt_cache_key`, `service_tier`: provider-side storage, queueing, prompt-cache routing
 *   and latency tier, not the tokens produced.
 * Every other field, known or not (provider extras included), is part of the key.
 */
export const LLM_KEY_EXCLUDED: readonly string[] = Object.freeze([
  'stream',
  'stream_options',
  'user',
  'safety_identifier',
  'metadata',
  'store',
  'background',
  'prompt_cache_key',
  'service_tier',
]);

const EXCLUDED = new Set(LLM_KEY_EXCLUDED);

/** The API a body is for: bodies of two endpoints never share a key. */
export type LlmEndpoint = 'chat.completions' | 'responses' | 'embeddings' | 'completions' | (string & {});

/** Options of {@link llmKey}. */
export interface LlmKeyOptions {
  /**
   * Model names to treat as one: `{ 'gpt-4o-2024-08-06': 'gpt-4o' }` makes requests for either share entries.
   * Only the names mapped here are merged. @default {} (every model name is its own)
   */
  aliases?: Readonly<Record<string, string>>;
  /** The API the body is for; part of the key. @default '' (give it when bodies of several APIs share a cache) */
  endpoint?: LlmEndpoint;
}

/**
 * Canonical key of an OpenAI-style request body: `llm<version>:<SHA-256 of the canonical encoding>`.
 * The body minus {@link LLM_KEY_EXCLUDED}, with the model mapped through `aliases` and fields whose value is
 * `undefined` dropped (they are not sent), is encoded with object keys sorted, so key order never matters and any
 * change to any other field (temperature, tools, messages, seed, provider extras...) gives another key. Values are
 * not normalised further: `n: 1` and no `n` are two keys (a miss, never a wrong answer).
 * Throws UnkeyableError when the body holds something that cannot be keyed (a function, a circular reference).
 */
export function llmKey(body: unknown, options: LlmKeyOptions = {}): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new TypeError('infercache: llmKey expects a request body object');
  }
  // null prototype: a body's own `__proto__` field (JSON.parse makes one) stays a field, in the key
  const kept: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const name of Object.keys(body)) {
    if (EXCLUDED.has(name)) continue;
    const value = (body as Record<string, unknown>)[name];
    if (value !== undefined) kept[name] = hasUndefined(value) ? withoutUndefined(value) : value;
  }
  const model = kept.model;
  if (typeof model === 'string' && options.aliases && Object.hasOwn(options.aliases, model)) {
    kept.model = options.aliases[model];
  }
  return `llm${LLM_KEY_VERSION}:` + hashArgs([options.endpoint ?? '', kept]);
}

/** Validates an `aliases` option once; throws ConfigError naming `setting`. */
export function checkAliases(value: unknown, setting: string): Readonly<Record<string, string>> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(setting, 'expected an object mapping model names to model names');
  }
  for (const [from, to] of Object.entries(value)) {
    if (typeof to !== 'string' || to.length === 0) {
      throw new ConfigError(`${setting}.${from}`, 'expected a non-empty model name');
    }
  }
  return Object.freeze({ ...(value as Record<string, string>) });
}

/** Whether a plain object or array holds an `undefined` property value at any depth (read only: no copy). */
function hasUndefined(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (hasUndefined(item)) return true;
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined || hasUndefined(v)) return true;
  }
  return false;
}

/** JSON semantics: a property whose value is `undefined` is not sent, so it is not part of the key either. */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== 'object' || value === null) return value;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = withoutUndefined(v);
  return out;
}
