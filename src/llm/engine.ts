/**
 * The LLM mode's one path to the core `Cache`, shared by `cachedOpenAI`, `llmCacheMiddleware` and `llmProxy`: keys
 * `{scope, llmKey}`, the temperature policy, what is never stored, per-request control, streams shared while they
 * run, and the tokens and money a hit saved.
 */
import { createHash, randomInt } from 'node:crypto';
import { context, trace, SpanStatusCode, type Span, type TracerProvider } from '@opentelemetry/api';
import { UnkeyableError, quoted } from '../errors.js';
import type { WrapOptions } from '../cache.js';
import { atSite } from '../site.js';
import * as C from '../telemetry/semconv.js';
import { llmKey } from './key.js';
import { isDeterministic, type ResolvedControl, type ResolvedLlmOptions } from './options.js';
import { judgeAnswer, judgeStream, modelOf, streamUsage, usageOf, type TokenUsage } from './shapes.js';
import { costOf, recordLlm } from './stats.js';
import { Capture, storedSource, type ChunkSource, type Upstream } from './stream.js';
import type { LlmCacheInfo } from './info.js';
import { SemanticServed, SemanticTier, type SemanticProbe } from './semantic/tier.js';
import { warnOnce } from '../warn-once.js';

export { cacheInfo, tagResult, type LlmCacheInfo } from './info.js';

const noop = (): void => {};

const scopeTags = new Map<string, string>();

/** `t` + SHA-256 (base64url) of a tenant id, remembered for the tenants seen lately. */
function scopeTag(scope: string): string {
  let tag = scopeTags.get(scope);
  if (tag === undefined) {
    tag = 't' + createHash('sha256').update(scope).digest('base64url');
    if (scopeTags.size >= 1000) scopeTags.clear();
    scopeTags.set(scope, tag);
  }
  return tag;
}

/** One request to serve. */
export interface LlmRequest {
  /** `chat.completions`, `responses`, `embeddings`, `completions` (or another name for other APIs). */
  endpoint: string;
  /** The request body (what goes into the key). */
  body: Record<string, unknown>;
  /** The tenant, from `scope`; `null` for 'global'; `undefined` when the scope function failed (then uncached). */
  scope: string | null | undefined;
  control: ResolvedControl;
}

/** A stored stream. */
interface StoredStream {
  chunks: unknown[];
}

/** Where a streamed request's chunks come from, and how it was served. */
export interface StreamAnswer {
  source: ChunkSource;
  info: LlmCacheInfo;
}

/** Serves LLM requests through one cache, with validated options. */
export class LlmEngine<R> {
  readonly options: ResolvedLlmOptions<R>;
  readonly #where: string;
  /** Streams being looked up or captured now, by entry: identical requests follow them instead of waiting. */
  readonly #live = new Map<string, { answer: Promise<StreamAnswer>; settled: Promise<void> }>();
  readonly #wrapOptions = new Map<string, WrapOptions<unknown>>();
  readonly #semantic: SemanticTier | undefined;
  readonly #warnOnce = warnOnce(() => this.options.cache.settings.logger);

  constructor(options: ResolvedLlmOptions<R>, where: string) {
    this.options = options;
    this.#where = where;
    const { cache, kind, aliases, semantic } = options;
    const warn = (message: string) => this.#warn(`${where}: ${message}`);
    this.#semantic = semantic && new SemanticTier(semantic, { cache, kind, aliases, warn });
  }

  /** The tenant of a request: its scope function's answer, `null` for 'global', `undefined` if that failed. */
  scopeOf(request: R): string | null | undefined {
    const fn = this.options.scope;
    if (!fn) return null;
    try {
      const scope = fn(request);
      if (typeof scope === 'string' && scope.length > 0) return scope;
      this.#warn(`${this.#where}: scope() returned no non-empty string; the request runs uncached`);
    } catch (error) {
      this.#warn(`${this.#where}: scope() threw (${(error as Error)?.message}); the request runs uncached`);
    }
    return undefined;
  }

  /** Answers a non-streamed request from the cache, or by `compute` (stored when complete and allowed). */
  async answer<T>(request: LlmRequest, compute: () => Promise<T>): Promise<{ value: T; info: LlmCacheInfo }> {
    const plan = this.#plan(request, 'json');
    if (!plan) return { value: await this.#bypass(request, compute), info: { hit: false, age: 0, result: 'bypass' } };
    const { parts, key } = plan;
    const { cache, kind } = this.options;
    const span = this.#startSpan(request);
    try {
      if (!request.control.refresh) {
        const options = this.#wrap(request, 'json') as WrapOptions<T>;
        // semantic lookup only on an exact miss: inside the computation, before the upstream call
        const looked: { probe?: SemanticProbe } = {};
        const miss = !this.#semantic
          ? compute
          : () => this.#similar(looked, request, plan.scope, compute) as Promise<T>; // T, or a SemanticServed
        // the cache's own spans (lookup, compute, store) become children of the LLM span when there is one
        const outcome = await (span
          ? context.with(trace.setSpan(context.active(), span), () => cache.wrapDetailed<T>(kind, parts, miss, options))
          : cache.wrapDetailed<T>(kind, parts, miss, options));
        const served = outcome.value as unknown;
        if (served instanceof SemanticServed) {
          const info = this.#hit(request, served.value, usageOf(served.value), served.age, key, 'hit');
          info.semantic = served.info;
          span?.setAttribute(C.ATTR_RESULT, 'hit');
          return { value: served.value as T, info };
        }
        const fresh = request.control.maxAgeMs === undefined || outcome.age * 1000 <= request.control.maxAgeMs;
        if ((outcome.result === 'hit' || outcome.result === 'stale') && fresh) {
          const info = this.#hit(request, outcome.value, usageOf(outcome.value), outcome.age, key, 'hit');
          span?.setAttribute(C.ATTR_RESULT, 'hit');
          return { value: outcome.value, info };
        }
        if (outcome.result === 'miss' || outcome.result === 'bypass') {
          const notStored = judgeAnswer(request.endpoint, outcome.value, this.options.allowTruncated);
          recordLlm(cache, kind, notStored ? 'notStored' : outcome.result === 'miss' ? 'miss' : 'bypass');
          span?.setAttribute(C.ATTR_RESULT, outcome.result);
          const probe = looked.probe;
          if (probe && !notStored && outcome.result === 'miss') await this.#remember(probe, request, parts, 'json');
          const info: LlmCacheInfo = { hit: false, age: 0, result: 'miss', key, notStored };
          if (probe?.info) info.semantic = probe.info;
          return { value: outcome.value, info };
        }
      }
      // refresh, or an entry older than maxAge: compute and store over it
      const value = await compute();
      const notStored = judgeAnswer(request.endpoint, value, this.options.allowTruncated);
      if (!notStored) await cache.set(kind, parts, value, this.#wrap(request, 'json')).catch(noop); // fail-open
      recordLlm(cache, kind, notStored ? 'notStored' : 'miss');
      span?.setAttribute(C.ATTR_RESULT, 'miss');
      return { value, info: { hit: false, age: 0, result: 'refresh', key, notStored } };
    } catch (error) {
      span?.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span?.end();
    }
  }

  /**
   * Answers a streamed request (in a span `infercache llm <endpoint>` when a tracer records): a stored stream replayed, the live capture of an identical request running now, or
   * a new upstream stream captured while it is forwarded and stored only when it ended normally and is allowed.
   */
  async stream(request: LlmRequest, start: () => Promise<Upstream>): Promise<StreamAnswer> {
    const span = this.#startSpan(request);
    if (!span) return this.#stream(request, start);
    // the span covers the lookup and the start of the delivery (a live stream goes on after it ended)
    try {
      const answer = await context.with(trace.setSpan(context.active(), span), () => this.#stream(request, start));
      const result = answer.info.result;
      span.setAttribute(C.ATTR_RESULT, result === 'joined' ? 'hit' : result === 'refresh' ? 'miss' : result);
      return answer;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  }

  async #stream(request: LlmRequest, start: () => Promise<Upstream>): Promise<StreamAnswer> {
    const plan = this.#plan(request, 'sse');
    if (!plan) {
      recordLlm(this.options.cache, this.options.kind, 'bypass');
      return { source: new Capture(await start()), info: { hit: false, age: 0, result: 'bypass' } };
    }
    const { parts, key, id } = plan;
    if (request.control.refresh) return this.#refreshStream(request, parts, key, start);
    const running = this.#live.get(id);
    const current = running && (await running.answer.catch(() => undefined));
    if (running && (!current || current.source.error !== undefined)) {
      // a failed capture is never joined: its readers saw the failure; this request tries upstream again once the
      // failed computation has left the cache's single-flight (else it would join it and get the same failure)
      await running.settled;
    } else if (current) {
      if (current.source.finished && this.options.pace > 0) {
        // ended while its entry is being written: replayed like a stored stream
        const source = storedSource(current.source.chunks, this.options.pace);
        return { source, info: this.#hit(request, undefined, streamUsage(source.chunks), 0, key, 'hit') };
      }
      const joined = current.info.result === 'miss';
      const info = joined
        ? this.#hit(request, undefined, undefined, 0, key, 'joined', current.source as Capture)
        : this.#hit(request, undefined, streamUsage(current.source.chunks), current.info.age, key, 'hit');
      if (!joined && current.info.semantic) info.semantic = current.info.semantic;
      return { source: current.source, info };
    }
    const { cache, kind } = this.options;
    let capture: Capture | undefined;
    let started: (answer: StreamAnswer) => void = () => {};
    const first = new Promise<StreamAnswer>((resolve) => (started = resolve));
    const looked: { probe?: SemanticProbe } = {};
    const outcome = cache.wrapDetailed<StoredStream>(
      kind,
      parts,
      async () => {
        const served = this.#semantic && (await this.#similar(looked, request, plan.scope));
        if (served) return served as unknown as StoredStream; // never stored (see #wrap's `when`)
        const probe = looked.probe;
        capture = new Capture(await start());
        const info: LlmCacheInfo = { hit: false, age: 0, result: 'miss', key };
        if (probe?.info) info.semantic = probe.info;
        started({ source: capture, info });
        const chunks = await capture.done;
        info.notStored = judgeStream(request.endpoint, chunks, this.options.allowTruncated);
        recordLlm(cache, kind, info.notStored ? 'notStored' : 'miss');
        return { chunks };
      },
      this.#wrap(request, 'sse') as WrapOptions<StoredStream>,
    );
    if (this.#semantic) {
      const remember = (o: { result: string; value: StoredStream }) => {
        const probe = looked.probe;
        const stored = o.result === 'miss' && capture !== undefined && probe !== undefined;
        if (stored && !judgeStream(request.endpoint, o.value.chunks, this.options.allowTruncated)) {
          return this.#remember(probe, request, parts, 'sse');
        }
      };
      void outcome.then(remember, noop);
    }
    const answer = Promise.race([
      first,
      outcome.then((o): StreamAnswer => {
        if (capture) return { source: capture, info: { hit: false, age: 0, result: 'miss', key } };
        const served = o.value as unknown;
        if (served instanceof SemanticServed) {
          const chunks = (served.value as StoredStream).chunks;
          const info: LlmCacheInfo = { hit: true, age: served.age, result: 'hit', key, semantic: served.info };
          return { source: storedSource(chunks, this.options.pace), info };
        }
        return {
          source: storedSource(o.value.chunks, this.options.pace),
          info: { hit: true, age: o.age, result: 'hit', key },
        };
      }),
    ]);
    const live = { answer, settled: outcome.then(noop, noop) };
    this.#live.set(id, live);
    const forget = () => {
      if (this.#live.get(id) === live) this.#live.delete(id);
    };
    void live.settled.then(forget);
    answer.catch(forget);
    const got = await answer;
    if (got.info.result === 'miss') return got;
    const stale = request.control.maxAgeMs !== undefined && got.info.age * 1000 > request.control.maxAgeMs;
    if (stale) return this.#refreshStream(request, parts, key, start);
    const info = this.#hit(request, undefined, streamUsage(got.source.chunks), got.info.age, key, 'hit');
    if (got.info.semantic) info.semantic = got.info.semantic;
    return { source: got.source, info };
  }

  async #refreshStream(
    request: LlmRequest,
    parts: string,
    key: string,
    start: () => Promise<Upstream>,
  ): Promise<StreamAnswer> {
    const { cache, kind } = this.options;
    const capture = new Capture(await start());
    const info: LlmCacheInfo = { hit: false, age: 0, result: 'refresh', key };
    capture.done.then(
      async (chunks) => {
        info.notStored = judgeStream(request.endpoint, chunks, this.options.allowTruncated);
        recordLlm(cache, kind, info.notStored ? 'notStored' : 'miss');
        if (!info.notStored) await cache.set(kind, parts, { chunks }, this.#wrap(request, 'sse')).catch(noop);
      },
      () => {},
    );
    return { source: capture, info };
  }

  /** The entry of a request, or undefined when it runs uncached (skip, policy, no scope, cache off, unkeyable). */
  #plan(
    request: LlmRequest,
    mode: 'json' | 'sse',
  ): { parts: string; key: string; id: string; scope: string } | undefined {
    const o = this.options;
    if (request.control.skip || request.scope === undefined || !o.cache.enabled) return undefined;
    if (o.temperature === 'deterministic' && !isDeterministic(request.endpoint, request.body)) return undefined;
    let key: string;
    try {
      key = llmKey(request.body, { aliases: o.aliases, endpoint: request.endpoint });
    } catch (error) {
      if (!(error instanceof UnkeyableError)) throw error;
      this.#warn(`${this.#where}: a request body cannot be keyed (${quoted(error)}); it runs uncached`);
      return undefined;
    }
    const variant = typeof o.temperature === 'object' ? randomInt(o.temperature.variants) : '';
    // One readable id, hashed already: `<delivery><variant>.<scope>.<llmKey>`, the scope a SHA-256 of the tenant id
    // ('g' for global), so no tenant id or prompt text appears in a Redis key, and the key is not hashed twice.
    const scope = request.scope === null ? 'g' : scopeTag(request.scope);
    const id = `${mode}${variant}.${scope}.${key}`;
    return { parts: id, key, id, scope };
  }

  /**
   * On an exact miss: a stored answer to a similar prompt (never stored again), else `compute`'s answer (or
   * undefined without `compute`). Puts the probe in `looked`, for the vector to remember once the answer is stored.
   */
  async #similar<T>(
    looked: { probe?: SemanticProbe },
    request: LlmRequest,
    scope: string,
    compute?: () => Promise<T>,
  ): Promise<T | SemanticServed | undefined> {
    const semantic = this.#semantic!;
    const mode = compute ? 'json' : 'sse';
    const probe = (looked.probe = semantic.probe({ endpoint: request.endpoint, body: request.body, mode, scope }));
    const served = probe && (await semantic.lookup(probe, request.control.maxAgeMs));
    return served ?? compute?.();
  }

  /** Stores the vector of an answer just stored under `parts`. */
  #remember(probe: SemanticProbe, request: LlmRequest, parts: string, mode: 'json' | 'sse'): Promise<void> {
    const { ttl, tags } = this.#wrap(request, mode);
    return this.#semantic!.remember(probe, parts, {
      ttl: ttl as number | undefined,
      tags: tags as string[] | undefined,
    });
  }

  async #bypass<T>(_request: LlmRequest, compute: () => Promise<T>): Promise<T> {
    recordLlm(this.options.cache, this.options.kind, 'bypass');
    return compute();
  }

  /** Counts a hit and what it saved. `capture`: a joined live stream, whose usage is known only at its end. */
  #hit(
    request: LlmRequest,
    value: unknown,
    usage: TokenUsage | undefined,
    age: number,
    key: string,
    result: 'hit' | 'joined',
    capture?: Capture,
  ): LlmCacheInfo {
    const info: LlmCacheInfo = { hit: true, age, result, key };
    if (!capture) this.#count(info, request, usage, value);
    else
      capture.done.then(
        (chunks) => this.#count(info, request, streamUsage(chunks), chunks[0]),
        () => recordLlm(this.options.cache, this.options.kind, result),
      );
    return info;
  }

  /** Adds what a hit saved to its info and to the stats. */
  #count(info: LlmCacheInfo, request: LlmRequest, usage: TokenUsage | undefined, answer: unknown): void {
    const { cache, kind, prices } = this.options;
    const requested = typeof request.body.model === 'string' ? request.body.model : undefined;
    const model = requested ?? modelOf(answer);
    const price = (requested && prices[requested]) || prices[modelOf(answer) ?? ''];
    const saved = usage ?? { input: 0, output: 0, cachedInput: 0 };
    const cost = costOf(saved, price);
    info.tokensSaved = saved;
    info.costSaved = cost;
    recordLlm(cache, kind, info.result as 'hit' | 'joined', { usage: saved, cost, model });
  }

  #wrap(request: LlmRequest, mode: 'json' | 'sse'): WrapOptions<unknown> {
    const ttl = request.control.ttlMs ?? this.options.ttl;
    const id = ttl === this.options.ttl ? request.endpoint + mode : `${request.endpoint}:${mode}:${ttl ?? ''}`;
    let options = this.#wrapOptions.get(id);
    if (!options) {
      const { endpoint } = request;
      const allow = this.options.allowTruncated;
      // an answer served for a similar prompt is never stored under this request's key
      const when =
        mode === 'json'
          ? (value: unknown) => !(value instanceof SemanticServed) && judgeAnswer(endpoint, value, allow) === undefined
          : (value: unknown) =>
              !(value instanceof SemanticServed) &&
              judgeStream(endpoint, (value as StoredStream).chunks, allow) === undefined;
      const tags = this.options.tags;
      options = atSite({ ttl: ttl === undefined ? undefined : ttl / 1000, tags, when }, `llm.${endpoint}`);
      if (this.#wrapOptions.size > 100) this.#wrapOptions.clear();
      this.#wrapOptions.set(id, options);
    }
    return options;
  }

  /** A span for the request, or undefined when no tracer records (no SDK: nothing is allocated). */
  #startSpan(request: LlmRequest): Span | undefined {
    const t = this.options.cache.settings.telemetry;
    if (!t.enabled) return undefined;
    let provider = t.tracerProvider ?? trace.getTracerProvider();
    const delegator = provider as { getDelegate?: () => TracerProvider };
    if (!t.tracerProvider && typeof delegator.getDelegate === 'function') provider = delegator.getDelegate();
    if (provider.constructor?.name.startsWith('Noop')) return undefined;
    try {
      const span = provider.getTracer(C.SCOPE_NAME).startSpan(`${C.SPAN_LLM} ${request.endpoint}`);
      span.setAttribute(C.ATTR_KIND, this.options.kind);
      if (typeof request.body.model === 'string') span.setAttribute(C.ATTR_GEN_AI_REQUEST_MODEL, request.body.model);
      return span;
    } catch {
      return undefined; // telemetry never breaks the call
    }
  }

  /** Warns once per engine, whatever the message (a logger that throws never breaks the call). */
  #warn(message: string): void {
    this.#warnOnce('llm', message);
  }
}
