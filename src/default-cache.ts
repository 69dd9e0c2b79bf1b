/**
 * The process's default cache: the first one created (unless `setDefault` says otherwise), which decorators use
 * when they are given no cache. It lives in a global slot (`Symbol.for`), not in this module: when an app loads two
 * copies of infercache (an ESM and a CommonJS one, or two versions), both see the same default.
 */
import type { Cache } from './cache.js';

const global = globalThis as unknown as Record<symbol, { cache?: Cache } | undefined>;
const defaults = (global[Symbol.for('infercache.defaultCache')] ??= {});

/** Makes `cache` the process default (only if none is set, unless `force`). */
export function setDefaultCache(cache: Cache, force = false): void {
  if (force || !defaults.cache) defaults.cache = cache;
}

/** Forgets `cache` as the default when it closes. */
export function clearDefaultCache(cache: Cache): void {
  if (defaults.cache === cache) defaults.cache = undefined;
}

/** The process default cache, if one was created (by this copy of infercache or another). */
export function getDefaultCache(): Cache | undefined {
  return defaults.cache;
}
