/**
 * Route caching, framework-agnostic: turns a request into `cache.wrapDetailed(...)` and tells the adapter what to
 * do: replay a stored response, or run the handler (and, when this request computes the entry, capture its
 * response). Both the Fastify plugin and the Express middleware are thin layers over this.
 */
import { hashArgs } from '../keys.js';
import { ConfigError, UnkeyableError, quoted } from '../errors.js';
import { Flights, type Asked, type Asker, type Waiter } from './flights.js';
import { resolveRouteOptions, type ResolvedRoute, type RouteCacheOptions } from './options.js';
import { requestKey, type BypassReason, type KeyResult, type RequestView } from './request.js';
import { isNotModified } from './conditional.js';
import {
  NOT_SHARED,
  VARIES,
  X_CACHE,
  isStoredResponse,
  replayHeaders,
  toStored,
  unhonouredVary,
  type OutgoingHeaders,
  type StorePolicy,
  type XCache,
} from './response.js';
import type { Cache, WrapOutcome } from '../cache.js';
import type { CacheResult } from '../stats.js';
import { warnOnce } from '../warn-once.js';

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
      /**
       * The request is conditional and matches the stored `ETag` / `Last-Modified` (GET and HEAD only): answer
       * `304 Not Modified` with these headers minus `Content-Type` and `Content-Length`, and no body.
       */
      notModified: boolean;
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

/** Methods whose responses can be cached. */
const CACHEABLE: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST']);

/** Longest wait of a refresh for a request to compute it. */
const MAX_PENDING_MS = 30_000;

/** Where a route is declared, for its messages. */
export interface RouteSite {
  /** The option's name in errors: `config.cache` (Fastify), `cacheRoute` (Express). */
  where: string;
  /** The route, when known when it is declared (Fastify: `GET /a/:id`); else named per request by its owner. */
  label?: string;
  /**
   * Warn (once per route and method) when a request's method is not among the cached methods: for adapters that
   * cannot check it when the route is declared (Express). @default false
   */
  warnMethods?: boolean;
}

/** Why a route `key` gave nothing usable, for messages. */
function describeKeyProblem(key: Extract<KeyResult, { ok: false }>): string {
  if (key.empty) {
    const value = key.empty.value;
    const shown =
      typeof value === 'object' && value !== null
        ? `${Array.isArray(value) ? 'an array' : 'an object'} without a non-empty value`
        : typeof value === 'number'
          ? 'NaN'
          : value === ''
            ? "''"
            : String(value);
    return `its key function returned ${shown}`;
  }
  return `its key function threw (${(key.error as Error)?.message ?? String(key.error)})`;
}

/** One cached route: its validated options, and the requests computing its entries. */
export class RouteCache<Req = unknown> {
  /** Validated options. */
  readonly route: ResolvedRoute<Req>;
  readonly #cache: Cache;
  readonly #flights: Flights;
  readonly #policy: StorePolicy;
  readonly #bypass: RouteDecision;
  readonly #uncachedMiss: RouteDecision;
  readonly #site: RouteSite;
  readonly #warnOnce = warnOnce(() => this.#cache.settings.logger);

  /** Validates `options` (ConfigError naming `site.where`, e.g. `config.cache`, and the route when known). */
  constructor(cache: Cache, options: RouteCacheOptions<Req> | true, site: RouteSite) {
    if (typeof cache?.wrapDetailed !== 'function') throw new ConfigError(site.where, 'needs a Cache');
    this.#cache = cache;
    this.#site = site;
    this.route = resolveRouteOptions(options, site.where, site.label);
    this.#flights = new Flights(Math.min(MAX_PENDING_MS, Math.max(1000, this.route.staleMs)));
    this.#policy = { headers: this.route.headers, vary: this.route.vary, maxBytes: cache.settings.maxEntryBytes };
    this.#bypass = { replay: false, headers: this.#runHeaders('BYPASS'), capture: undefined };
    this.#uncachedMiss = { replay: false, headers: this.#runHeaders('MISS'), capture: undefined };
  }

  /**
   * Looks the request up: the decision at once when the cache answers without waiting (a memory-tier hit, a
   * bypass), else a promise of it that never rejects because of the cache (an unusable cache means BYPASS). Throws
   * (or rejects) when the route's `key` gives nothing to key by (or throws) and the cache is `strict`.
   */
  decide(view: RequestView, raw: Req): RouteDecision | Promise<RouteDecision> {
    const cache = this.#cache;
    if (!cache.enabled) return this.#bypassFor('disabled');
    const key = requestKey(this.route, view, raw);
    if (!key.ok) return this.#refuse(key, view);
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
        return this.#unkeyable(error as Error, view);
      }
    }
    const flights = this.#flights;
    const head = view.method === 'HEAD';
    const waiter = flights.enter(id);
    if (waiter.asked) return this.#compute(waiter.asked, head, view);
    const asker: Asker = { outcome: undefined };
    const served = cache.wrapServed(this.route.kind, discriminator, () => flights.ask(id, asker), this.route.entry, [
      raw,
    ]);
    if (served instanceof Promise) {
      asker.outcome = served;
      return this.#awaited(served, waiter, head, view);
    }
    // served from memory: nothing to wait for (a stale entry's refresh is handed to a later request, as below)
    flights.leave(waiter);
    return this.#decided(served, head, view);
  }

  /** The decision once the lookup settled, or at once when this request is given a computation to run meanwhile. */
  async #awaited(
    outcome: Promise<WrapOutcome<unknown>>,
    waiter: Waiter,
    head: boolean,
    view: RequestView,
  ): Promise<RouteDecision> {
    let served: WrapOutcome<unknown> | undefined;
    try {
      // the lookup's outcome, or undefined as soon as this request is given a computation to run
      served = await new Promise<WrapOutcome<unknown> | undefined>((resolve, reject) => {
        if (waiter.asked) return resolve(undefined);
        waiter.onAssign = () => resolve(undefined);
        outcome.then(resolve, reject);
      });
    } catch (error) {
      this.#warn('lookup', view, `a lookup failed (${quoted(error)}); the request runs uncached`);
    }
    this.#flights.leave(waiter);
    if (waiter.asked) {
      outcome.catch(() => {});
      return this.#compute(waiter.asked, head, view);
    }
    return served ? this.#decided(served, head, view) : this.#bypass;
  }

  /** Replays what the lookup served, or runs the handler when it holds no response to share. */
  #decided(served: WrapOutcome<unknown>, head: boolean, view: RequestView): RouteDecision {
    const value = served.value;
    // NOT_SHARED: the response computed for us must not be shared; run our own handler.
    const xCache = X_CACHE_OF[served.result];
    if (!isStoredResponse(value)) return value === NOT_SHARED && xCache === 'MISS' ? this.#uncachedMiss : this.#bypass;
    const headers = replayHeaders(value, xCache, served.age, this.route.vary, head);
    const body = Buffer.isBuffer(value.b) ? value.b : Buffer.from(value.b.buffer, value.b.byteOffset, value.b.length);
    const notModified = (head || view.method === 'GET') && isNotModified(view.headers, value.h);
    return { replay: true, status: value.s, headers, body, notModified };
  }

  /** Gives up computations no request has taken (call when the app closes). */
  close(): void {
    this.#flights.close();
  }

  #compute(asked: Asked, head: boolean, view: RequestView): RouteDecision {
    const flights = this.#flights;
    const policy = this.#policy;
    const capture: Capture = {
      maxBytes: policy.maxBytes,
      xCache: xCacheOf(asked.asker),
      finish: (status, headers, body) => {
        const stored = body === undefined ? undefined : toStored(status, headers, body, policy, head);
        const varied = stored && unhonouredVary(stored, policy.vary);
        if (varied) {
          this.#warn(
            `vary:${varied}`,
            view,
            `a response says Vary: ${varied}, a request header the route does not vary on, so it is not stored ` +
              `(it would be replayed to requests with another ${varied}); ` +
              (varied === '*'
                ? 'a response that varies on everything cannot be cached'
                : `add it to the route's vary option (vary: ['${varied}']) to cache one response per value`),
          );
        }
        flights.complete(asked, varied ? VARIES : (stored ?? NOT_SHARED));
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

  /** Counts a request that does not use the cache, with its reason, and says BYPASS. */
  #bypassFor(reason: BypassReason | 'disabled' | 'unkeyable'): RouteDecision {
    this.#cache.recordBypass(this.route.kind, reason);
    return this.#bypass;
  }

  /** A request the route cannot key: warned once, counted, BYPASS (or thrown when the cache is strict). */
  #refuse(key: Extract<KeyResult, { ok: false }>, view: RequestView): RouteDecision {
    const method = view.method;
    if (key.reason === 'unparsed-body') {
      this.#warn(
        'unparsed-body',
        view,
        `a ${method} request has a body the framework did not parse, so it cannot be keyed and bypasses the ` +
          'cache (Express: mount express.json() before cacheRoute)',
      );
    } else if (key.reason === 'body-type') {
      this.#warn(
        'body-type',
        view,
        `a ${method} request has a body that is not JSON (an upload, a form), so it bypasses the cache: only ` +
          'JSON bodies are keyed; give the route a key function to cache such requests',
      );
    } else if (key.reason === 'key') {
      const problem = describeKeyProblem(key);
      if (this.#cache.settings.strict) {
        if (key.error !== undefined) throw key.error;
        throw new UnkeyableError(`infercache: route ${this.#labelOf(view)}: ${problem}, which cannot key a request`);
      }
      this.#warn(
        key.empty ? 'key-empty' : 'key-threw',
        view,
        `${problem}, so requests it gives no key for bypass the cache (they never share an entry)`,
      );
    } else if (key.reason === 'method' && this.#site.warnMethods) {
      this.#warnMethod(view);
    }
    return this.#bypassFor(key.reason);
  }

  #unkeyable(error: Error, view: RequestView): RouteDecision {
    if (!this.route.key) {
      this.#warn('unkeyable', view, `its key parts cannot be hashed (${quoted(error)}); requests bypass the cache`);
      return this.#bypassFor('unkeyable');
    }
    const problem = `its key function returned something that cannot be keyed (${quoted(error)})`;
    if (this.#cache.settings.strict) {
      throw new UnkeyableError(`infercache: route ${this.#labelOf(view)}: ${problem}`, { cause: error });
    }
    this.#warn('key-unkeyable', view, `${problem}; such requests bypass the cache`);
    return this.#bypassFor('key');
  }

  #warnMethod(view: RequestView): void {
    const method = view.method;
    const cached = this.route.methods;
    if (method === 'HEAD' && cached.has('GET')) return; // the HEAD of a route caching GET only: as asked
    const list = [...cached].join(', ');
    // on a route of the default methods (GET, HEAD), the request's method is likely the route's only one
    const wanted = this.route.defaultMethods ? [method] : [...cached, method];
    const fix = CACHEABLE.has(method)
      ? `add it to the route's methods: cacheRoute(cache, { methods: [${wanted.map((m) => `'${m}'`).join(', ')}] })`
      : `${method} responses are never cached (only GET, HEAD and POST are): remove cacheRoute from this route`;
    this.#warn(
      `method:${method}`,
      view,
      `${method} requests bypass the cache: ${method} is not among the cached methods (${list}); ${fix}`,
    );
  }

  #labelOf(view: RequestView): string {
    return this.#site.label ?? `${view.method} ${view.owner}`;
  }

  /** Warns once per route (per owner, for a middleware serving several) and `id`. */
  #warn(id: string, view: RequestView, message: string): void {
    const once = this.#site.label === undefined ? `${id} ${view.owner}` : id;
    this.#warnOnce(once, () => `infercache: route ${this.#labelOf(view)}: ${message}`);
  }
}
