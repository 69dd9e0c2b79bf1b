/**
 * One adapter for both TypeScript decorator modes, told apart by the second argument:
 * TC39 standard `(value, context)` and legacy `experimentalDecorators` `(target, key, descriptor)`.
 */
import { DecoratorError } from '../errors.js';

type AsyncMethod = (this: any, ...args: any[]) => Promise<any>;

/**
 * Blocks inference from a position: `A` and `R` of a decorator are inferred from the method it decorates (TypeScript
 * gives a decorator expression the decorated method's type as its contextual type), never from the annotations of a
 * callback, which are checked against them instead. The built-in `NoInfer` (TS 5.4) does not work on rest parameters
 * here, and this form works on every TypeScript 5.
 */
export type NoInferred<T> = [T][T extends any ? 0 : never];

/**
 * A method decorator usable in both modes; only async methods type-check. `A` and `R` are the decorated method's
 * parameters and result, inferred from the method when the decorator is written on it (`@CachedPrediction({ ... })`),
 * or given explicitly (`CachedPrediction<[string], Risk>({ ... })`) when the decorator is made elsewhere.
 */
export interface AsyncMethodDecorator<A extends unknown[] = any[], R = any> {
  (value: (this: any, ...args: A) => Promise<R>, context: ClassMethodDecoratorContext<any, any>): void;
  // Not TypedPropertyDescriptor<M>: its `set` makes it invariant, which refuses generic methods.
  (target: object, propertyKey: string | symbol, descriptor: { value?: (this: any, ...args: A) => Promise<R> }): void;
}

/** What a decorator needs to know about the method it wraps. */
export interface MethodSite {
  /** `Class.method`, for keys, logs and spans. */
  name: string;
  className: string;
  methodName: string;
  /** The declaring class, when known. */
  ctor: object | undefined;
}

const METADATA_KEY = 'infercache:options';

/**
 * Builds a dual-mode decorator from `wrap(original, site) => replacement`. `wrap` runs once, as soon as the declaring
 * class is known: when the class is defined (legacy mode), or when its first instance is created or the method is
 * first called (standard mode, where a method decorator does not see its class); it may throw a ConfigError then.
 */
export function methodDecorator<A extends unknown[], R>(
  decoratorName: string,
  options: object,
  wrap: (original: AsyncMethod, site: MethodSite) => AsyncMethod,
): AsyncMethodDecorator<A, R> {
  return function decorator(a: unknown, b: unknown, c?: unknown): any {
    if (typeof b === 'object' && b !== null && 'kind' in b) {
      const context = b as ClassMethodDecoratorContext;
      if (context.kind !== 'method')
        throw new DecoratorError(`${decoratorName} applies to methods, not a ${context.kind}`);
      if (context.static)
        throw new DecoratorError(`${decoratorName} cannot decorate static method ${String(context.name)}`);
      if (context.private)
        throw new DecoratorError(`${decoratorName} cannot decorate private method ${String(context.name)}`);
      if (typeof a !== 'function') throw new DecoratorError(`${decoratorName} applies to methods`);
      if (context.metadata)
        recordMetadata(context.metadata as Record<PropertyKey, unknown>, String(context.name), options);
      const original = a as AsyncMethod;
      let replacement: AsyncMethod | undefined;
      // Standard decorators do not see the class: find the declaring class on the first call.
      const lazy = function (this: unknown, ...args: unknown[]) {
        replacement ??= wrap(original, declaringSite(this, context.name, lazy));
        return replacement.apply(this, args);
      };
      if (typeof context.addInitializer === 'function') {
        context.addInitializer(function (this: unknown) {
          replacement ??= wrap(original, declaringSite(this, context.name, lazy));
        });
      }
      return named(lazy, original.name);
    }
    if ((typeof b === 'string' || typeof b === 'symbol') && typeof c === 'object' && c !== null) {
      const descriptor = c as PropertyDescriptor;
      if (typeof a === 'function')
        throw new DecoratorError(`${decoratorName} cannot decorate static method ${String(b)}`);
      if (typeof descriptor.value !== 'function')
        throw new DecoratorError(`${decoratorName} applies to methods, not to ${String(b)}`);
      const ctor = (a as { constructor?: { name?: string } }).constructor;
      const className = ctor?.name ?? '';
      const site = { name: `${className}.${String(b)}`, className, methodName: String(b), ctor };
      const reflect = Reflect as unknown as {
        defineMetadata?: (k: string, v: unknown, t: object, p: string | symbol) => void;
      };
      reflect.defineMetadata?.(METADATA_KEY, options, a as object, b);
      descriptor.value = named(wrap(descriptor.value as AsyncMethod, site), (descriptor.value as AsyncMethod).name);
      return descriptor;
    }
    throw new DecoratorError(`${decoratorName} applies to methods`);
  } as AsyncMethodDecorator<A, R>;
}

/**
 * Calls the decorated method and checks that it returned a Promise (or any thenable): a cached call always returns
 * one, so caching a synchronous method would change what its callers get. Types already refuse such methods; this
 * catches the ones that got through a cast, with a TypeError that names the method.
 */
export function callAsync(
  decoratorName: string,
  site: MethodSite,
  original: AsyncMethod,
  self: unknown,
  args: unknown[],
): Promise<unknown> {
  const result: unknown = original.apply(self, args);
  if (typeof (result as { then?: unknown } | null)?.then === 'function') return result as Promise<unknown>;
  throw new DecoratorError(`@${decoratorName} on ${site.name}: the method must return a Promise (make it async)`);
}

function declaringSite(self: unknown, key: string | symbol, method: unknown): MethodSite {
  let proto: unknown = self !== null && typeof self === 'object' ? Object.getPrototypeOf(self) : undefined;
  while (proto && Object.getOwnPropertyDescriptor(proto, key)?.value !== method) proto = Object.getPrototypeOf(proto);
  const owner = (proto ?? Object.getPrototypeOf(self ?? {})) as { constructor?: { name?: string } } | undefined;
  const ctor = owner?.constructor;
  const className = ctor?.name ?? '';
  return { name: `${className}.${String(key)}`, className, methodName: String(key), ctor };
}

function named<F extends (...args: any[]) => any>(fn: F, name: string): F {
  Object.defineProperty(fn, 'name', { value: name, configurable: true });
  return fn;
}

function recordMetadata(metadata: Record<PropertyKey, unknown>, method: string, options: object): void {
  const own = Object.prototype.hasOwnProperty.call(metadata, METADATA_KEY)
    ? (metadata[METADATA_KEY] as Record<string, object>)
    : (metadata[METADATA_KEY] = { ...(metadata[METADATA_KEY] as object | undefined) });
  (own as Record<string, object>)[method] = options;
}

/** Options recorded by infercache decorators on a class, by method name (TC39 metadata or reflect-metadata). */
export function getCachedMethods(ctor: Function): Record<string, object> {
  const symbolMetadata = (Symbol as { metadata?: symbol }).metadata;
  const meta = symbolMetadata
    ? (ctor as unknown as Record<symbol, Record<string, unknown> | undefined>)[symbolMetadata]
    : undefined;
  const out: Record<string, object> = { ...((meta?.[METADATA_KEY] as Record<string, object> | undefined) ?? {}) };
  const reflect = Reflect as unknown as { getMetadata?: (k: string, t: object, p: string) => object | undefined };
  if (reflect.getMetadata) {
    for (const name of Object.getOwnPropertyNames(ctor.prototype)) {
      const found = reflect.getMetadata(METADATA_KEY, ctor.prototype, name);
      if (found) out[name] = found;
    }
  }
  return out;
}
