/** infercache/llm: exact LLM response caching for the `openai` client, the AI SDK and an OpenAI-compatible proxy. */
export { cachedOpenAI, cacheControl, TTL_HEADER } from './openai.js';
export { llmKey, LLM_KEY_VERSION, LLM_KEY_EXCLUDED } from './key.js';
export { cacheInfo } from './info.js';
export { llmCacheMiddleware, llmEmbeddingMiddleware } from './middleware.js';
export { llmStats, resetLlmStats } from './stats.js';
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
export type { LlmStats, LlmKindStats } from './stats.js';
export type { TokenUsage, NotStored } from './shapes.js';
