/**
 * `llmCacheMiddleware(options)`: an AI SDK language-model middleware (`wrapLanguageModel({ model, middleware })`)
 * caching `generateText`/`generateObject` (`wrapGenerate`) and `streamText`/`streamObject` (`wrapStream`, the stream
 * parts replayed). Typed structurally against the AI SDK 6 middleware (`specificationVersion: 'v3'`): the library
 * does not import `ai` at run time.
 */
import { LlmEngine, tagResult, type LlmCacheInfo, type LlmRequest } from './engine.js';
import { embedThroughCache } from './embeddings.js';
import { NO_CONTROL, parseCacheControl, resolveLlmOptions, type LlmCacheOptions } from './options.js';
import { AI_SDK } from './shapes.js';
import { ReplayStream } from './stream.js';

/** The model a middleware call is for (the parts of `LanguageModelV3` it reads). */
export interface AiSdkModel {
  readonly provider: string;
  readonly modelId: string;
}

/** What `scope` is given by the middleware: the call's options (`LanguageModelV3CallOptions`) and the model. */
export interface AiSdkScopeRequest {
  params: Record<string, unknown>;
  model: AiSdkModel;
}

/** Options of {@link llmCacheMiddleware}. */
export type LlmCacheMiddlewareOptions = LlmCacheOptions<AiSdkScopeRequest>;

/** The AI SDK `LanguageModelV3Middleware` shape this returns (structural). */
export interface LlmCacheMiddleware {
  readonly specificationVersion: 'v3';
  wrapGenerate(options: {
    doGenerate: () => PromiseLike<any>;
    doStream: () => PromiseLike<any>;
    params: any;
    model: AiSdkModel;
  }): Promise<any>;
  wrapStream(options: {
    doGenerate: () => PromiseLike<any>;
    doStream: () => PromiseLike<any>;
    params: any;
    model: AiSdkModel;
  }): Promise<any>;
}

/**
 * Call options left out of the key: `abortSignal` and `headers` (per-request transport; headers may carry
 * credentials). Everything else (prompt, tools, temperature, maxOutputTokens, seed, responseFormat,
 * providerOptions...) is part of it, with the provider and the model id.
 */
const NOT_KEYED = new Set(['abortSignal', 'headers']);

/**
 * AI SDK middleware caching language-model calls through `options.cache`. Per-request control comes from the
 * call's `headers` (`Cache-Control: no-store | no-cache | max-age=N`, e.g. `generateText({ headers })`), which are
 * still sent to the provider. How a call was served is in the result's `providerMetadata.infercache`
 * (`{ hit, age, result }`), on `generateText` results and on the stream's `finish` part.
 */
export function llmCacheMiddleware(options: LlmCacheMiddlewareOptions): LlmCacheMiddleware {
  const engine = new LlmEngine(resolveLlmOptions(options, 'llmCacheMiddleware'), 'llmCacheMiddleware');

  const requestOf = (params: Record<string, unknown>, model: AiSdkModel): LlmRequest => {
    const body: Record<string, unknown> = { provider: model.provider, model: model.modelId };
    for (const [name, value] of Object.entries(params)) if (!NOT_KEYED.has(name)) body[name] = value;
    const headers = params.headers as Record<string, string | undefined> | undefined;
    const cacheHeader = headers && Object.entries(headers).find(([n]) => n.toLowerCase() === 'cache-control')?.[1];
    return {
      endpoint: AI_SDK,
      body,
      scope: engine.scopeOf({ params, model }),
      control: cacheHeader ? parseCacheControl(cacheHeader) : NO_CONTROL,
    };
  };

  return {
    specificationVersion: 'v3',
    async wrapGenerate({ doGenerate, params, model }) {
      const request = requestOf(params, model);
      const { value, info } = await engine.answer(request, async () => (await doGenerate()) as object);
      const result = {
        ...value,
        providerMetadata: withInfo((value as { providerMetadata?: object }).providerMetadata, info),
      };
      return tagResult(result, info);
    },
    async wrapStream({ doStream, params, model }) {
      const request = requestOf(params, model);
      let first: { request?: unknown; response?: unknown } | undefined;
      const { source, info } = await engine.stream(request, async () => {
        const result = (await doStream()) as { stream: ReadableStream<unknown>; request?: unknown; response?: unknown };
        first = result;
        const stream = result.stream;
        return { iterable: stream as unknown as AsyncIterable<unknown>, abort: () => {} };
      });
      const parts = new ReplayStream(source)[Symbol.asyncIterator]();
      const stream = new ReadableStream<unknown>({
        async pull(controller) {
          try {
            const { done, value } = await parts.next();
            if (done) return controller.close();
            const part = value as { type?: string; providerMetadata?: object };
            controller.enqueue(
              part?.type === 'finish' ? { ...part, providerMetadata: withInfo(part.providerMetadata, info) } : part,
            );
          } catch (error) {
            controller.error(error);
          }
        },
        async cancel() {
          await parts.return?.();
        },
      });
      return tagResult({ stream, request: first?.request, response: first?.response }, info);
    },
  };
}

function withInfo(metadata: object | undefined, info: LlmCacheInfo): Record<string, unknown> {
  const infercache: Record<string, unknown> = { hit: info.hit, age: info.age, result: info.result };
  if (info.semantic) infercache.semantic = { ...info.semantic };
  return { ...metadata, infercache };
}

/** The AI SDK `EmbeddingModelV3Middleware` shape {@link llmEmbeddingMiddleware} returns (structural). */
export interface LlmEmbeddingMiddleware {
  readonly specificationVersion: 'v3';
  wrapEmbed(options: {
    doEmbed: () => PromiseLike<any>;
    params: any;
    model: AiSdkModel & { doEmbed(params: any): PromiseLike<any> };
  }): Promise<any>;
}

/**
 * AI SDK embedding-model middleware (`wrapEmbeddingModel({ model, middleware })`, for `embed` and `embedMany`):
 * each value is its own entry, and the model is asked only for the values not cached, in one call; the result
 * holds every embedding in order, with the usage of what was computed.
 */
export function llmEmbeddingMiddleware(options: LlmCacheMiddlewareOptions): LlmEmbeddingMiddleware {
  const engine = new LlmEngine(resolveLlmOptions(options, 'llmEmbeddingMiddleware'), 'llmEmbeddingMiddleware');
  return {
    specificationVersion: 'v3',
    async wrapEmbed({ params, model }) {
      const p = params as { values: unknown[]; headers?: Record<string, string | undefined> };
      const body: Record<string, unknown> = { provider: model.provider, model: model.modelId };
      for (const [name, value] of Object.entries(p)) if (!NOT_KEYED.has(name) && name !== 'values') body[name] = value;
      body.input = p.values;
      const cacheHeader =
        p.headers && Object.entries(p.headers).find(([n]) => n.toLowerCase() === 'cache-control')?.[1];
      const request: LlmRequest = {
        endpoint: 'embeddings',
        body,
        scope: engine.scopeOf({ params: p, model }),
        control: cacheHeader ? parseCacheControl(cacheHeader) : NO_CONTROL,
      };
      let last: Record<string, unknown> | undefined;
      const { value, info } = await embedThroughCache(engine, request, async (sent) => {
        const result = (await model.doEmbed({ ...p, values: sent.input })) as {
          embeddings: unknown[];
          usage?: { tokens?: number };
        };
        last = result;
        const tokens = result.usage?.tokens ?? 0;
        return {
          data: result.embeddings.map((embedding, index) => ({ index, embedding })),
          model: model.modelId,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        };
      });
      const answer = value as { data: Array<{ embedding: unknown }>; usage: { prompt_tokens: number } };
      const result = {
        warnings: [],
        ...last,
        embeddings: answer.data.map((d) => d.embedding),
        usage: { tokens: answer.usage.prompt_tokens },
        providerMetadata: withInfo((last as { providerMetadata?: object } | undefined)?.providerMetadata, info),
      };
      return tagResult(result, info);
    },
  };
}
