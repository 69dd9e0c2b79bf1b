/**
 * What the LLM mode reads in OpenAI-style answers: whether one may be stored (complete, not refused, not cut
 * unless allowed) and its token usage. Works on plain JSON objects, the same for the `openai` client, the proxy and
 * replayed entries.
 */

/** Tokens of one answer. */
export interface TokenUsage {
  /** Input (prompt) tokens, cached ones included. */
  input: number;
  /** Output tokens (reasoning included). */
  output: number;
  /** Input tokens the provider served from its own prompt cache. */
  cachedInput: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/** Usage of an answer or of one stream chunk/event (chat and embeddings names, Responses API names). */
export function usageOf(value: unknown): TokenUsage | undefined {
  if (!isObj(value)) return undefined;
  if (isObj(value.usage) && 'inputTokens' in value.usage) return aiSdkUsage(value.usage);
  const u = isObj(value.usage)
    ? value.usage
    : isObj(value.response) && isObj(value.response.usage)
      ? value.response.usage
      : undefined;
  if (!u) return undefined;
  const details = isObj(u.prompt_tokens_details)
    ? u.prompt_tokens_details
    : isObj(u.input_tokens_details)
      ? u.input_tokens_details
      : undefined;
  return {
    input: num(u.prompt_tokens ?? u.input_tokens),
    output: num(u.completion_tokens ?? u.output_tokens),
    cachedInput: num(details?.cached_tokens),
  };
}

/** AI SDK usage: v3 (`inputTokens: { total, cacheRead }`) or v2 (`inputTokens: number`, `cachedInputTokens`). */
function aiSdkUsage(u: Obj): TokenUsage {
  const input = u.inputTokens;
  const output = u.outputTokens;
  return {
    input: isObj(input) ? num(input.total) : num(input),
    output: isObj(output) ? num(output.total) : num(output),
    cachedInput: isObj(input) ? num(input.cacheRead) : num(u.cachedInputTokens),
  };
}

/** Usage of a captured stream: the last chunk or event that carries one. */
export function streamUsage(chunks: readonly unknown[]): TokenUsage | undefined {
  for (let i = chunks.length - 1; i >= 0; i--) {
    const usage = usageOf(chunks[i]);
    if (usage) return usage;
  }
  return undefined;
}

/** The model an answer says produced it. */
export function modelOf(value: unknown): string | undefined {
  if (!isObj(value)) return undefined;
  if (typeof value.model === 'string') return value.model;
  if (isObj(value.response) && typeof value.response.model === 'string') return value.response.model;
  return undefined;
}

/** Why an answer is not stored, or undefined when it may be. */
export type NotStored = 'incomplete' | 'refused' | 'truncated' | 'failed';

/** Checks a complete (non-streamed) answer of `endpoint`. */
export function judgeAnswer(endpoint: string, value: unknown, allowTruncated: boolean): NotStored | undefined {
  if (!isObj(value)) return 'failed';
  if (endpoint === 'embeddings') return Array.isArray(value.data) ? undefined : 'incomplete';
  if (endpoint === 'responses') return judgeResponse(value, allowTruncated);
  if (endpoint === AI_SDK) return judgeAiSdkFinish(value.finishReason, allowTruncated);
  const choices = value.choices;
  if (!Array.isArray(choices) || choices.length === 0) return 'incomplete';
  for (const choice of choices) {
    if (!isObj(choice)) return 'incomplete';
    const verdict = judgeFinish(choice.finish_reason, allowTruncated);
    if (verdict) return verdict;
    if (isObj(choice.message) && typeof choice.message.refusal === 'string' && choice.message.refusal) return 'refused';
  }
  return undefined;
}

/** The endpoint name of AI SDK language-model calls (generate results and stream parts). */
export const AI_SDK = 'ai-sdk';

/** AI SDK finish reason: v3 `{ unified, raw }` or v2 string; `content-filter`, `error`, cut by `length` unless allowed. */
function judgeAiSdkFinish(reason: unknown, allowTruncated: boolean): NotStored | undefined {
  const unified = isObj(reason) ? reason.unified : reason;
  if (unified === 'content-filter') return 'refused';
  if (unified === 'length') return allowTruncated ? undefined : 'truncated';
  if (unified === 'error') return 'failed';
  return typeof unified === 'string' ? undefined : 'incomplete';
}

function judgeFinish(reason: unknown, allowTruncated: boolean): NotStored | undefined {
  if (reason === 'content_filter') return 'refused';
  if (reason === 'length') return allowTruncated ? undefined : 'truncated';
  if (typeof reason !== 'string' || reason === '') return 'incomplete';
  return undefined;
}

function judgeResponse(response: Obj, allowTruncated: boolean): NotStored | undefined {
  if (response.status === 'incomplete') {
    const reason = isObj(response.incomplete_details) ? response.incomplete_details.reason : undefined;
    if (reason === 'content_filter') return 'refused';
    if (reason === 'max_output_tokens' && allowTruncated) return refusalIn(response.output) ? 'refused' : undefined;
    return reason === 'max_output_tokens' ? 'truncated' : 'incomplete';
  }
  if (response.status !== 'completed') return response.status === 'failed' ? 'failed' : 'incomplete';
  return refusalIn(response.output) ? 'refused' : undefined;
}

function refusalIn(output: unknown): boolean {
  if (!Array.isArray(output)) return false;
  for (const item of output) {
    if (!isObj(item) || !Array.isArray(item.content)) continue;
    for (const part of item.content) if (isObj(part) && part.type === 'refusal') return true;
  }
  return false;
}

/**
 * Checks a captured stream of `endpoint` that ended without an error: chat and legacy completions need a finish
 * reason on every choice seen (none refused, none cut unless allowed, no refusal delta); the Responses API needs its
 * `response.completed` event (or `response.incomplete` cut by the token limit, when allowed).
 */
export function judgeStream(
  endpoint: string,
  chunks: readonly unknown[],
  allowTruncated: boolean,
): NotStored | undefined {
  if (endpoint === AI_SDK) {
    if (chunks.some((part) => isObj(part) && part.type === 'error')) return 'failed';
    const finish = chunks.findLast((part) => isObj(part) && part.type === 'finish') as Obj | undefined;
    return finish ? judgeAiSdkFinish(finish.finishReason, allowTruncated) : 'incomplete';
  }
  if (endpoint === 'responses') {
    for (let i = chunks.length - 1; i >= 0; i--) {
      const event = chunks[i];
      if (!isObj(event)) continue;
      if (event.type === 'response.completed' || event.type === 'response.incomplete') {
        return isObj(event.response) ? judgeResponse(event.response, allowTruncated) : 'incomplete';
      }
      if (event.type === 'response.failed' || event.type === 'error') return 'failed';
    }
    return 'incomplete';
  }
  const finished = new Map<number, unknown>();
  let seen = false;
  for (const chunk of chunks) {
    if (!isObj(chunk) || !Array.isArray(chunk.choices)) continue;
    for (const choice of chunk.choices) {
      if (!isObj(choice)) continue;
      seen = true;
      const index = typeof choice.index === 'number' ? choice.index : 0;
      if (!finished.has(index)) finished.set(index, null);
      if (choice.finish_reason) finished.set(index, choice.finish_reason);
      if (isObj(choice.delta) && typeof choice.delta.refusal === 'string' && choice.delta.refusal) return 'refused';
    }
  }
  if (!seen) return 'incomplete';
  for (const reason of finished.values()) {
    const verdict = judgeFinish(reason, allowTruncated);
    if (verdict) return verdict;
  }
  return undefined;
}

/** Whether a chat/completions chunk is the final usage-only chunk (`choices: []` with `usage`). */
export function isUsageOnlyChunk(chunk: unknown): boolean {
  return isObj(chunk) && Array.isArray(chunk.choices) && chunk.choices.length === 0 && isObj(chunk.usage);
}
