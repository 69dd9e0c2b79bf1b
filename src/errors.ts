/**
 * Every error infercache throws, under one root: `InfercacheError`, with a stable `code` and the `cause`.
 *
 * `ConfigError` and `DecoratorError` are also `TypeError`s (start-up mistakes, as a bad argument to a built-in is):
 * their prototype chain goes through `TypeError`, and `instanceof InfercacheError` recognises them by a brand that
 * every infercache error carries, not by the chain. The brand is `Symbol.for`-registered, so `instanceof
 * InfercacheError` and `isInfercacheError` also recognise an error thrown by another copy of infercache (its CommonJS
 * build next to the ESM one).
 */

/** Every error code infercache uses, one per error class; stable across releases. */
export type InfercacheErrorCode =
  | 'E_CACHE_CONFIG'
  | 'E_CACHE_DECORATOR'
  | 'E_CACHE_UNKEYABLE'
  | 'E_CACHE_CODEC'
  | 'E_CACHE_UNSERIALIZABLE'
  | 'E_CACHE_TIMEOUT'
  | 'E_CACHE_UNAVAILABLE'
  | 'E_CACHE_COMPUTE_TIMEOUT'
  | 'E_CACHE_ALREADY_REGISTERED';

/** Options of every infercache error. */
interface ErrorOptions {
  cause?: unknown;
}

/** Marks infercache errors, across copies of the package. */
const BRAND: unique symbol = Symbol.for('infercache.error') as never;

const ordinaryInstanceOf = Function.prototype[Symbol.hasInstance];

/** Sets what every infercache error has: its class's name and its code (the root constructors' common part). */
function stamp(error: Error & { code: string }, name: string, code: InfercacheErrorCode): void {
  error.name = name;
  error.code = code;
}

/** Base class of every error infercache throws; `code` is stable across releases, `cause` the underlying error. */
export class InfercacheError extends Error {
  /** Stable machine-readable code, `E_CACHE_...`. */
  declare readonly code: InfercacheErrorCode;
  constructor(code: InfercacheErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    stamp(this, new.target.name, code);
  }

  /**
   * `error instanceof InfercacheError` holds for every infercache error, ConfigError and DecoratorError (which are
   * TypeErrors) included; `instanceof` a subclass is the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== InfercacheError) return ordinaryInstanceOf.call(this, value);
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }
}

/**
 * The root of ConfigError and DecoratorError: an InfercacheError (by its brand) that is also a TypeError. Exported for
 * the type declarations only; not part of the public API.
 */
export abstract class InfercacheTypeError extends TypeError {
  /** Stable machine-readable code, `E_CACHE_...`. */
  declare readonly code: InfercacheErrorCode;
  constructor(code: InfercacheErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    stamp(this, new.target.name, code);
  }
}

for (const root of [InfercacheError, InfercacheTypeError])
  Object.defineProperty(root.prototype, BRAND, { value: true });

/** An option or environment variable has a bad value; thrown at start-up, names the setting. A TypeError too. */
export class ConfigError extends InfercacheTypeError {
  declare readonly code: 'E_CACHE_CONFIG';
  /** The option path or environment variable at fault, e.g. `ttl.prediction` or `CACHE_TTL_MODEL`. */
  readonly setting: string;
  constructor(setting: string, message: string, options?: ErrorOptions) {
    super('E_CACHE_CONFIG', `infercache: invalid ${setting}: ${message}`, options);
    this.setting = setting;
  }
}

/** A decorator was applied where it cannot work (a static or private member, a non-method). A TypeError too. */
export class DecoratorError extends InfercacheTypeError {
  declare readonly code: 'E_CACHE_DECORATOR';
  constructor(message: string, options?: ErrorOptions) {
    super('E_CACHE_DECORATOR', message, options);
  }
}

/** Arguments of a call cannot be turned into a key (a function, a symbol, a circular object). */
export class UnkeyableError extends InfercacheError {
  declare readonly code: 'E_CACHE_UNKEYABLE';
  constructor(message: string, options?: ErrorOptions) {
    super('E_CACHE_UNKEYABLE', message, options);
  }
}

/** A stored entry could not be decoded or authenticated. */
export class CodecError extends InfercacheError {
  declare readonly code: 'E_CACHE_CODEC';
  constructor(message: string, options?: ErrorOptions) {
    super('E_CACHE_CODEC', message, options);
  }
}

/** A value cannot be serialised for the Redis tier (a live handle, a function, a class instance the codec does not know). */
export class UnserializableError extends InfercacheError {
  declare readonly code: 'E_CACHE_UNSERIALIZABLE';
  /** What was refused, without where it was (e.g. `class instance Session`, `circular reference`, `symbol`). */
  readonly reason: string;
  constructor(message: string, options?: ErrorOptions & { reason?: string }) {
    super('E_CACHE_UNSERIALIZABLE', message, options);
    this.reason = options?.reason ?? message;
  }
}

/** A Redis operation did not complete within the operation timeout. */
export class TimeoutError extends InfercacheError {
  declare readonly code: 'E_CACHE_TIMEOUT';
  constructor(operation: string, ms: number) {
    super('E_CACHE_TIMEOUT', `infercache: Redis ${operation} timed out after ${ms} ms`);
  }
}

/** Redis is unavailable: not connected, or the circuit breaker is open. */
export class UnavailableError extends InfercacheError {
  declare readonly code: 'E_CACHE_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super('E_CACHE_UNAVAILABLE', message, options);
  }
}

/** A computation outlived its `timeout.hard` and the call stopped waiting for it (it keeps running and is stored). */
export class ComputeTimeoutError extends InfercacheError {
  declare readonly code: 'E_CACHE_COMPUTE_TIMEOUT';
  constructor(kind: string, ms: number) {
    super('E_CACHE_COMPUTE_TIMEOUT', `infercache: computation of kind '${kind}' took longer than ${ms} ms`);
  }
}

/** The error each code names (codes without a class of their own are plain InfercacheErrors). */
export interface InfercacheErrorByCode {
  E_CACHE_CONFIG: ConfigError;
  E_CACHE_DECORATOR: DecoratorError;
  E_CACHE_UNKEYABLE: UnkeyableError;
  E_CACHE_CODEC: CodecError;
  E_CACHE_UNSERIALIZABLE: UnserializableError;
  E_CACHE_TIMEOUT: TimeoutError;
  E_CACHE_UNAVAILABLE: UnavailableError;
  E_CACHE_COMPUTE_TIMEOUT: ComputeTimeoutError;
  E_CACHE_ALREADY_REGISTERED: InfercacheError & { readonly code: 'E_CACHE_ALREADY_REGISTERED' };
}

/**
 * Whether `error` is an infercache error, and of `code` when given: narrows to that code's class. Prefer it to
 * comparing `code` strings or to `instanceof` a subclass (which another copy of infercache would not pass).
 */
export function isInfercacheError<C extends InfercacheErrorCode = InfercacheErrorCode>(
  error: unknown,
  code?: C,
): error is InfercacheErrorByCode[C] {
  return error instanceof InfercacheError && (code === undefined || error.code === code);
}

/** The message of `error` without the `infercache: ` prefix, to quote inside another message (which has its own). */
export function quoted(error: unknown): string {
  return String((error as Error)?.message ?? error).replace(/^infercache: /, '');
}
