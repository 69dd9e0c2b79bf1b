/** infercache/llm: LLM response caching (exact, and for similar prompts) for the `openai` client, the AI SDK and an OpenAI-compatible proxy. */
export { cachedOpenAI, cacheControl, TTL_HEADER } from './openai.js';
export { llmKey, LLM_KEY_VERSION, LLM_KEY_EXCLUDED } from './key.js';
export { cacheInfo } from './info.js';
export { llmCacheMiddleware, llmEmbeddingMiddleware } from './middleware.js';
export { llmStats, resetLlmStats } from './stats.js';
export { tuneThreshold } from './semantic/tune.js';
export { numbersOf, negationsOf, entitiesOf } from './semantic/guards.js';
export type { CachedOpenAIOptions, OpenAIScopeRequest } from './openai.js';
export type { LlmKeyOptions, LlmEndpoint } from './key.js';
export type { LlmCacheInfo } from './info.js';
export type {
  LlmEmbeddingMiddleware,
  LlmCacheMiddleware,
  LlmCacheMiddlewareOptions,
  AiSdkScopeRequest,
  AiSdkModel,
} from './middleware.js';
export type { LlmCacheOptions, LlmRequestControl, ModelPrice, TemperaturePolicy } from './options.js';
export type { LlmStats, LlmKindStats, LlmSemanticStats, SemanticRefusal } from './stats.js';
export type { TokenUsage, NotStored } from './shapes.js';
export type { SemanticOptions, SemanticGuards, SemanticCandidate, EmbeddingVector } from './semantic/options.js';
export type { SemanticInfo } from './semantic/tier.js';
export type { GuardName } from './semantic/guards.js';
export type { LabelledPair, TuneThresholdOptions, TunedThreshold, ThresholdPoint } from './semantic/tune.js';
