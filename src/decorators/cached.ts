/** `@CachedPrediction` and `@CachedModel`: cache a method's result through `cache.wrap`. */
import { resolveEntry, sharedMemory } from '../entry.js';
import { ConfigError } from '../errors.js';
import { isEmptyKey, validateSegment } from '../keys.js';
import { callAsync, methodDecorator, type AsyncMethodDecorator, type NoInferred } from './adapter.js';
import { cacheFor, claimKind, claimOwner, fingerprint, warnNoCache } from './registry.js';
import type { EntryOptions } from '../options.js';
import type { Duration } from '../duration.js';
import type { WrapOptions } from '../cache.js';
import { atSite } from '../site.js';

/**
 * Options of `@CachedPrediction` and `@CachedModel`. `A` and `R` are the method's parameters and result: written on
 * a method, the decorator infers them, so `key: (id) => id` sees `id` as the method's first parameter type and
 * `when: (result) => ...` sees the method's result type.
 */
export interface CachedOptions<A extends unknown[] = any[], R = any> extends Omit<
  EntryOptions<NoInferred<R>>,
  'ttl' | 'tags' | 'when'
> {
  /**
   * Arguments → key parts (called with the instance as `this`). A string or number is a readable id; anything else
   * is hashed. Unless `kind` is given, the key is scoped to the method (its owner name, see `name`):
   * `prediction:v1:ChargerService.failureRisk#CHG_001`; with an explicit `kind`, the id is used as is
   * (`prediction:failure:v1:CHG_001`) and no other method may use that kind with a custom key. A key that is
   * `undefined`, `null`, `''` or `NaN` bypasses the cache (warned once; `strict: true` throws).
   * @default `[name, args]`
   */
  key?: (this: any, ...args: NoInferred<A>) => unknown;
  /** TTL of this entry: a duration or a function of (args, result). @default the kind's TTL */
  ttl?: Duration | ((args: Readonly<NoInferred<A>>, result: NoInferred<R>) => Duration);
  /** Tags for group invalidation: strings, or a function of the arguments. */
  tags?: readonly string[] | ((...args: NoInferred<A>) => readonly string[]);
  /** Cache only results for which this returns true. */
  when?: (result: NoInferred<R>, args: Readonly<NoInferred<A>>) => boolean;
  /**
   * Owner name used in keys; methods given the same name share entries deliberately. 1 to 64 characters of
   * A-Z a-z 0-9 _ . - (so renaming the method keeps the cache). The default must be unique per process: two classes
   * with the same name whose decorated methods differ (e.g. minified class names) throw a ConfigError; give one a
   * `name`. @default 'Class.method'
   */
  name?: string;
}

/** Options of `@CachedModel` (the same as `@CachedPrediction`'s). */
export type CachedModelOptions<A extends unknown[] = any[], R = any> = CachedOptions<A, R>;

function cached<A extends unknown[], R>(
  decoratorName: string,
  defaults: { kind: string; memory: boolean; lock: boolean },
  options: CachedOptions<A, R>,
): AsyncMethodDecorator<A, R> {
  const explicitKind = options.kind !== undefined;
  const kind = options.kind ?? defaults.kind;
  const { key: keyFn, name, ...rest } = options;
  const entryOptions = {
    ...rest,
    kind,
    memory: defaults.memory ? sharedMemory(options.memory) : options.memory, // a model is shared as it is
    lock: options.lock ?? defaults.lock,
  } as EntryOptions<any>;
  const where = `@${decoratorName}`;
  resolveEntry(kind, entryOptions, where); // fail at class definition, not on the first call
  if (name !== undefined) validateSegment(name, `${where}.name`);
  if (keyFn !== undefined && typeof keyFn !== 'function') throw new ConfigError(`${where}.key`, 'expected a function');
  return methodDecorator<A, R>(decoratorName, options, (original, site) => {
    const owner = name ?? site.name;
    // Keys are scoped by owner name: two different methods must not have the same default one.
    if (name === undefined) claimOwner(owner, fingerprint(original), `${where}(${site.name}).name`);
    // With an explicit kind the ids stay readable as they are, so the kind must have one owner.
    if (keyFn && explicitKind) claimKind(kind, owner, `${where}(${site.name}).kind`);
    const siteOptions: WrapOptions<unknown> = atSite(entryOptions, site.name);
    const keyOf: (self: unknown, args: unknown[]) => unknown = !keyFn
      ? (_self, args) => [owner, args]
      : explicitKind
        ? (self, args) => keyFn.apply(self, args as NoInferred<A>)
        : (self, args) => scoped(owner, keyFn.apply(self, args as NoInferred<A>));
    return function cachedMethod(this: unknown, ...args: unknown[]) {
      const cache = options.cache ?? cacheFor(this);
      if (!cache) {
        warnNoCache(decoratorName, site);
        return original.apply(this, args);
      }
      return cache.wrap(
        kind,
        keyOf(this, args),
        () => callAsync(decoratorName, site, original, this, args),
        siteOptions,
        args,
      );
    };
  });
}

/**
 * A custom key scoped to its owner: a readable id becomes `owner#id`, anything else `[owner, key]` (hashed). An empty
 * key (`undefined`, `null`, `''`, `NaN`, or an array or object of only such values: isEmptyKey) is passed as is, for
 * the key builder to refuse.
 */
function scoped(owner: string, key: unknown): unknown {
  if (typeof key === 'string') return key === '' ? key : owner + '#' + key;
  if (typeof key === 'number') return Number.isFinite(key) ? owner + '#' + key : key !== key ? key : [owner, key];
  return isEmptyKey(key) ? key : [owner, key];
}

/** Caches a prediction-like result: kind `prediction` (or `options.kind`), Redis tier, memory tier opt-in. */
export function CachedPrediction<A extends unknown[] = any[], R = any>(
  options: CachedOptions<A, R> = {},
): AsyncMethodDecorator<A, R> {
  return cached('CachedPrediction', { kind: 'prediction', memory: false, lock: false }, options);
}

/**
 * Caches a loaded model: kind `model`, in-process tier and cross-instance lease (`lock`) on by default;
 * unserialisable models stay in memory only.
 */
export function CachedModel<A extends unknown[] = any[], R = any>(
  options: CachedModelOptions<A, R> = {},
): AsyncMethodDecorator<A, R> {
  return cached('CachedModel', { kind: 'model', memory: true, lock: true }, options);
}
