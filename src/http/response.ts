/**
 * What an HTTP response cache stores and replays: the status, the body bytes and the content headers of a
 * successful response that sets no cookie, and the headers a replay adds (`X-Cache`, `Age`, `Vary`).
 */

/** A stored response (the cached value): format version, status, headers to replay, body bytes. */
export interface StoredResponse {
  v: 1;
  s: number;
  h: Array<[string, string | string[]]>;
  b: Uint8Array;
}

/** A cached response as shown to a route's `ttl` function. */
export interface CachedResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** How a request was served, as the `X-Cache` header says it. */
export type XCache = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/** Header names used by replays. */
export const X_CACHE = 'x-cache';

/**
 * Value a computation resolves with when its response must not reach anyone else (an error, a `Set-Cookie`, a
 * stream, `no-store`): never stored (the entry's `when` refuses it), and requests waiting on it run their own handler.
 */
export const NOT_SHARED: object = Object.freeze({ notShared: true });

/**
 * Value a computation resolves with when its response names in `Vary` a request header the route does not vary on
 * (or `*`): like NOT_SHARED it is never stored and waiting requests run their own handler, and the request counts
 * as a bypass with reason `vary`.
 */
export const VARIES: object = Object.freeze({ notShared: true, reason: 'vary' });

/**
 * Response headers stored with the body: the representation's own headers. Everything else (Date, Connection,
 * Content-Length, Set-Cookie, per-request ids) is left out; a route adds more with its `headers` option.
 */
export const CONTENT_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-language',
  'content-disposition',
  'content-encoding',
  'content-location',
  'cache-control',
  'expires',
  'etag',
  'last-modified',
  'link',
  'vary',
]);

/** Whether `value` is a response stored by an HTTP route (anything else under the key is ignored). */
export function isStoredResponse(value: unknown): value is StoredResponse {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<StoredResponse>;
  return r.v === 1 && typeof r.s === 'number' && Array.isArray(r.h) && r.b instanceof Uint8Array;
}

/** The route entries' `when`: only stored responses are cached; NOT_SHARED never is. */
export function isShareable(value: unknown): boolean {
  return isStoredResponse(value);
}

/** Outgoing headers as frameworks give them (`reply.getHeaders()`, `res.getHeaders()`). */
export type OutgoingHeaders = Record<string, number | string | readonly string[] | undefined>;

/** What decides whether a response may be stored. */
export interface StorePolicy {
  /** Lower-case extra headers to store. */
  headers: ReadonlySet<string>;
  /** Lower-case request headers the route varies on. */
  vary: readonly string[];
  /** Largest body stored, in bytes. */
  maxBytes: number;
}

const NO_STORE = /(?:^|,)\s*(?:no-store|private|no-cache)\s*(?:$|,|=)/i;

const LENGTH = /^\d+$/;

/**
 * The stored form of a response, or `undefined` when it must not be stored: a status outside 2xx (or 206), a
 * `Set-Cookie`, `Cache-Control: no-store | private | no-cache`, a `Content-Encoding` the route does not vary on
 * (`accept-encoding`), or a body above `maxBytes`. Its `Vary` is checked apart ({@link unhonouredVary}). The response to a HEAD request (`head`) may come without
 * its body (Express sends none): its `Content-Length`, the GET's, is stored with it.
 */
export function toStored(
  status: number,
  headers: OutgoingHeaders,
  body: Buffer,
  policy: StorePolicy,
  head = false,
): StoredResponse | undefined {
  if (status < 200 || status > 299 || status === 206) return undefined;
  if (body.length > policy.maxBytes) return undefined;
  const h: StoredResponse['h'] = [];
  for (const [rawName, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (name === 'set-cookie') return undefined;
    if (name === 'cache-control' && NO_STORE.test(String(value))) return undefined;
    if (name === 'content-encoding' && !policy.vary.includes('accept-encoding')) return undefined;
    if (name === 'content-length') {
      if (head && LENGTH.test(String(value))) h.push([name, String(value)]);
      continue;
    }
    if (!CONTENT_HEADERS.has(name) && !policy.headers.has(name)) continue;
    h.push([name, Array.isArray(value) ? value.map(String) : String(value)]);
  }
  return { v: 1, s: status, h, b: body };
}

/**
 * The first request header a stored response's `Vary` names that the route does not vary on (`vary`, lower-case),
 * or `'*'`, or `undefined` when the route honours them all: such a response must not be replayed to other requests.
 * `Accept-Encoding` is honoured anyway: a stored response has no `Content-Encoding` unless the route varies on it,
 * and an unencoded body suits every request.
 */
export function unhonouredVary(stored: StoredResponse, vary: readonly string[]): string | undefined {
  for (const [name, value] of stored.h) {
    if (name !== 'vary') continue;
    for (const part of Array.isArray(value) ? value : [value]) {
      for (const raw of String(part).split(',')) {
        const header = raw.trim().toLowerCase();
        if (header === '*' || (header && header !== 'accept-encoding' && !vary.includes(header))) return header;
      }
    }
  }
  return undefined;
}

/** Merges the route's `vary` headers into a response's `Vary` value. */
export function mergeVary(existing: string | readonly string[] | undefined, vary: readonly string[]): string {
  const names: string[] = [];
  const seen = new Set<string>();
  const add = (name: string) => {
    const trimmed = name.trim();
    if (trimmed && !seen.has(trimmed.toLowerCase())) {
      seen.add(trimmed.toLowerCase());
      names.push(trimmed);
    }
  };
  for (const part of Array.isArray(existing) ? existing : existing === undefined ? [] : [existing]) {
    for (const name of String(part).split(',')) add(name);
  }
  for (const name of vary) add(name);
  return names.join(', ');
}

/**
 * Headers of a replay: exactly the stored ones (no `Content-Type` the response did not have), `Vary` merged with
 * the route's, `Content-Length` (for a HEAD request, the stored one or the body's: the GET's length, as a miss
 * announces it; none for 204), then `X-Cache` and (on a hit) `Age`.
 */
export function replayHeaders(
  stored: StoredResponse,
  xCache: XCache,
  age: number,
  vary: readonly string[],
  head = false,
): Array<[string, string | string[]]> {
  const out: Array<[string, string | string[]]> = [];
  let storedVary: string | string[] | undefined;
  let length = String(stored.b.byteLength);
  for (const pair of stored.h) {
    if (pair[0] === 'vary') storedVary = pair[1];
    else if (pair[0] !== 'content-length') out.push(pair);
    else if (head) length = String(pair[1]);
  }
  if (storedVary !== undefined || vary.length) out.push(['vary', mergeVary(storedVary, vary)]);
  if (stored.s !== 204) out.push(['content-length', length]);
  out.push([X_CACHE, xCache]);
  if (xCache === 'HIT' || xCache === 'STALE') out.push(['age', String(age)]);
  return out;
}

/** The public view of a stored response (for `ttl` functions). */
export function viewOf(stored: StoredResponse): CachedResponse {
  return { status: stored.s, headers: Object.fromEntries(stored.h), body: Buffer.from(stored.b) };
}

/** Body bytes from what a framework is about to send: a string (UTF-8, as Node writes it) or bytes; else undefined. */
export function bodyBytes(payload: unknown): Buffer | undefined {
  if (payload === undefined || payload === null) return Buffer.alloc(0);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return undefined;
}
