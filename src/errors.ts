/** Base class of every error infercache throws; `code` is stable across releases. */
export class InfercacheError extends Error {
  /** Stable machine-readable code, `E_CACHE_...`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option or environment variable has a bad value; thrown at start-up, names the setting. */
export class ConfigError extends TypeError {
  /** Stable machine-readable code. */
  readonly code = 'E_CACHE_CONFIG';
  /** The option path or environment variable at fault, e.g. `ttl.prediction` or `CACHE_TTL_MODEL`. */
  readonly setting: string;
  constructor(setting: string, message: string, options?: { cause?: unknown }) {
    super(`infercache: invalid ${setting}: ${message}`, options);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

/** Arguments of a call cannot be turned into a key (a function, a symbol, a circular object). */
export class UnkeyableError extends InfercacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CACHE_UNKEYABLE', message, options);
  }
}

/** A stored entry could not be decoded or authenticated. */
export class CodecError extends InfercacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CACHE_CODEC', message, options);
  }
}

/** A value cannot be serialised for the Redis tier (a live handle, a function, a class instance the codec does not know). */
export class UnserializableError extends InfercacheError {
  /** What was refused, without where it was (e.g. `class instance Session`, `circular reference`, `symbol`). */
  readonly reason: string;
  constructor(message: string, options?: { cause?: unknown; reason?: string }) {
    super('E_CACHE_UNSERIALIZABLE', message, options);
    this.reason = options?.reason ?? message;
  }
}

/** A Redis operation did not complete within the operation timeout. */
export class TimeoutError extends InfercacheError {
  constructor(operation: string, ms: number) {
    super('E_CACHE_TIMEOUT', `infercache: Redis ${operation} timed out after ${ms} ms`);
  }
}

/** Redis is unavailable: not connected, or the circuit breaker is open. */
export class UnavailableError extends InfercacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CACHE_UNAVAILABLE', message, options);
  }
}

/** A decorator was applied where it cannot work (a static or private member, a non-method). */
export class DecoratorError extends TypeError {
  /** Stable machine-readable code. */
  readonly code = 'E_CACHE_DECORATOR';
  constructor(message: string) {
    super(message);
    this.name = 'DecoratorError';
  }
}
