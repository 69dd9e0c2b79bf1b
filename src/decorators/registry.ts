/**
 * Which cache a decorated method uses (its own `cache` option, then `@UseCache` on its class, then the default of
 * src/defaults.ts), and which owner each explicit kind with a custom key belongs to.
 *
 * The state lives in global slots (`Symbol.for`), not in this module: when an app loads two copies of infercache (an
 * ESM and a CommonJS one, or two versions), both see the same `@UseCache` choices and the same kind owners and
 * method owners.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { Cache } from '../cache.js';
import type { MethodSite } from './adapter.js';
import { getDefaultCache } from '../default-cache.js';

/** A global slot shared by every copy of infercache loaded in the process, created by the first one. */
function slot<T extends object>(name: string, create: () => T): T {
  const global = globalThis as unknown as Record<symbol, T | undefined>;
  return (global[Symbol.for(name)] ??= create());
}

const classCaches = slot('infercache.classCaches', () => new WeakMap<object, Cache>());
const kindOwners = slot('infercache.kindOwners', () => new Map<string, string>());
const methodOwners = slot('infercache.methodOwners', () => new Map<string, string>());

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
  return getDefaultCache();
}

/**
 * Claims `kind` for `owner`: a method with an explicit kind and a custom key keeps its ids as they are
 * (`prediction:failure:v1:CHG_001`), so a second owner of the kind would read the first one's entries. The same owner
 * claiming again (a module reloaded, a class defined again) is fine. Throws ConfigError naming both owners otherwise.
 */
export function claimKind(kind: string, owner: string, setting: string): void {
  const current = kindOwners.get(kind);
  if (current === undefined) kindOwners.set(kind, owner);
  else if (current !== owner) {
    throw new ConfigError(
      setting,
      `kind '${kind}' with a custom key is already used by ${current}: ${owner} would read its entries. ` +
        `Give one of them a distinct kind, or give both the same \`name\` to share entries on purpose`,
    );
  }
}

/** A short hash of a method's source: the same code loaded again has the same one. */
export function fingerprint(method: Function): string {
  return createHash('sha256').update(Function.prototype.toString.call(method)).digest('base64url').slice(0, 16);
}

/**
 * Claims the owner name `owner` (a method's default `Class.method`) for the method whose source has `print` (see
 * {@link fingerprint}): keys are scoped by owner name, so two different methods with one name (two classes `Service`
 * in different modules, or minified class names) would read each other's entries. The same source claiming again (a
 * module reloaded, a class defined again) is fine. Throws ConfigError naming the owner otherwise. Owners given
 * explicitly with `name` are not claimed: a shared `name` is how methods share entries on purpose.
 */
export function claimOwner(owner: string, print: string, setting: string): void {
  const current = methodOwners.get(owner);
  if (current === undefined) methodOwners.set(owner, print);
  else if (current !== print) {
    throw new ConfigError(
      setting,
      `two different methods have the owner name '${owner}' (two classes with the same name, or minified class ` +
        `names), so they would read each other's cache entries. Give one of them a distinct \`name\` in its ` +
        'decorator options (or keep class names in minified builds)',
    );
  }
}

const warnedClasses = new WeakSet<object>();

/**
 * Says once per class (console.warn: there is no cache, so no logger) that a decorated method found no cache and ran
 * uncached, or that `@Invalidates` did nothing, and how to fix it.
 */
export function warnNoCache(decoratorName: string, site: MethodSite): void {
  const key = site.ctor ?? site;
  if (warnedClasses.has(key)) return;
  warnedClasses.add(key);
  const effect = decoratorName === 'Invalidates' ? 'invalidates nothing' : 'runs uncached';
  console.warn(
    `infercache: @${decoratorName} on ${site.name} ${effect}: no cache was created. Create one with createCache() ` +
      `before the first call, pass \`cache\` in the decorator's options, or put @UseCache(cache) on ` +
      `${site.className || 'the class'}. If you did create one: a cache made by another copy of infercache that ` +
      'does not share its default (an older version loaded as CommonJS next to this ESM one, or the reverse) is not ' +
      'visible here; import one format. Shown once per class.',
  );
}
