/** infercache/fastify: registration and lifecycle (route caching is in fastify-routes.test.ts). */
import { expect } from 'chai';
import { ConfigError, type Cache } from '../../src/index.js';
import infercache from '../../plugins/fastify.js';
import { sleep } from '../helpers.js';
import { testRedisUrl } from '../setup/root-hooks.js';
import { fastifyApp, testCache } from './helpers.js';

describe('infercache/fastify: registration and lifecycle', () => {
  it('decorates app.cache with the cache given and leaves it open when the app closes', async () => {
    const cache = testCache();
    const app = fastifyApp();
    await app.register(infercache, { cache });
    await app.ready();
    expect(app.cache).to.equal(cache);
    await app.close();
    expect(cache.enabled).to.equal(true);
  });

  it('creates a cache from options and closes it with the app', async () => {
    const app = fastifyApp();
    await app.register(infercache, { redis: { url: testRedisUrl() }, namespace: 'fastify-own', setDefault: false });
    await app.ready();
    const cache: Cache = app.cache;
    expect(cache.settings.namespace).to.equal('fastify-own');
    expect(cache.enabled).to.equal(true);
    await app.close();
    expect(cache.enabled).to.equal(false);
  });

  it('closes a cache it was given only with closeCache: true', async () => {
    const cache = testCache();
    const app = fastifyApp();
    await app.register(infercache, { cache, closeCache: true });
    await app.close();
    expect(cache.enabled).to.equal(false);
  });

  it('refuses a second registration with a clear error', async () => {
    const app = fastifyApp();
    await app.register(infercache, { cache: testCache() });
    app.register(infercache, { cache: testCache() });
    const error = await app.ready().then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).to.equal('E_CACHE_ALREADY_REGISTERED');
    expect(error?.message).to.match(/register the infercache plugin once/);
  });

  it('refuses a cache together with cache options, naming the option', async () => {
    const app = fastifyApp();
    app.register(infercache, { cache: testCache(), namespace: 'x' });
    const error = await app.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).setting).to.equal('namespace');
  });

  it('is not blocked by an unreachable Redis: ready(), listen() and cached routes answer at once', async () => {
    const app = fastifyApp();
    // waiting out the 30 s connect timeout anywhere below would end the test by its 20 s timeout
    await app.register(infercache, {
      redis: { url: 'redis://127.0.0.1:1', connectTimeout: '30s' },
      logger: false,
      setDefault: false,
    });
    app.get('/x', { config: { cache: true } }, async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await app.inject('/x');
    expect(res.statusCode).to.equal(200);
    expect(res.json()).to.deep.equal({ ok: true });
    expect(res.headers['x-cache']).to.equal('BYPASS');
  });

  it('rejects bad route options when the route is added, naming the option and the route', async () => {
    const app = fastifyApp();
    await app.register(infercache, { cache: testCache() });
    expect(() => app.get('/bad', { config: { cache: { ttl: 'soon' } } }, async () => 1))
      .to.throw(ConfigError, 'GET /bad')
      .with.property('setting', 'config.cache.ttl');
  });

  it("rejects an unknown config.cache option when the route is added: unknown option 'ttll', did you mean 'ttl'?", async () => {
    const app = fastifyApp();
    await app.register(infercache, { cache: testCache() });
    expect(() => app.get('/typo', { config: { cache: { ttll: '5m' } as never } }, async () => 1))
      .to.throw(ConfigError, "unknown option 'ttll'; did you mean 'ttl'? (route GET /typo)")
      .with.property('setting', 'config.cache.ttll');
  });

  it('rejects unknown plugin options with a did-you-mean, and refuses telemetry, costPerCall or bus next to a cache', async () => {
    for (const [options, setting, message] of [
      [{ cache: testCache(), endpoint: true }, 'endpoint', "did you mean 'endpoints'?"],
      [{ cache: testCache(), bus: false }, 'bus', 'either cache or cache options'],
      [{ cache: testCache(), costPerCall: { llm: 1 } }, 'costPerCall', 'either cache or cache options'],
      [{ cache: testCache(), telemetry: { enabled: false } }, 'telemetry', 'either cache or cache options'],
    ] as const) {
      const app = fastifyApp();
      app.register(infercache, options as never);
      const error = await app.ready().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, setting).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).setting, setting).to.equal(setting);
      expect((error as ConfigError).message, setting).to.include(message);
    }
    // Fastify's own register options are passed along with the plugin's: they are accepted
    const app = fastifyApp();
    await app.register(infercache, { cache: testCache(), prefix: '/p', logLevel: 'warn' } as never);
  });

  it('refuses config.cache on a POST route that does not list POST in methods', async () => {
    const app = fastifyApp();
    await app.register(infercache, { cache: testCache() });
    expect(() => app.post('/predict', { config: { cache: { kind: 'price' } } }, async () => 1))
      .to.throw(ConfigError, "methods: ['POST']")
      .with.property('setting', 'config.cache.methods');
  });

  it('closes its own cache even when the app closes with requests still computing', async () => {
    const app = fastifyApp();
    await app.register(infercache, { redis: { url: testRedisUrl() }, setDefault: false, logger: false });
    const cache = app.cache;
    app.get('/slow', { config: { cache: true } }, async () => {
      await sleep(50);
      return 'done';
    });
    const pending = app.inject('/slow');
    await sleep(5);
    await app.close();
    expect((await pending).body).to.equal('done');
    expect(cache.enabled).to.equal(false);
  });
});
