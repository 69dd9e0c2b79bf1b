/** Which cache a decorated method uses: its own `cache` option, then `@UseCache` on its class, then the default. */
import type { Cache } from '../cache.js';

let defaultCache: Cache | undefined;
const classCaches = new WeakMap<object, Cache>();

/** Makes `cache` the process default (only if none is set, unless `force`). */
export function setDefaultCache(cache: Cache, force = false): void {
  if (force || !defaultCache) defaultCache = cache;
}

/** Forgets `cache` as the default when it closes. */
export function clearDefaultCache(cache: Cache): void {
  if (defaultCache === cache) defaultCache = undefined;
}

/** The process default cache, if one was created. */
export function getDefaultCache(): Cache | undefined {
  return defaultCache;
}

/** Records the cache chosen for a class by `@UseCache`. */
export function setClassCache(ctor: object, cache: Cache): void {
  classCaches.set(ctor, cache);
}

/** The cache for a call on `self`: walks the class chain for a `@UseCache`, else the default. */
export function cacheFor(self: unknown): Cache | undefined {
  let ctor: unknown = self !== null && typeof self === 'object' ? self.constructor : undefined;
  while (typeof ctor === 'function') {
    const found = classCaches.get(ctor);
    if (found) return found;
    ctor = Object.getPrototypeOf(ctor);
  }
  return defaultCache;
}
