/** `@Invalidates`: after a method succeeds (or before, when asked), invalidate kinds, tags or everything. */
import { ConfigError } from '../errors.js';
import { callAsync, methodDecorator, type AsyncMethodDecorator, type NoInferred } from './adapter.js';
import { cacheFor, setClassCache, warnNoCache } from './registry.js';
import type { Cache } from '../cache.js';

/** Options of `@Invalidates`; `A` and `R` are the method's parameters and result, inferred from the method. */
export interface InvalidatesOptions<A extends unknown[] = any[], R = any> {
  /** Kinds to invalidate (e.g. after a retrain). */
  kinds?: readonly string[];
  /** Tags to invalidate: strings, or a function of the arguments and the result (e.g. `(user) => [`user:${user.id}`]`). */
  tags?: readonly string[] | ((...argsAndResult: [...NoInferred<A>, NoInferred<R>]) => readonly string[]);
  /** Invalidate the whole namespace. @default false */
  all?: boolean;
  /** Invalidate before the method runs instead of after it succeeds. @default false */
  before?: boolean;
  /** The cache to use instead of the default one. */
  cache?: Cache;
}

/** Invalidates entries when the method succeeds (never when it throws), or before it runs with `before: true`. */
export function Invalidates<A extends unknown[] = any[], R = any>(
  options: InvalidatesOptions<A, R>,
): AsyncMethodDecorator<A, R> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('@Invalidates', 'expected options');
  if (!options.kinds?.length && !options.tags && !options.all) {
    throw new ConfigError('@Invalidates', 'give kinds, tags or all: true');
  }
  if (options.kinds && !Array.isArray(options.kinds)) throw new ConfigError('@Invalidates.kinds', 'expected an array');
  const tagsOf = options.tags as readonly string[] | ((...argsAndResult: unknown[]) => readonly string[]) | undefined;
  return methodDecorator<A, R>('Invalidates', options, (original, site) => {
    const run = async (cache: Cache, args: unknown[], result: unknown) => {
      try {
        const tags = typeof tagsOf === 'function' ? tagsOf(...args, result) : (tagsOf ?? []);
        const jobs: Promise<void>[] = [];
        if (options.all) jobs.push(cache.invalidateAll());
        for (const kind of options.kinds ?? []) jobs.push(cache.invalidateKind(kind));
        if (tags.length) jobs.push(cache.invalidateTags(...tags));
        await Promise.all(jobs);
      } catch (error) {
        cache.settings.logger?.warn(
          `infercache: @Invalidates on ${site.name} could not reach Redis; it will be retried on reconnect (${(error as Error).message})`,
        );
      }
    };
    return async function invalidatingMethod(this: unknown, ...args: unknown[]) {
      const cache = options.cache ?? cacheFor(this);
      if (!cache) warnNoCache('Invalidates', site);
      if (!cache?.enabled) return original.apply(this, args);
      if (options.before) await run(cache, args, undefined);
      const result = await callAsync('Invalidates', site, original, this, args);
      if (!options.before) await run(cache, args, result);
      return result;
    };
  });
}

/** Class decorator: the decorated methods of this class (and subclasses) use `cache` instead of the default. */
export function UseCache(cache: Cache) {
  return function useCache(target: abstract new (...args: any[]) => any, _context?: ClassDecoratorContext): void {
    setClassCache(target, cache);
  };
}
