/** `cacheInfo(result)`: how the LLM mode served an answer or a stream it returned. */
import type { NotStored, TokenUsage } from './shapes.js';
import type { SemanticInfo } from './semantic/tier.js';

/** How the LLM mode served an answer: what `cacheInfo(result)` returns. */
export interface LlmCacheInfo {
  /** Served from the cache, or from an identical request's upstream call while it ran. */
  hit: boolean;
  /** Seconds since the answer was computed (0 on a miss). */
  age: number;
  /** `hit`, `miss`, `joined` (shared a running identical stream), `refresh` (recomputed on request) or `bypass`. */
  result: 'hit' | 'miss' | 'joined' | 'refresh' | 'bypass';
  /** The request's `llmKey` (a hash: no prompt text), when it was keyed. */
  key?: string;
  /** Why a computed answer was not stored (a streamed one: known once the stream ended). */
  notStored?: NotStored;
  /** Tokens a hit saved. */
  tokensSaved?: TokenUsage;
  /** Money a hit saved (from `prices`). */
  costSaved?: number;
  /**
   * Set when the semantic tier looked the request up and found a candidate: on a hit served for a similar prompt,
   * its `similarity`; on a miss, the nearest candidate's similarity and why it was refused (`refusedBy`), if it was.
   */
  semantic?: SemanticInfo;
}

const infos = new WeakMap<object, LlmCacheInfo>();

/** How the LLM mode served `result` (an answer or a stream it returned), or `undefined` for anything else. */
export function cacheInfo(result: unknown): LlmCacheInfo | undefined {
  return typeof result === 'object' && result !== null ? infos.get(result) : undefined;
}

/** Attaches `info` to a result object (internal: used by the three ways in). */
export function tagResult<T>(result: T, info: LlmCacheInfo): T {
  if (typeof result === 'object' && result !== null) infos.set(result, info);
  return result;
}
