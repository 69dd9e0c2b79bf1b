/**
 * Type tests: `isInfercacheError` narrows to the error class of the code it is given, `instanceof InfercacheError`
 * to the root with its code union, and an unknown code does not compile.
 */
import {
  ConfigError,
  InfercacheError,
  isInfercacheError,
  type InfercacheErrorCode,
  TimeoutError,
  UnserializableError,
} from '../../src/index.js';

type Exactly<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** `typeOf<T>()(value, true)` compiles only if `value` is exactly a T (not `any`, not a wider type). */
function typeOf<T>() {
  return <U>(value: U, proof: Exactly<U, T>): void => void [value, proof];
}

export function narrowing(error: unknown): void {
  if (isInfercacheError(error, 'E_CACHE_CONFIG')) {
    typeOf<ConfigError>()(error, true);
    typeOf<string>()(error.setting, true);
  }
  if (isInfercacheError(error, 'E_CACHE_TIMEOUT')) typeOf<TimeoutError>()(error, true);
  if (isInfercacheError(error)) {
    typeOf<InfercacheErrorCode>()(error.code, true);
    // the code discriminates the classes
    if (error.code === 'E_CACHE_CONFIG') typeOf<ConfigError>()(error, true);
  }
  if (error instanceof InfercacheError) typeOf<InfercacheErrorCode>()(error.code, true);
  if (error instanceof ConfigError) typeOf<'E_CACHE_CONFIG'>()(error.code, true);
  // @ts-expect-error: not a code of infercache
  isInfercacheError(error, 'E_CACHE_NOPE');
  const config: InfercacheError = new ConfigError('ttl', 'bad'); // a ConfigError is an InfercacheError to the types too
  void config;
}
export function subclasses(error: unknown): void {
  if (error instanceof UnserializableError) typeOf<string>()(error.reason, true);
  if (error instanceof TimeoutError) typeOf<'E_CACHE_TIMEOUT'>()(error.code, true);
}
