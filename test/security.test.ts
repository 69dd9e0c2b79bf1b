/**
 * TLS (`rediss://`) with an ACL user: connects and caches; fails clearly, and without leaking the password, when
 * refused. Every password the options can carry is scrubbed from reports and logs.
 */
import { expect } from 'chai';
import { startTlsRedis, type TlsRedis } from './setup/tls.js';
import { createClient } from 'redis';
import { newCache, counted, sleep } from './helpers.js';
import { startTestRedis, type TestRedis } from '../src/testing.js';
import { inspect } from 'node:util';
import type { Cache, CacheHealth, CacheOptions, RedisOptions } from '../src/index.js';

/** Three calls all compute (the cache cannot be used), then `health()` says `unavailable`: returns that report. */
async function runsUncachedAndUnavailable(cache: Cache): Promise<CacheHealth> {
  const fn = counted(() => 'computed');
  for (let i = 0; i < 3; i++) expect(await cache.wrap('p', 'k', fn)).to.equal('computed');
  expect(fn.calls).to.equal(3);
  await sleep(100);
  const health = await cache.health();
  expect(health.status).to.equal('unavailable');
  return health;
}

describe('TLS and ACL', function () {
  this.timeout(20_000);
  let tls: TlsRedis;
  before(async function () {
    this.timeout(30_000);
    tls = await startTlsRedis();
  });
  after(async () => {
    await tls?.stop();
  });

  /** A cache over TLS that records every log line. */
  function tlsCache(url: string, ca: Buffer) {
    const logs: string[] = [];
    const options: CacheOptions = {
      redis: { url, connectTimeout: '500ms', clientOptions: { socket: { tls: true, ca } } },
      operationTimeout: '200ms',
      logger: { warn: (m) => void logs.push(m), info: (m) => void logs.push(m) },
    };
    return { cache: newCache(options), logs };
  }

  it('connects over TLS as an ACL user, caches, and reports healthy', async () => {
    const { cache } = tlsCache(tls.url(), tls.ca);
    await cache.connect();
    const fn = counted((x: number) => ({ x }));
    expect(await cache.wrap('p', [1], () => fn(1))).to.deep.equal({ x: 1 });
    await sleep(20);
    expect(await cache.wrap('p', [1], () => fn(1))).to.deep.equal({ x: 1 });
    expect(fn.calls).to.equal(1);
    expect(cache.stats().hits).to.equal(1);
    const health = await cache.health();
    expect(health.status).to.equal('healthy');
    const info = await cache.info();
    expect(info.redis?.url).to.equal(`rediss://app:***@127.0.0.1:${tls.port}`);
    expect(JSON.stringify(info)).to.not.include(tls.password);
  });

  it('refuses a plain-text client on the TLS port without failing calls', async () => {
    const cache = newCache({
      redis: { url: `redis://app:${tls.password}@127.0.0.1:${tls.port}`, connectTimeout: '300ms' },
      logger: false,
    });
    const fn = counted(() => 'computed');
    for (let i = 0; i < 3; i++) expect(await cache.wrap('p', 'k', fn)).to.equal('computed');
    expect(fn.calls).to.equal(3);
    expect((await cache.health()).status).to.equal('unavailable');
  });

  it('runs calls uncached with a wrong password, reports the refusal by name, and never shows the password', async () => {
    const wrong = 'wrong-pw-91c2';
    const { cache, logs } = tlsCache(tls.url(wrong), tls.ca);
    const health = await runsUncachedAndUnavailable(cache);
    expect(health.redis.lastError).to.match(/WRONGPASS|invalid username-password/);
    const text = JSON.stringify({ health, info: await cache.info(), logs });
    expect(text).to.not.include(wrong);
    expect(text).to.not.include(tls.password);
    expect(logs.length).to.be.above(0);
  });

  it('runs calls uncached when the server certificate is not trusted, and says why', async () => {
    const { cache, logs } = tlsCache(tls.url(), tls.otherCa);
    const health = await runsUncachedAndUnavailable(cache);
    expect(health.redis.lastError).to.match(/certificate/i);
    const text = JSON.stringify({ health, info: await cache.info(), logs });
    expect(text).to.not.include(tls.password);
  });

  it('rejects connect() with a named error when the password is wrong', async () => {
    const { cache } = tlsCache(tls.url('nope-pw-55'), tls.ca);
    const error = await cache.connect().then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(error?.code).to.equal('E_CACHE_UNAVAILABLE');
    expect(error?.message).to.not.include('nope-pw-55');
  });
});

describe('passwords given outside the URL', function () {
  this.timeout(20_000);
  let server: TestRedis;
  before(async function () {
    this.timeout(30_000);
    // A server that does not know HELLO (Redis 5, some proxies) answers node-redis's `HELLO 3 AUTH <user> <password>`
    // with "unknown command 'HELLO', with args beginning with: … '<password>'": the password comes back in the error.
    server = await startTestRedis({
      args: ['--requirepass', 'right-pw-0d1e', '--rename-command', 'HELLO', 'HELLO_OFF'],
    });
  });
  after(async () => {
    await server?.stop();
  });

  const cases: Array<[string, (url: string, password: string) => RedisOptions]> = [
    ['redis.password', (url, password) => ({ url, password })],
    ['redis.clientOptions.password', (url, password) => ({ url, clientOptions: { password } })],
    ['redis.clientOptions with a username', (url, password) => ({ url, clientOptions: { username: 'app', password } })],
    [
      'redis.cluster.defaults.password',
      (url, password) => ({ cluster: { rootNodes: [{ url }], defaults: { password } } }),
    ],
    [
      'redis.cluster.defaults with a username',
      (url, password) => ({ cluster: { rootNodes: [{ url }], defaults: { username: 'app', password } } }),
    ],
    [
      'a node-redis client built with a password',
      (url, password) => {
        const client = createClient({ url, password });
        client.on('error', () => {});
        return { client, closeClient: true };
      },
    ],
  ];
  for (const [where, redis] of cases) {
    it(`never shows a wrong ${where} in health(), info(), connect()'s error or a logged warning`, async () => {
      const wrong = `wrong-pw-${Math.random().toString(36).slice(2, 10)}`;
      const logs: string[] = [];
      const cache = newCache({
        redis: { ...redis(server.url, wrong), connectTimeout: '500ms' },
        operationTimeout: '200ms',
        logger: { warn: (m) => void logs.push(m), info: (m) => void logs.push(m) },
      });
      const connectError = await cache.connect().then(
        () => 'connected',
        (e: unknown) => String(e),
      );
      const health = await runsUncachedAndUnavailable(cache);
      const text = JSON.stringify({ connectError, health, info: await cache.info(), logs });
      expect(text).to.not.include(wrong);
      // the server did echo it, and what was reported shows where, scrubbed
      expect(text).to.match(/unknown command 'HELLO', with args beginning with: '3' 'AUTH' '\w+' '\*\*\*'/);
      expect(logs.length).to.be.above(0);
    });
  }
});

describe('the cache object shows no secret', () => {
  const password = 'settings-pw-4f1a';
  const key = Buffer.from('0123456789abcdef0123456789abcdef');
  /** Every way the key could be written out. */
  const keyForms = [
    key.toString('hex'),
    key.toString('base64'),
    [...key].join(','),
    [...key].map((b) => b.toString(16).padStart(2, '0')).join(' '),
  ];

  const cases: Array<[string, () => RedisOptions]> = [
    ['a password in redis.url', () => ({ url: `redis://app:${password}@127.0.0.1:1` })],
    ['redis.password', () => ({ url: 'redis://127.0.0.1:1', password })],
    ['redis.clientOptions.password', () => ({ url: 'redis://127.0.0.1:1', clientOptions: { password } })],
    [
      'redis.cluster.defaults.password',
      () => ({ cluster: { rootNodes: [{ url: 'redis://127.0.0.1:1' }], defaults: { password } } }),
    ],
    [
      'a client built with a password',
      () => {
        const client = createClient({ url: 'redis://127.0.0.1:1', password });
        client.on('error', () => {});
        return { client, closeClient: true };
      },
    ],
  ];
  for (const [where, redis] of cases) {
    it(`keeps ${where} and the encryption key out of cache.settings and util.inspect(cache)`, () => {
      const cache = newCache({ redis: { ...redis(), connectTimeout: '100ms' }, encryptionKey: key, logger: false });
      const shown = [JSON.stringify(cache.settings), inspect(cache, { depth: Infinity }), inspect(cache.settings)];
      for (const text of shown) {
        expect(text).to.not.include(password);
        for (const form of keyForms) expect(text).to.not.include(form);
      }
      expect(cache.settings.encrypted).to.equal(true);
      expect(cache.settings.redis?.mode).to.be.oneOf(['url', 'client', 'cluster']);
    });
  }

  it('shows the Redis URL with its password as ***', () => {
    const cache = newCache({ redis: { url: `redis://app:${password}@127.0.0.1:1/2` }, logger: false });
    expect(cache.settings.redis).to.deep.equal({ mode: 'url', url: 'redis://app:***@127.0.0.1:1/2' });
    expect(Object.isFrozen(cache.settings)).to.equal(true);
  });

  it('hands out neither the Redis tier nor the bus', () => {
    const cache = newCache();
    expect('redis' in cache).to.equal(false);
    expect('bus' in cache).to.equal(false);
  });
});
