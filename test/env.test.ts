import { expect } from 'chai';
import { createClient } from 'redis';
import { configFromEnv, createCache, ConfigError, type Cache } from '../src/index.js';
import { ttlEnvName } from '../src/ttl.js';
import { configError, newCache } from './helpers.js';
import { adminClient, testRedisUrl } from './setup/root-hooks.js';

describe('configFromEnv', () => {
  it('reads every documented variable', () => {
    const options = configFromEnv({
      REDIS_URL: 'rediss://app@redis.internal:6380',
      REDIS_PASSWORD: 'pw',
      REDIS_DB: '2',
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
      ttlEnv: { CACHE_TTL_PREDICTION: '5m', CACHE_TTL_MODEL: '21600' },
    });
    expect(options.redis).to.deep.equal({
      url: 'rediss://app@redis.internal:6380',
      password: 'pw',
      db: 2,
      connectTimeout: '3s',
      socketTimeout: '10s',
    });
  });

  it('takes user, password and db from REDIS_URL', () => {
    const options = configFromEnv({ REDIS_URL: 'rediss://app:pw@redis.internal:6380/2' });
    expect(options.redis).to.deep.equal({ url: 'rediss://app:pw@redis.internal:6380/2' });
  });

  it('returns a memory-only configuration when REDIS_URL is unset', () => {
    expect(configFromEnv({}).redis).to.equal(undefined);
  });

  for (const [name, value] of [
    ['REDIS_URL', 'http://x'],
    ['REDIS_URL', 'not a url'],
    ['REDIS_URL', 'redis://localhost:6379/abc'],
    ['REDIS_URL', 'redis://localhost:6379/-1'],
    ['REDIS_URL', 'redis://localhost:6379/1.5'],
    ['REDIS_URL', 'redis://localhost:0'],
    ['REDIS_URL', 'redis://localhost:99999'],
    ['REDIS_URL', 'redis://:6379'],
    ['REDIS_URL', 'redis://localhost:6379?db=2'],
    ['REDIS_URL', 'redis://app:%E0@localhost:6379'],
    ['REDIS_PASSWORD', 'pw-from-a-file\n'],
    ['REDIS_DB', 'two'],
    ['REDIS_DB', '-1'],
    ['REDIS_DB', '1.5'],
    ['REDIS_CONNECT_TIMEOUT', 'soon'],
    ['REDIS_CONNECT_TIMEOUT', '0'],
    ['REDIS_CONNECT_TIMEOUT', '-1s'],
    ['REDIS_SOCKET_TIMEOUT', 'later'],
    ['REDIS_SOCKET_TIMEOUT', '0'],
    ['CACHE_ENABLED', 'maybe'],
    ['CACHE_HASH_KEYS', 'maybe'],
    ['CACHE_NAMESPACE', 'a:b'],
    ['CACHE_VERSION', 'v 2'],
    ['CACHE_TTL_DEFAULT', 'forever'],
    ['CACHE_TTL_PREDICTION', '5 minutes'],
    ['CACHE_TTL_MODEL', '-1'],
    ['CACHE_OPERATION_TIMEOUT', 'fast'],
    ['CACHE_OPERATION_TIMEOUT', '0'],
    ['CACHE_OPERATION_TIMEOUT', '0ms'],
    ['CACHE_OPERATION_TIMEOUT', '30d'],
    ['CACHE_OPERATION_TIMEOUT', '11s'],
    ['CACHE_TTL_', '5m'],
    ['CACHE_TTL_price', '5m'],
    ['CACHE_TTL_PRICE-MODEL', '5m'],
  ] as const) {
    it(`rejects ${name}=${JSON.stringify(value)} naming the variable`, () => {
      const env: Record<string, string> = { REDIS_URL: 'redis://localhost:6379', [name]: value };
      const error = configError(() => configFromEnv(env));
      expect(error.setting).to.equal(name);
      expect(error.message).to.include(name);
    });
  }

  for (const name of ['CACHE_OPERATION_TIMEOUT', 'REDIS_CONNECT_TIMEOUT', 'REDIS_SOCKET_TIMEOUT']) {
    it(`rejects ${name} without a unit, naming it and suggesting 50ms (a bare number would be seconds)`, () => {
      for (const value of ['50', '1.5', ' 50 ']) {
        const error = configError(() => configFromEnv({ REDIS_URL: 'redis://localhost:6379', [name]: value }));
        expect(error.setting).to.equal(name);
        expect(error.message).to.include(name).and.to.include(`${value.trim()}ms`).and.to.include('50ms');
      }
    });
  }

  it('takes timeouts with a unit', () => {
    const options = configFromEnv({
      REDIS_URL: 'redis://localhost:6379',
      CACHE_OPERATION_TIMEOUT: '50ms',
      REDIS_CONNECT_TIMEOUT: '1.5s',
      REDIS_SOCKET_TIMEOUT: '1m',
    });
    expect(options.operationTimeout).to.equal('50ms');
    expect(options.redis).to.deep.include({ connectTimeout: '1.5s', socketTimeout: '1m' });
    expect(createCache({ ...options, redis: false, setDefault: false }).settings.operationTimeout).to.equal(50);
  });

  for (const [name, value] of [
    ['REDIS_PASSWORD', 'pw'],
    ['REDIS_DB', '2'],
    ['REDIS_CONNECT_TIMEOUT', '3s'],
    ['REDIS_SOCKET_TIMEOUT', '10s'],
  ] as const) {
    it(`rejects ${name} without REDIS_URL (it would be ignored by a memory-only cache)`, () => {
      const error = configError(() => configFromEnv({ [name]: value }));
      expect(error.setting).to.equal(name);
      expect(error.message).to.include('REDIS_URL');
    });
  }

  it('validates REDIS_DB, REDIS_CONNECT_TIMEOUT and REDIS_SOCKET_TIMEOUT even without REDIS_URL', () => {
    for (const [name, value] of [
      ['REDIS_DB', 'two'],
      ['REDIS_CONNECT_TIMEOUT', '0'],
      ['REDIS_SOCKET_TIMEOUT', 'later'],
    ] as const) {
      const error = configError(() => configFromEnv({ [name]: value }));
      expect(error.setting).to.equal(name);
      expect(error.message).to.not.include('REDIS_URL');
    }
  });

  it('rejects a password or db given both in REDIS_URL and in their own variable', () => {
    const both = { REDIS_URL: 'redis://:one@localhost:6379/1' };
    expect(configError(() => configFromEnv({ ...both, REDIS_PASSWORD: 'two' })).setting).to.equal('REDIS_PASSWORD');
    expect(configError(() => configFromEnv({ ...both, REDIS_DB: '2' })).setting).to.equal('REDIS_DB');
  });

  it('never echoes a password in a REDIS_URL or REDIS_PASSWORD error', () => {
    for (const env of [
      { REDIS_URL: 'redis://app:s3cret-pw-77@localhost:6379/abc' },
      { REDIS_URL: 'redis://app:s3cret-pw-77@localhost:6379?db=1' },
      { REDIS_URL: 'http://app:s3cret-pw-77@localhost:6379' },
      { REDIS_URL: 'redis://app:s3cret-pw-77@localhost:6379', REDIS_PASSWORD: 's3cret-pw-77' },
      { REDIS_URL: 'redis://localhost:6379', REDIS_PASSWORD: 's3cret-pw-77\n' },
    ]) {
      expect(configError(() => configFromEnv(env)).message).to.not.include('s3cret-pw-77');
    }
  });

  it('connects to the database REDIS_DB names', async () => {
    const db3 = createClient({ url: testRedisUrl(), database: 3 });
    db3.on('error', () => {});
    await db3.connect();
    try {
      const cache = newCache(configFromEnv({ REDIS_URL: testRedisUrl(), REDIS_DB: '3' }));
      await cache.set('p', 'k', 'in db 3');
      expect(await cache.get('p', 'k')).to.equal('in db 3');
      expect(await db3.keys('infercache:p:*')).to.have.length(1);
      expect(await adminClient().keys('infercache:*')).to.deep.equal([]);
      expect(await newCache().get('p', 'k')).to.equal(undefined);
    } finally {
      await db3.flushDb();
      await db3.close();
    }
  });

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

describe('TTL variables: one reader, one mapping from kind to variable', () => {
  /** PTTL in ms of the one entry `cache` stored for `kind`. */
  async function storedTtl(cache: Cache, kind: string): Promise<number> {
    await cache.set(kind, 'k', 'v');
    const keys = await adminClient().keys(`infercache:${kind}:*`);
    expect(keys).to.have.length(1);
    return adminClient().pTTL(keys[0]!);
  }

  const saved: Record<string, string | undefined> = {};
  /** Sets process.env variables for one test; restored after it. */
  function processEnv(vars: Record<string, string>): void {
    for (const [name, value] of Object.entries(vars)) {
      if (!(name in saved)) saved[name] = process.env[name];
      process.env[name] = value;
    }
  }
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
      delete saved[name];
    }
  });

  it("gives kind 'price-model' the TTL of CACHE_TTL_PRICE_MODEL", async () => {
    const cache = newCache(configFromEnv({ REDIS_URL: testRedisUrl(), CACHE_TTL_PRICE_MODEL: '5m' }));
    expect(await storedTtl(cache, 'price-model')).to.be.within(290_000, 300_000);
    expect(ttlEnvName('price-model')).to.equal('CACHE_TTL_PRICE_MODEL');
    expect(ttlEnvName('llm.chat-v2')).to.equal('CACHE_TTL_LLM_CHAT_V2');
  });

  it('keeps variable TTLs when options give other kinds their own', async () => {
    const fromEnv = configFromEnv({ REDIS_URL: testRedisUrl(), CACHE_TTL_PRICE_MODEL: '5m', CACHE_TTL_MODEL: '2m' });
    const cache = newCache({ ...fromEnv, ttl: { model: '6h' } });
    expect(await storedTtl(cache, 'price-model')).to.be.within(290_000, 300_000);
    expect(await storedTtl(cache, 'model')).to.be.above(21_000_000); // the option wins over CACHE_TTL_MODEL
  });

  it('configFromEnv(env) reads env only, and createCache reads no variable of process.env', async () => {
    processEnv({ CACHE_TTL_PRICE_MODEL: '1s', CACHE_TTL_DEFAULT: '2s', CACHE_OPERATION_TIMEOUT: '20' });
    expect(configFromEnv({})).to.deep.equal({});
    const fromEnv = newCache(configFromEnv({ REDIS_URL: testRedisUrl(), CACHE_TTL_PRICE_MODEL: '5m' }));
    expect(await storedTtl(fromEnv, 'price-model')).to.be.within(290_000, 300_000);
    expect(await storedTtl(fromEnv, 'other')).to.be.above(3_500_000); // 1 h, not CACHE_TTL_DEFAULT
    const plain = newCache({ namespace: 'plain' });
    await plain.set('price-model', 'k', 'v');
    const [key] = await adminClient().keys('plain:price-model:*');
    expect(await adminClient().pTTL(key!)).to.be.above(3_500_000);
  });

  it('refuses two kinds in ttl that read the same variable, naming both', () => {
    const error = configError(() =>
      createCache({ setDefault: false, ttl: { 'price-model': '5m', 'price.model': '1m' } }),
    );
    expect(error.setting).to.equal('ttl.price.model');
    expect(error.message)
      .to.include("'price-model'")
      .and.to.include("'price.model'")
      .and.to.include('CACHE_TTL_PRICE_MODEL');
  });

  it('checks ttlEnv given by hand like configFromEnv checks the environment', () => {
    expect(configError(() => createCache({ setDefault: false, ttlEnv: { CACHE_TTL_MODEL: 'soon' } })).setting).to.equal(
      'CACHE_TTL_MODEL',
    );
    expect(configError(() => createCache({ setDefault: false, ttlEnv: { REDIS_URL: 'redis://x' } })).setting).to.equal(
      'ttlEnv.REDIS_URL',
    );
  });
});

describe('createCache options', () => {
  for (const [options, setting] of [
    [{ namespace: 'a b' }, 'namespace'],
    [{ ttl: { prediction: 'soon' } }, 'ttl.prediction'],
    [{ operationTimeout: -5 }, 'operationTimeout'],
    [{ operationTimeout: '11s' }, 'operationTimeout'],
    [{ operationTimeout: 50 }, 'operationTimeout'],
    [{ redis: { url: 'http://x' } }, 'redis.url'],
    [{ redis: { url: 'redis://localhost:6379/abc' } }, 'redis.url'],
    [{ redis: { url: 'redis://localhost:6379?db=2' } }, 'redis.url'],
    [{ redis: { url: 'redis://localhost:0' } }, 'redis.url'],
    [{ redis: { url: 'redis://:pw@localhost:6379', password: 'pw' } }, 'redis.password'],
    [{ redis: { url: 'redis://localhost:6379/1', db: 2 } }, 'redis.db'],
    [{ redis: { url: 'redis://localhost:6379', connectTimeout: 0 } }, 'redis.connectTimeout'],
    [{ redis: { url: 'redis://localhost:6379', socketTimeout: '0s' } }, 'redis.socketTimeout'],
    [{ redis: { cluster: { rootNodes: [{ url: 'redis://localhost:7000/x' }] } } }, 'redis.cluster.rootNodes[0].url'],
    [{ redis: { cluster: { rootNodes: [{ url: 'redis://localhost:7000/1' }] } } }, 'redis.cluster.rootNodes[0].url'],
    [{ memory: { maxEntries: 0 } }, 'memory.maxEntries'],
    [{ ttlJitter: 2 }, 'ttlJitter'],
    [{ enabled: 'yes' }, 'enabled'],
    [{ breaker: { threshold: 1.5 } }, 'breaker.threshold'],
  ] as const) {
    it(`throws a TypeError naming ${setting} for ${JSON.stringify(options)}`, () => {
      expect(() => createCache({ setDefault: false, ...(options as object) })).to.throw(TypeError, setting);
    });
  }

  it('names redis.url, without the password, for a URL node-redis would refuse', () => {
    const error = configError(() => createCache({ setDefault: false, redis: { url: 'redis://u:hunter2@h:6379/abc' } }));
    expect(error.setting).to.equal('redis.url');
    expect(error.message).to.not.include('hunter2');
  });

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
