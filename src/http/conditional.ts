/**
 * Conditional requests on replays: whether a request's `If-None-Match` / `If-Modified-Since` matches a stored
 * response, so that it gets `304 Not Modified` without the body. The same rules as Express's `req.fresh` (the
 * `fresh` package), so that both adapters answer alike.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { StoredResponse } from './response.js';

const NO_CACHE = /(?:^|,)\s*no-cache\s*(?:$|,)/i;

/** The entity tags of an `If-None-Match` list. */
function tags(list: string): string[] {
  return list
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
}

function storedHeader(headers: StoredResponse['h'], name: string): string | undefined {
  for (const [n, value] of headers) if (n === name) return Array.isArray(value) ? value.join(', ') : String(value);
  return undefined;
}

/**
 * Whether `request` is conditional and the stored response (its headers) is still what the client holds: every
 * `If-None-Match` tag list must contain the stored `ETag` (weak comparison; `*` matches), and `If-Modified-Since` must
 * not be older than the stored `Last-Modified`. A request saying `Cache-Control: no-cache` is never answered 304.
 * The caller checks the method (GET or HEAD).
 */
export function isNotModified(request: IncomingHttpHeaders, stored: StoredResponse['h']): boolean {
  const noneMatch = request['if-none-match'];
  const modifiedSince = request['if-modified-since'];
  if (!noneMatch && !modifiedSince) return false;
  const cacheControl = request['cache-control'];
  if (cacheControl && NO_CACHE.test(cacheControl)) return false;
  if (noneMatch && noneMatch !== '*') {
    const etag = storedHeader(stored, 'etag');
    if (etag === undefined) return false;
    const weak = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);
    if (!tags(noneMatch).some((tag) => weak(tag) === weak(etag))) return false;
  }
  if (modifiedSince) {
    const lastModified = storedHeader(stored, 'last-modified');
    const since = Date.parse(modifiedSince);
    if (lastModified === undefined || !(Date.parse(lastModified) <= since)) return false;
  }
  return true;
}
