/** `@CachedPrediction` and `@CachedModel`: cache a method's result through `cache.wrap`. */
import { resolveEntry, sharedMemory } from '../entry.js';
import { callAsync, methodDecorator, type AsyncMethodDecorator } from './adapter.js';
import { cacheFor } from './registry.js';
import type { EntryOptions } from '../options.js';
import type { WrapOptions } from '../cache.js';

/** Options of `@CachedPrediction` (and the base of `@CachedModel`). */
export interface CachedOptions<T = any> extends EntryOptions<T> {
  /**
   * Arguments → key parts (called with the instance as `this`). A string or number becomes a readable id
   * (`prediction:failure:v1:CHG_001`); anything else is hashed. @default `['Class.method', args]`
   */
  key?: (this: any, ...args: any[]) => unknown;
}

/** Options of `@CachedModel`. */
export interface CachedModelOptions<T = any> extends CachedOptions<T> {
  /** Model name, used in the key instead of `Class.method` so that renaming the method keeps the cache. */
  name?: string;
}

function cached(
  decoratorName: string,
  defaults: { kind: string; memory: boolean; lock: boolean },
  options: CachedModelOptions,
): AsyncMethodDecorator {
  const kind = options.kind ?? defaults.kind;
  const entryOptions: EntryOptions = {
    ...options,
    kind,
    memory: defaults.memory ? sharedMemory(options.memory) : options.memory, // a model is shared as it is
    lock: options.lock ?? defaults.lock,
  };
  resolveEntry(kind, entryOptions, `@${decoratorName}`); // fail at class definition, not on the first call
  const keyFn = options.key;
  return methodDecorator(decoratorName, options, (original, site) => {
    const prefix = options.name ?? site.name;
    const siteOptions: WrapOptions<unknown> = { ...entryOptions, spanName: site.name };
    return function cachedMethod(this: unknown, ...args: unknown[]) {
      const cache = options.cache ?? cacheFor(this);
      if (!cache) return original.apply(this, args);
      const parts = keyFn ? keyFn.apply(this, args) : [prefix, args];
      return cache.wrap(kind, parts, () => callAsync(decoratorName, site, original, this, args), siteOptions, args);
    };
  });
}

/** Caches a prediction-like result: kind `prediction` (or `options.kind`), Redis tier, memory tier opt-in. */
export function CachedPrediction(options: CachedOptions = {}): AsyncMethodDecorator {
  return cached('CachedPrediction', { kind: 'prediction', memory: false, lock: false }, options);
}

/**
 * Caches a loaded model: kind `model`, in-process tier and cross-instance lease (`lock`) on by default;
 * unserialisable models stay in memory only.
 */
export function CachedModel(options: CachedModelOptions = {}): AsyncMethodDecorator {
  return cached('CachedModel', { kind: 'model', memory: true, lock: true }, options);
}
