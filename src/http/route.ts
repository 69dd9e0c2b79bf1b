/**
 * Route caching, framework-agnostic: turns a request into `cache.wrapDetailed(...)` and tells the adapter what to
 * do: replay a stored response, or run the handler (and, when this request computes the entry, capture its
 * response). Both the Fastify plugin and the Express middleware are thin layers over this.
 */
import { hashArgs } from '../keys.js';
import { Flights, type Asked, type Asker } from './flights.js';
import { resolveRouteOptions, type ResolvedRoute, type RouteCacheOptions } from './options.js';
import { requestKey, type KeyResult, type RequestView } from './request.js';
import {
  NOT_SHARED,
  X_CACHE,
  isStoredResponse,
  replayHeaders,
  toStored,
  type OutgoingHeaders,
  type StorePolicy,
  type XCache,
} from './response.js';
import type { Cache, WrapOutcome } from '../cache.js';
import type { CacheResult } from '../stats.js';

/** Collects the response of a request that computes an entry; the adapter calls exactly one of its methods. */
export interface Capture {
  /** The final status, headers and body of the response (`undefined` body: a stream, not storable). */
  finish(status: number, headers: OutgoingHeaders, body: Buffer | undefined): void;
  /** No complete response was produced (aborted, hijacked, failed before sending). */
  abort(): void;
  /** Bodies larger than this are not stored: stop buffering beyond it. */
  readonly maxBytes: number;
  /**
   * The `X-Cache` of this response, known a few microtasks after `finish()`, once the lookup that asked for the
   * computation has settled: `BYPASS` when it could not read Redis, else `MISS`. Never rejects. Adapters set it
   * before the response's headers are sent.
   */
  readonly xCache: Promise<XCache>;
}

/** What the adapter does with a request. */
export type RouteDecision =
  | {
      replay: true;
      status: number;
      /** With `Content-Length`: for a HEAD request, the GET's length (the stored body may be empty). */
      headers: Array<[string, string | string[]]>;
      /** The stored body: not sent to a HEAD request. */
      body: Buffer;
    }
  | { replay: false; headers: Array<[string, string]>; capture: Capture | undefined };

const X_CACHE_OF: Record<CacheResult, XCache> = {
  hit: 'HIT',
  stale: 'STALE',
  miss: 'MISS',
  bypass: 'BYPASS',
  error: 'BYPASS',
};

/**
 * The `X-Cache` of a computed response: `BYPASS` when the lookup that asked for it could not read Redis (or
 * failed), `MISS` otherwise (a miss, or the refresh of a stale entry). The lookup settles once the computation it
 * waits for completes, so this settles just after the response was captured.
 */
function xCacheOf(asker: Asker | undefined): Promise<XCache> {
  const outcome = asker?.outcome;
  if (!outcome) return Promise.resolve('MISS');
  return outcome.then(
    ({ result }): XCache => (result === 'bypass' || result === 'error' ? 'BYPASS' : 'MISS'),
    (): XCache => 'BYPASS',
  );
}

/** Longest wait of a refresh for a request to compute it. */
const MAX_PENDING_MS = 30_000;

/** One cached route: its validated options, and the requests computing its entries. */
export class RouteCache<Req = unknown> {
  /** Validated options. */
  readonly route: ResolvedRoute<Req>;
  readonly #cache: Cache;
  readonly #flights: Flights;
  readonly #policy: StorePolicy;
  readonly #bypass: RouteDecision;
  readonly #uncachedMiss: RouteDecision;
  readonly #label: string;
  readonly #warned = new Set<string>();

  /** Validates `options` (ConfigError naming `where`, e.g. `config.cache`); `label` names the route in messages. */
  constructor(cache: Cache, options: RouteCacheOptions<Req> | true, where: string, label?: string) {
    if (typeof cache?.wrapDetailed !== 'function') throw new TypeError(`infercache: ${where} needs a Cache`);
    this.#cache = cache;
    this.route = resolveRouteOptions(options, where, label);
    this.#label = label ?? where;
    this.#flights = new Flights(Math.min(MAX_PENDING_MS, Math.max(1000, this.route.staleMs)));
    this.#policy = { headers: this.route.headers, vary: this.route.vary, maxBytes: cache.settings.maxEntryBytes };
    this.#bypass = { replay: false, headers: this.#runHeaders('BYPASS'), capture: undefined };
    this.#uncachedMiss = { replay: false, headers: this.#runHeaders('MISS'), capture: undefined };
  }

  /** Looks the request up; never rejects because of the cache (an unusable cache means BYPASS). */
  async handle(view: RequestView, raw: Req): Promise<RouteDecision> {
    const cache = this.#cache;
    if (!cache.enabled) return this.#bypass;
    const key = requestKey(this.route, view, raw);
    if (!key.ok) {
      this.#noteBypass(key, view);
      return this.#bypass;
    }
    // Readable ids (a route `key` returning a string or number) go to the cache as they are; anything else is
    // hashed once here, and the digest is both the flight id and the key's discriminator (the cache hashes the
    // short digest again, instead of the whole body).
    const parts = key.parts;
    let id: string;
    let discriminator: unknown = parts;
    if (typeof parts === 'string' || typeof parts === 'number') {
      id = `=${parts}`;
    } else {
      try {
        discriminator = id = hashArgs(parts);
      } catch (error) {
        this.#warn('unkeyable', `its key parts cannot be hashed (${(error as Error).message}); requests bypass`);
        return this.#bypass;
      }
    }
    const flights = this.#flights;
    const head = view.method === 'HEAD';
    const asker: Asker = { outcome: undefined };
    const waiter = flights.enter(id);
    if (waiter.asked) return this.#compute(waiter.asked, head);
    const outcome = cache.wrapDetailed(this.route.kind, discriminator, () => flights.ask(id, asker), this.route.entry, [
      raw,
    ]);
    asker.outcome = outcome;
    let served: WrapOutcome<unknown> | undefined;
    try {
      served = await Promise.race([outcome, waiter.assigned.then(() => undefined)]);
    } catch (error) {
      this.#warn('lookup', `a lookup failed (${(error as Error).message}); the request runs uncached`);
    }
    flights.leave(waiter);
    if (waiter.asked) {
      outcome.catch(() => {});
      return this.#compute(waiter.asked, head);
    }
    if (!served) return this.#bypass;
    const value = served.value;
    // NOT_SHARED: the response computed for us must not be shared; run our own handler.
    const xCache = X_CACHE_OF[served.result];
    if (!isStoredResponse(value)) return value === NOT_SHARED && xCache === 'MISS' ? this.#uncachedMiss : this.#bypass;
    const headers = replayHeaders(value, xCache, served.age, this.route.vary, head);
    const body = Buffer.isBuffer(value.b) ? value.b : Buffer.from(value.b.buffer, value.b.byteOffset, value.b.length);
    return { replay: true, status: value.s, headers, body };
  }

  /** Gives up computations no request has taken (call when the app closes). */
  close(): void {
    this.#flights.close();
  }

  #compute(asked: Asked, head: boolean): RouteDecision {
    const flights = this.#flights;
    const policy = this.#policy;
    const capture: Capture = {
      maxBytes: policy.maxBytes,
      xCache: xCacheOf(asked.asker),
      finish(status, headers, body) {
        const stored = body === undefined ? undefined : toStored(status, headers, body, policy, head);
        flights.complete(asked, stored ?? NOT_SHARED);
      },
      abort() {
        flights.complete(asked, NOT_SHARED);
      },
    };
    return { replay: false, headers: this.#runHeaders('MISS'), capture };
  }

  #runHeaders(xCache: XCache): Array<[string, string]> {
    const headers: Array<[string, string]> = [[X_CACHE, xCache]];
    if (this.route.vary.length) headers.push(['vary', this.route.vary.join(', ')]);
    return headers;
  }

  #noteBypass(key: Extract<KeyResult, { ok: false }>, view: RequestView): void {
    if (key.reason === 'unparsed-body') {
      this.#warn(
        'unparsed-body',
        `a ${view.method} request has a body the framework did not parse, so it cannot be keyed and bypasses the ` +
          'cache (Express: mount express.json() before cacheRoute)',
      );
    } else if (key.reason === 'body-type') {
      this.#warn(
        'body-type',
        `a ${view.method} request has a body that is not JSON (an upload, a form), so it bypasses the cache: only ` +
          'JSON bodies are keyed; give the route a key function to cache such requests',
      );
    } else if (key.reason === 'key') {
      this.#warn('key', `its key function threw (${(key.error as Error)?.message}); requests bypass`);
    }
  }

  #warn(id: string, message: string): void {
    if (this.#warned.has(id)) return;
    this.#warned.add(id);
    this.#cache.settings.logger?.warn(`infercache: route ${this.#label}: ${message}`);
  }
}
