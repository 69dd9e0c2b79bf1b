/** Redis URLs: what they are turned into for node-redis, and an IPv6 literal against a real server bound to ::1. */
import { expect } from 'chai';
import { ConfigError } from '../../src/index.js';
import { clientOptionsFromUrl } from '../../src/redis/url.js';
import { internalsOf } from '../../src/cache.js';
import { spawnRedis, type RedisProcess } from '../setup/redis-process.js';
import { counted, newCache, sleep } from '../helpers.js';

describe('Redis URL', () => {
  it('becomes host, port, TLS, credentials and database, with an IPv6 literal unbracketed', () => {
    expect(clientOptionsFromUrl('redis://[::1]:6380/2', 'redis.url')).to.deep.equal({
      socket: { host: '::1', port: 6380, tls: false },
      database: 2,
    });
    expect(clientOptionsFromUrl('rediss://app:p%40ss@[2001:db8::7]', 'redis.url')).to.deep.equal({
      socket: { host: '2001:db8::7', tls: true },
      username: 'app',
      password: 'p@ss',
    });
    expect(clientOptionsFromUrl('redis://cache.internal:6379', 'redis.url')).to.deep.equal({
      socket: { host: 'cache.internal', port: 6379, tls: false },
    });
  });

  it('refuses a TLS socket option that contradicts the scheme, naming it', () => {
    expect(() =>
      newCache({ redis: { url: 'redis://localhost:6379', clientOptions: { socket: { tls: true } } } }),
    ).to.throw(ConfigError, 'redis.clientOptions.socket.tls');
  });

  describe('an IPv6 literal (redis://[::1]:port)', function () {
    this.timeout(20_000);
    let server: RedisProcess;
    before(async function () {
      this.timeout(20_000);
      server = await spawnRedis({ args: ['--bind', '::1', '--requirepass', 'v6-secret-pw'] });
    });
    after(async () => {
      await server?.stop();
    });

    it('connects, caches, keeps instances coherent over the bus, and reports healthy', async () => {
      const url = `redis://:v6-secret-pw@[::1]:${server.port}/1`;
      const a = newCache({ redis: { url } });
      const b = newCache({ redis: { url } });
      await Promise.all([a.connect(), b.connect()]);
      const fn = counted((x: number) => ({ x }));
      expect(await a.wrap('p', [1], () => fn(1))).to.deep.equal({ x: 1 });
      expect(await b.wrapDetailed('p', [1], () => fn(1))).to.deep.include({ result: 'hit', value: { x: 1 } });
      expect(fn.calls).to.equal(1);
      const health = await a.health();
      expect(health.status).to.equal('healthy');
      expect(health.redis.status).to.equal('ready');
      for (let i = 0; i < 500 && !internalsOf(a).bus!.up; i++) await sleep(10); // the subscriber, a duplicate
      expect(internalsOf(a).bus!.up).to.equal(true);
      expect((await a.info()).redis?.url).to.equal(`redis://:***@[::1]:${server.port}/1`);
    });
  });
});
