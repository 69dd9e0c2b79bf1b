import { createRequire } from 'node:module';
import { expect } from 'chai';
import {
  CachedError,
  CachedPrediction,
  CodecError,
  ComputeTimeoutError,
  ConfigError,
  DecoratorError,
  InfercacheError,
  TimeoutError,
  UnavailableError,
  UnkeyableError,
  UnserializableError,
  createCache,
  isInfercacheError,
} from '../src/index.js';
import { RouteCache } from '../src/http/route.js';
import { createEndpoints } from '../src/http/endpoints.js';

const cause = new Error('underneath');
/** One of each error infercache throws, with the code and class it must have. */
const samples = [
  { error: new ConfigError('ttl', 'bad', { cause }), code: 'E_CACHE_CONFIG', type: ConfigError },
  { error: new DecoratorError('bad', { cause }), code: 'E_CACHE_DECORATOR', type: DecoratorError },
  { error: new UnkeyableError('bad', { cause }), code: 'E_CACHE_UNKEYABLE', type: UnkeyableError },
  { error: new CodecError('bad', { cause }), code: 'E_CACHE_CODEC', type: CodecError },
  { error: new UnserializableError('bad', { cause }), code: 'E_CACHE_UNSERIALIZABLE', type: UnserializableError },
  { error: new TimeoutError('get', 50), code: 'E_CACHE_TIMEOUT', type: TimeoutError },
  { error: new UnavailableError('bad', { cause }), code: 'E_CACHE_UNAVAILABLE', type: UnavailableError },
  { error: new ComputeTimeoutError('llm', 50), code: 'E_CACHE_COMPUTE_TIMEOUT', type: ComputeTimeoutError },
  { error: new InfercacheError('E_CACHE_ALREADY_REGISTERED', 'bad', { cause }), code: 'E_CACHE_ALREADY_REGISTERED' },
] as const;

/** errors.ts loaded a second time, as another copy of infercache in the same process (its CommonJS build) would be. */
function secondCopy(): typeof import('../src/errors.js') {
  const require = createRequire(import.meta.url);
  const path = require.resolve('../src/errors.ts');
  const first = require.cache[path];
  delete require.cache[path];
  try {
    return require(path);
  } finally {
    if (first) require.cache[path] = first;
  }
}

describe('errors', () => {
  it('every error is an InfercacheError and an Error, with its code, its class name and its cause', () => {
    for (const { error, code } of samples) {
      expect(error, code).to.be.instanceOf(InfercacheError);
      expect(error, code).to.be.instanceOf(Error);
      expect(error.code, code).to.equal(code);
      expect(error.name, code).to.equal(error.constructor.name);
      if (!(error instanceof TimeoutError || error instanceof ComputeTimeoutError)) expect(error.cause).to.equal(cause);
    }
  });

  it('config and decorator errors are also TypeErrors; the others are not', () => {
    for (const { error, code } of samples) {
      const typeError = code === 'E_CACHE_CONFIG' || code === 'E_CACHE_DECORATOR';
      expect(error instanceof TypeError, code).to.equal(typeError);
    }
  });

  it('instanceof a subclass is the ordinary class check', () => {
    for (const { error, code, ...rest } of samples) {
      for (const other of samples) {
        if (!('type' in other)) continue;
        expect(error instanceof other.type, `${code} instanceof ${other.type.name}`).to.equal(
          'type' in rest && rest.type === other.type,
        );
      }
    }
  });

  it('isInfercacheError tells infercache errors, and their code, from every other value', () => {
    for (const { error, code } of samples) {
      expect(isInfercacheError(error), code).to.equal(true);
      expect(isInfercacheError(error, code), code).to.equal(true);
      expect(isInfercacheError(error, code === 'E_CACHE_CONFIG' ? 'E_CACHE_TIMEOUT' : 'E_CACHE_CONFIG')).to.equal(
        false,
      );
    }
    const lookalike = Object.assign(new TypeError('infercache: invalid ttl'), { code: 'E_CACHE_CONFIG' });
    const others = [lookalike, new Error('x'), new CachedError({ code: 'E_CACHE_TIMEOUT' }), null, undefined, 'x', {}];
    for (const value of others) {
      expect(isInfercacheError(value)).to.equal(false);
      expect(value instanceof InfercacheError).to.equal(false);
    }
  });

  it('recognises the errors of another copy of infercache loaded in the same process', () => {
    const copy = secondCopy();
    expect(copy.InfercacheError).to.not.equal(InfercacheError);
    const timeout = new copy.TimeoutError('get', 50);
    const config = new copy.ConfigError('ttl', 'bad');
    expect(timeout).to.not.be.instanceOf(TimeoutError); // the subclasses are the other copy's
    expect(isInfercacheError(timeout, 'E_CACHE_TIMEOUT')).to.equal(true);
    expect(config).to.be.instanceOf(InfercacheError).and.instanceOf(TypeError);
    expect(new TimeoutError('get', 50)).to.be.instanceOf(copy.InfercacheError);
  });

  it('a bad option throws a ConfigError that is a TypeError naming it, and an InfercacheError', () => {
    let caught: unknown;
    try {
      createCache({ ttlJitter: 5, setDefault: false });
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(TypeError).and.instanceOf(InfercacheError).and.instanceOf(ConfigError);
    expect(isInfercacheError(caught, 'E_CACHE_CONFIG') && caught.setting).to.equal('ttlJitter');
  });

  it('a misplaced decorator throws a DecoratorError that is a TypeError and an InfercacheError', () => {
    let caught: unknown;
    try {
      class Service {
        @CachedPrediction()
        static async predict(): Promise<number> {
          return 1;
        }
      }
      void Service;
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(TypeError).and.instanceOf(DecoratorError);
    expect(isInfercacheError(caught, 'E_CACHE_DECORATOR')).to.equal(true);
  });

  it('a route or endpoints given no Cache throw a ConfigError naming the option', () => {
    const site = { where: 'config.cache', label: 'GET /x' };
    expect(() => new RouteCache(undefined as never, true, site)).to.throw(ConfigError, 'config.cache: needs a Cache');
    expect(() => createEndpoints(undefined as never)).to.throw(ConfigError, 'endpoints: needs a Cache');
  });
});
