/**
 * `llmProxy`: an OpenAI-compatible caching proxy for Fastify. `POST {prefix}/chat/completions`, `/responses`,
 * `/embeddings` and `/completions` are answered from the cache or forwarded to `upstream` (SSE streams included), so
 * a service in any language gets the cache by changing its base URL.
 */
import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../src/errors.js';
import { LLM_DEFAULTS } from '../src/defaults.js';
import { LlmEngine, type LlmCacheInfo, type LlmRequest } from '../src/llm/engine.js';
import { embedThroughCache } from '../src/llm/embeddings.js';
import { parseCacheControl, resolveLlmOptions, type LlmCacheOptions } from '../src/llm/options.js';
import { isUsageOnlyChunk } from '../src/llm/shapes.js';
import { ReplayStream, type Upstream } from '../src/llm/stream.js';

/** Options of {@link llmProxy}. */
export interface LlmProxyOptions extends Omit<LlmCacheOptions<FastifyRequest>, 'scope'> {
  /** Base URL of the OpenAI-compatible API to forward to, e.g. `https://api.openai.com/v1`. */
  upstream: string;
  /**
   * Whose entries a request may read. @default per API key: each `Authorization` header (a SHA-256 of it, never the
   * key itself) is its own tenant. `'global'` shares between every caller; a function of the request decides.
   */
  scope?: LlmCacheOptions<FastifyRequest>['scope'];
  /** Path prefix of the routes. @default '/v1' */
  prefix?: string;
  /** API key sent upstream when the caller sends no `Authorization` header. @default undefined (forward the caller's) */
  apiKey?: string;
  /** Largest request body accepted, in bytes. @default 8 MiB */
  bodyLimit?: number;
}

const ENDPOINTS = {
  '/chat/completions': 'chat.completions',
  '/responses': 'responses',
  '/embeddings': 'embeddings',
  '/completions': 'completions',
} as const;

/** Request headers forwarded upstream (never `cache-control`, cookies or hop-by-hop headers). */
const FORWARDED = ['authorization', 'openai-organization', 'openai-project', 'openai-beta', 'content-type', 'accept'];

/** An upstream answer that is not a success: passed through to the caller, never stored. */
class UpstreamError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType: string | null,
  ) {
    super(`upstream answered ${status}`);
  }
}

async function llmProxyPlugin(app: FastifyInstance, options: LlmProxyOptions): Promise<void> {
  const { proxyPrefix, proxyBodyLimit } = LLM_DEFAULTS;
  const { upstream, prefix = proxyPrefix, apiKey, bodyLimit = proxyBodyLimit, ...shared } = options;
  let base: URL;
  try {
    base = new URL(upstream.endsWith('/') ? upstream : upstream + '/');
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new ConfigError('llmProxy.upstream', 'expected an http(s) base URL, e.g. https://api.openai.com/v1');
  }
  if (typeof prefix !== 'string' || (prefix !== '' && !/^\/[^?#]*[^/]$/.test(prefix))) {
    throw new ConfigError('llmProxy.prefix', "expected a path like '/v1' (or '')");
  }
  if (!Number.isInteger(bodyLimit) || bodyLimit <= 0) throw new ConfigError('llmProxy.bodyLimit', 'expected bytes > 0');
  const scope = shared.scope ?? ((request: FastifyRequest) => tenantOf(request));
  const engine = new LlmEngine(resolveLlmOptions({ ...shared, scope }, 'llmProxy'), 'llmProxy');

  const headersFor = (request: FastifyRequest): Record<string, string> => {
    const out: Record<string, string> = { 'content-type': 'application/json' };
    for (const name of FORWARDED) {
      const value = request.headers[name];
      if (typeof value === 'string') out[name] = value;
    }
    if (!out.authorization && apiKey) out.authorization = `Bearer ${apiKey}`;
    return out;
  };

  for (const [path, endpoint] of Object.entries(ENDPOINTS)) {
    const url = new URL(path.slice(1), base).toString();
    const post = async (request: FastifyRequest, body: unknown, signal?: AbortSignal): Promise<Response> => {
      const res = await fetch(url, {
        method: 'POST',
        headers: headersFor(request),
        body: JSON.stringify(body),
        signal,
      });
      if (!res.ok) throw new UpstreamError(res.status, await res.text(), res.headers.get('content-type'));
      return res;
    };

    app.post(`${prefix}${path}`, { bodyLimit }, async (request, reply) => {
      const body = request.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return reply
          .code(400)
          .send({ error: { message: 'expected a JSON object body', type: 'invalid_request_error' } });
      }
      const b = body as Record<string, unknown>;
      const llm: LlmRequest = {
        endpoint,
        body: b,
        scope: engine.scopeOf(request),
        control: parseCacheControl(request.headers['cache-control']),
      };
      try {
        if (endpoint === 'embeddings') {
          const { value, info } = await embedThroughCache(engine, llm, async (sent) =>
            (await post(request, sent)).json(),
          );
          return send(reply, info).send(value);
        }
        if (b.stream === true) return await stream(request, reply, llm, (sent, signal) => post(request, sent, signal));
        const { value, info } = await engine.answer(
          llm,
          async () => (await post(request, b)).json() as Promise<object>,
        );
        return send(reply, info).send(value);
      } catch (error) {
        if (reply.sent || reply.raw.headersSent) return reply;
        if (error instanceof UpstreamError) {
          return reply
            .code(error.status)
            .header('content-type', error.contentType ?? 'application/json')
            .header('x-cache', 'BYPASS')
            .send(error.body);
        }
        request.log.warn({ err: { message: (error as Error)?.message } }, 'llmProxy: upstream unreachable');
        return reply.code(502).send({ error: { message: 'upstream unreachable', type: 'proxy_error' } });
      }
    });
  }

  async function stream(
    request: FastifyRequest,
    reply: FastifyReply,
    llm: LlmRequest,
    post: (body: unknown, signal: AbortSignal) => Promise<Response>,
  ): Promise<FastifyReply> {
    const chatLike = llm.endpoint !== 'responses';
    const options = llm.body.stream_options as { include_usage?: unknown } | undefined;
    const askedUsage = options?.include_usage === true;
    const sent = chatLike ? { ...llm.body, stream_options: { ...options, include_usage: true } } : llm.body;
    const { source, info } = await engine.stream(llm, async (): Promise<Upstream> => {
      const controller = new AbortController();
      const res = await post(sent, controller.signal);
      return { iterable: parseSse(res), abort: () => controller.abort() };
    });
    const replay = new ReplayStream(source, { skip: chatLike && !askedUsage ? isUsageOnlyChunk : undefined });
    const iterator = replay[Symbol.asyncIterator]();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-cache': xCache(info),
      age: String(info.age),
      ...(info.hit && info.semantic ? { 'x-cache-similarity': similarityOf(info.semantic) } : {}),
    });
    res.on('close', () => void iterator.return?.());
    try {
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
        const chunk = r.value as { type?: unknown };
        const event = !chatLike && typeof chunk?.type === 'string' ? `event: ${chunk.type}\n` : '';
        if (!res.writableEnded) res.write(`${event}data: ${JSON.stringify(chunk)}\n\n`);
      }
      if (chatLike) res.write('data: [DONE]\n\n');
      res.end();
    } catch {
      res.destroy(); // the upstream stream failed: the caller sees a cut stream, as it would without the proxy
    }
    return reply;
  }
}

/** Parses an SSE response into its JSON `data` payloads (stops at `[DONE]`). */
async function* parseSse(res: Response): AsyncGenerator<unknown> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      const data = block
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (!data) continue;
      if (data === '[DONE]') return;
      yield JSON.parse(data);
    }
  }
}

/** The default tenant: a SHA-256 of the caller's `Authorization` header (never the key itself). */
function tenantOf(request: FastifyRequest): string {
  const auth = request.headers.authorization;
  return typeof auth === 'string' && auth
    ? 'key:' + createHash('sha256').update(auth).digest('base64url')
    : 'anonymous';
}

function xCache(info: LlmCacheInfo): string {
  if (info.hit) return info.semantic ? 'HIT-SEMANTIC' : 'HIT';
  return info.result === 'bypass' ? 'BYPASS' : 'MISS';
}

function send(reply: FastifyReply, info: LlmCacheInfo): FastifyReply {
  reply.header('x-cache', xCache(info)).header('age', String(info.age));
  return info.hit && info.semantic ? reply.header('x-cache-similarity', similarityOf(info.semantic)) : reply;
}

function similarityOf(semantic: { similarity: number }): string {
  return semantic.similarity.toFixed(4);
}

/**
 * The caching proxy plugin: `app.register(llmProxy, { cache, upstream: 'https://api.openai.com/v1' })`. Routes live
 * under `prefix` (default `/v1`); the caller's `Cache-Control: no-cache | no-store | max-age=N` is honoured, and
 * `X-Cache: HIT | HIT-SEMANTIC | MISS | BYPASS` and `Age` are set on every answer (`HIT-SEMANTIC`: served for a
 * similar prompt by the `semantic` option, with `X-Cache-Similarity`). Can be registered several times (e.g. one per
 * upstream, with different prefixes).
 */
export const llmProxy = fp(llmProxyPlugin, { fastify: '5.x' });
