import { expect } from 'chai';
import { configFromEnv, createCache, ConfigError } from '../src/index.js';

describe('configFromEnv', () => {
  it('reads every documented variable', () => {
    const options = configFromEnv({
      REDIS_URL: 'rediss://app:pw@redis.internal:6380/2',
      REDIS_CONNECT_TIMEOUT: '3s',
      REDIS_SOCKET_TIMEOUT: '10s',
      CACHE_ENABLED: 'yes',
      CACHE_NAMESPACE: 'estymator',
      CACHE_VERSION: 'v2.1',
      CACHE_OPERATION_TIMEOUT: '80ms',
      CACHE_HASH_KEYS: 'true',
      CACHE_TTL_PREDICTION: '5m',
      CACHE_TTL_MODEL: '21600',
      CACHE_ENCRYPTION_KEY: 'a'.repeat(64),
    });
    expect(options).to.deep.include({
      enabled: true,
      namespace: 'estymator',
      version: 'v2.1',
      hashKeys: true,
      operationTimeout: '80ms',
      ttl: { prediction: '5m', model: 21600 },
    });
    expect(options.redis).to.deep.equal({
      url: 'rediss://app:pw@redis.internal:6380/2',
      connectTimeout: '3s',
      socketTimeout: '10s',
    });
  });

  it('returns a memory-only configuration when REDIS_URL is unset', () => {
    expect(configFromEnv({}).redis).to.equal(undefined);
  });

  for (const [name, value] of [
    ['REDIS_URL', 'http://x'],
    ['REDIS_URL', 'not a url'],
    ['REDIS_DB', 'two'],
    ['REDIS_CONNECT_TIMEOUT', 'soon'],
    ['CACHE_ENABLED', 'maybe'],
    ['CACHE_NAMESPACE', 'a:b'],
    ['CACHE_VERSION', 'v 2'],
    ['CACHE_TTL_PREDICTION', '5 minutes'],
    ['CACHE_TTL_MODEL', '-1'],
    ['CACHE_OPERATION_TIMEOUT', 'fast'],
  ] as const) {
    it(`rejects ${name}=${JSON.stringify(value)} naming the variable`, () => {
      const env: Record<string, string> = { REDIS_URL: 'redis://localhost:6379', [name]: value };
      expect(() => configFromEnv(env)).to.throw(TypeError, new RegExp(name));
    });
  }

  it('rejects a malformed encryption key, naming the variable and not echoing the key', () => {
    for (const attempt of [
      () => configFromEnv({ CACHE_ENCRYPTION_KEY: 'short-secret' }),
      () => createCache({ setDefault: false, encryptionKey: 'short-secret' }),
    ]) {
      let error: unknown;
      try {
        attempt();
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as Error).message).to.match(/CACHE_ENCRYPTION_KEY|encryptionKey/);
      expect((error as Error).message).to.not.include('short-secret');
    }
  });
});

describe('createCache options', () => {
  for (const [options, setting] of [
    [{ namespace: 'a b' }, 'namespace'],
    [{ ttl: { prediction: 'soon' } }, 'ttl.prediction'],
    [{ operationTimeout: -5 }, 'operationTimeout'],
    [{ redis: { url: 'http://x' } }, 'redis.url'],
    [{ memory: { maxEntries: 0 } }, 'memory.maxEntries'],
    [{ ttlJitter: 2 }, 'ttlJitter'],
    [{ enabled: 'yes' }, 'enabled'],
    [{ breaker: { threshold: 1.5 } }, 'breaker.threshold'],
  ] as const) {
    it(`throws a TypeError naming ${setting}`, () => {
      expect(() => createCache({ setDefault: false, ...(options as object) })).to.throw(TypeError, setting);
    });
  }

  it('never shows the Redis password in info()', async () => {
    const cache = createCache({
      setDefault: false,
      redis: { url: 'redis://user:hunter2@127.0.0.1:1', connectTimeout: 50 },
      logger: false,
    });
    const info = await cache.info();
    await cache.close();
    expect(JSON.stringify(info)).to.not.include('hunter2');
    expect(info.redis?.url).to.equal('redis://user:***@127.0.0.1:1');
  });
});
