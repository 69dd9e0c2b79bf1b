/**
 * Options shared by the three ways into the LLM mode (`cachedOpenAI`, `llmCacheMiddleware`, `llmProxy`), validated
 * once when the wrapper, middleware or plugin is created (defaults in src/defaults.ts).
 */
import type { Cache } from '../cache.js';
import { ConfigError } from '../errors.js';
import { parseDuration, type Duration } from '../duration.js';
import { validateSegment } from '../keys.js';
import { LLM_DEFAULTS } from '../defaults.js';
import { checkAliases } from './key.js';
import { resolveSemantic, type ResolvedSemantic, type SemanticOptions } from './semantic/options.js';

/**
 * Which requests are cached, by their sampling settings:
 * - `'always'`: every request (its temperature is part of the key, so each temperature has its own entry; a
 *   sampled answer, once cached, is served again as is);
 * - `'deterministic'`: only requests with `temperature: 0` and `n` at most 1 (a request without a temperature uses
 *   the provider's default, 1 for OpenAI, and is not deterministic); embeddings always; the others go upstream
 *   uncached (counted as bypasses);
 * - `{ variants: N }`: keep up to N answers per key and serve one of them at random, so repeated questions still see
 *   some variety: each request picks one of N slots, a slot filled is a hit, an empty one a miss that fills it.
 */
export type TemperaturePolicy = 'always' | 'deterministic' | { variants: number };

/** Price of one model in your currency per 1M tokens, e.g. `{ input: 2.5, output: 10, cachedInput: 1.25 }`. */
export interface ModelPrice {
  /** Per 1M input (prompt) tokens. */
  input: number;
  /** Per 1M output (completion, reasoning included) tokens. @default 0 */
  output?: number;
  /** Per 1M input tokens that the provider served from its own prompt cache. @default input */
  cachedInput?: number;
}

/** Options shared by `cachedOpenAI`, `llmCacheMiddleware` and `llmProxy`; `R` is what `scope` is given. */
export interface LlmCacheOptions<R = unknown> {
  /** The cache that stores the answers. */
  cache: Cache;
  /**
   * Whose entries a request may read: a function of the request returning a tenant id (a user, an org), or
   * `'global'` to share every entry between all callers. Required: two scopes never share an entry. A function that
   * throws or returns no non-empty string makes that request run uncached.
   */
  scope: ((request: R) => string) | 'global';
  /** Kind of the entries: picks the TTL, groups stats and invalidation. @default 'llm' */
  kind?: string;
  /** TTL of the entries. @default the kind's TTL in the cache's `ttl` option */
  ttl?: Duration;
  /** Tags of every entry written, for `cache.invalidateTags` (answers and their semantic vectors). @default [] */
  tags?: readonly string[];
  /** Which requests are cached by their sampling settings. @default 'always' */
  temperature?: TemperaturePolicy;
  /**
   * Prices per model (the request's model name, else the response's), per 1M tokens, for the money saved by hits:
   * `{ 'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 } }`. @default {} (tokens counted, no money)
   */
  prices?: Readonly<Record<string, ModelPrice>>;
  /** Store answers cut by the token limit (`finish_reason: 'length'`, `max_output_tokens`). @default false */
  allowTruncated?: boolean;
  /** Model names that share entries: `{ 'gpt-4o-2024-08-06': 'gpt-4o' }`. @default {} */
  aliases?: Readonly<Record<string, string>>;
  /**
   * Delay between the chunks of a stored stream replayed on a hit (e.g. `'15ms'`, so a UI types it out like a live
   * answer). Live and joined streams always go at the upstream's pace. @default 0 (instant)
   */
  pace?: Duration;
  /**
   * The semantic tier: on an exact miss, serve the answer to a similar prompt (same model, system prompt, tools,
   * parameters, earlier turns and scope), under a similarity threshold and guards. @default undefined (exact only)
   */
  semantic?: SemanticOptions;
}

/** Options after validation. */
export interface ResolvedLlmOptions<R> {
  cache: Cache;
  scope: ((request: R) => string) | undefined;
  kind: string;
  ttl: number | undefined;
  tags: readonly string[] | undefined;
  temperature: 'always' | 'deterministic' | { variants: number };
  prices: Readonly<Record<string, Required<ModelPrice>>>;
  allowTruncated: boolean;
  aliases: Readonly<Record<string, string>> | undefined;
  /** Milliseconds between replayed chunks. */
  pace: number;
  semantic: ResolvedSemantic | undefined;
}

const KNOWN: Record<keyof LlmCacheOptions, true> = {
  cache: true,
  scope: true,
  kind: true,
  ttl: true,
  tags: true,
  temperature: true,
  prices: true,
  allowTruncated: true,
  aliases: true,
  pace: true,
  semantic: true,
};

/**
 * Validates the shared options once; throws ConfigError naming the option (prefixed with `where`, e.g.
 * `cachedOpenAI.scope`). `extra` lists option names the caller handles itself (e.g. `upstream` for the proxy).
 */
export function resolveLlmOptions<R>(
  options: LlmCacheOptions<R>,
  where: string,
  extra: readonly string[] = [],
): ResolvedLlmOptions<R> {
  if (typeof options !== 'object' || options === null) throw new ConfigError(where, 'expected an options object');
  for (const name of Object.keys(options)) {
    if (!(name in KNOWN) && !extra.includes(name)) throw new ConfigError(`${where}.${name}`, 'unknown option');
  }
  // structural, not instanceof: a cache made by the CommonJS build works with the ESM build of this module
  const cache = options.cache as Partial<Cache> | undefined;
  if (typeof cache?.wrapDetailed !== 'function' || typeof cache.set !== 'function' || !cache.settings) {
    throw new ConfigError(`${where}.cache`, 'expected a Cache made by createCache');
  }
  const scope = options.scope;
  if (scope !== 'global' && typeof scope !== 'function') {
    throw new ConfigError(
      `${where}.scope`,
      "required: a function of the request returning a tenant id, or 'global' to share entries between all callers",
    );
  }
  const kind = validateSegment(options.kind ?? LLM_DEFAULTS.kind, `${where}.kind`);
  if (kind.startsWith('__')) throw new ConfigError(`${where}.kind`, `kinds starting with '__' are reserved`);
  const ttl = options.ttl === undefined ? undefined : parseDuration(options.ttl, `${where}.ttl`);
  if (typeof options.allowTruncated !== 'boolean' && options.allowTruncated !== undefined) {
    throw new ConfigError(`${where}.allowTruncated`, 'expected a boolean');
  }
  return {
    cache: options.cache,
    scope: scope === 'global' ? undefined : scope,
    kind,
    ttl,
    tags: checkTags(options.tags, `${where}.tags`),
    temperature: temperaturePolicy(options.temperature, `${where}.temperature`),
    prices: priceTable(options.prices, `${where}.prices`),
    allowTruncated: options.allowTruncated ?? LLM_DEFAULTS.allowTruncated,
    aliases: checkAliases(options.aliases, `${where}.aliases`),
    pace: options.pace === undefined ? LLM_DEFAULTS.pace : parseDuration(options.pace, `${where}.pace`),
    semantic: resolveSemantic(options.semantic, `${where}.semantic`),
  };
}

function checkTags(value: unknown, setting: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && t.length > 0)) {
    throw new ConfigError(setting, 'expected an array of non-empty strings');
  }
  return Object.freeze([...(value as string[])]);
}

function temperaturePolicy(value: unknown, setting: string): ResolvedLlmOptions<unknown>['temperature'] {
  if (value === undefined) return LLM_DEFAULTS.temperature;
  if (value === 'always' || value === 'deterministic') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const n = (value as { variants?: unknown }).variants;
    if (Object.keys(value).length === 1 && typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 100) {
      return { variants: n };
    }
  }
  throw new ConfigError(setting, "expected 'always', 'deterministic' or { variants: N } with N from 1 to 100");
}

function priceTable(value: unknown, setting: string): Record<string, Required<ModelPrice>> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(setting, 'expected { [model]: { input, output, cachedInput } } per 1M tokens');
  }
  const table: Record<string, Required<ModelPrice>> = {};
  for (const [model, price] of Object.entries(value)) {
    const p = price as Partial<Record<keyof ModelPrice, unknown>> | null;
    const number = (v: unknown, name: string, fallback: number): number => {
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new ConfigError(`${setting}.${model}.${name}`, 'expected a finite number >= 0 (per 1M tokens)');
      }
      return v;
    };
    if (typeof p !== 'object' || p === null) throw new ConfigError(`${setting}.${model}`, 'expected { input, output }');
    const input = number(p.input, 'input', NaN);
    if (Number.isNaN(input)) throw new ConfigError(`${setting}.${model}.input`, 'required (per 1M tokens)');
    table[model] = {
      input,
      output: number(p.output, 'output', 0),
      cachedInput: number(p.cachedInput, 'cachedInput', input),
    };
  }
  return table;
}

/** Whether a request body is deterministic in the sense of the `'deterministic'` policy. */
export function isDeterministic(endpoint: string, body: Record<string, unknown>): boolean {
  if (endpoint === 'embeddings') return true;
  const n = body.n;
  return body.temperature === 0 && (n === undefined || n === null || n === 1);
}

/** Per-request control: the same for the three ways in (options, headers or `Cache-Control`). */
export interface LlmRequestControl {
  /** Neither read nor write the cache for this request (`Cache-Control: no-store`). */
  skip?: boolean;
  /** Do not read: compute, then store the answer over the old one (`Cache-Control: no-cache`). */
  refresh?: boolean;
  /** Accept only an entry at most this old; an older one is recomputed and replaced (`max-age=N`, seconds). */
  maxAge?: Duration;
  /** TTL of the entry this request writes. */
  ttl?: Duration;
}

/** Per-request control after validation (milliseconds). */
export interface ResolvedControl {
  skip: boolean;
  refresh: boolean;
  maxAgeMs: number | undefined;
  ttlMs: number | undefined;
}

/** No control given. */
export const NO_CONTROL: ResolvedControl = Object.freeze({
  skip: false,
  refresh: false,
  maxAgeMs: undefined,
  ttlMs: undefined,
});

/** Validates per-request control; throws ConfigError naming the field. */
export function resolveControl(control: LlmRequestControl | undefined, where = 'cache control'): ResolvedControl {
  if (!control) return NO_CONTROL;
  return {
    skip: control.skip === true,
    refresh: control.refresh === true,
    maxAgeMs: control.maxAge === undefined ? undefined : parseDuration(control.maxAge, `${where}.maxAge`),
    ttlMs: control.ttl === undefined ? undefined : parseDuration(control.ttl, `${where}.ttl`),
  };
}

/**
 * Reads an HTTP `Cache-Control` request header: `no-store` skips the cache, `no-cache` refreshes, `max-age=N` bounds
 * the age (seconds). Anything it does not understand is ignored (never an error: it comes from a client).
 */
export function parseCacheControl(header: string | undefined | null): ResolvedControl {
  if (!header) return NO_CONTROL;
  let skip = false;
  let refresh = false;
  let maxAgeMs: number | undefined;
  for (const part of header.toLowerCase().split(',')) {
    const directive = part.trim();
    if (directive === 'no-store') skip = true;
    else if (directive === 'no-cache') refresh = true;
    else {
      const m = /^max-age\s*=\s*"?(\d{1,10})"?$/.exec(directive);
      if (m) maxAgeMs = Number(m[1]) * 1000;
    }
  }
  return skip || refresh || maxAgeMs !== undefined ? { skip, refresh, maxAgeMs, ttlMs: undefined } : NO_CONTROL;
}
