/** TLS (`rediss://`) with an ACL user: connects and caches; fails clearly, and without leaking the password, when refused. */
import { expect } from 'chai';
import { startTlsRedis, type TlsRedis } from './setup/tls.js';
import { newCache, counted, sleep } from './helpers.js';
import type { CacheOptions } from '../src/index.js';

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
    const fn = counted(() => 'computed');
    for (let i = 0; i < 3; i++) expect(await cache.wrap('p', 'k', fn)).to.equal('computed');
    expect(fn.calls).to.equal(3);
    await sleep(100);
    const health = await cache.health();
    expect(health.status).to.equal('unavailable');
    expect(health.redis.lastError).to.match(/WRONGPASS|invalid username-password/);
    const text = JSON.stringify({ health, info: await cache.info(), logs });
    expect(text).to.not.include(wrong);
    expect(text).to.not.include(tls.password);
    expect(logs.length).to.be.above(0);
  });

  it('runs calls uncached when the server certificate is not trusted, and says why', async () => {
    const { cache, logs } = tlsCache(tls.url(), tls.otherCa);
    const fn = counted(() => 'computed');
    for (let i = 0; i < 3; i++) expect(await cache.wrap('p', 'k', fn)).to.equal('computed');
    expect(fn.calls).to.equal(3);
    await sleep(100);
    const health = await cache.health();
    expect(health.status).to.equal('unavailable');
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
