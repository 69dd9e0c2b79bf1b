/**
 * Options checked once, at creation: unknown names refused with a did-you-mean (from lists derived from the types),
 * a request-path timeout that cannot be a trap, and the package's root exports.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ConfigError, createCache, untilNext, type CacheOptions } from '../src/index.js';
import {
  BREAKER_OPTIONS,
  CACHE_OPTIONS,
  CLUSTER_OPTIONS,
  MEMORY_OPTIONS,
  REDIS_OPTIONS,
  TELEMETRY_OPTIONS,
} from '../src/options.js';
import infercache from '../plugins/fastify.js';
import { fastifyApp, testCache } from './plugins/helpers.js';
import { configError } from './helpers.js';

/** createCache with options the types would refuse (as a JavaScript caller or a spread of unknown data can give). */
const create = (options: object) => createCache({ setDefault: false, logger: false, ...options } as CacheOptions);

describe('unknown options', () => {
  for (const [options, setting, suggestion] of [
    [{ redsi: { url: 'redis://localhost:6379' } }, 'redsi', 'redis'],
    [{ namepsace: 'app' }, 'namepsace', 'namespace'],
    [{ operationTimout: '50ms' }, 'operationTimout', 'operationTimeout'],
    [{ redis: { url: 'redis://localhost:6379', connectTimout: '1s' } }, 'redis.connectTimout', 'connectTimeout'],
    [
      { redis: { cluster: { rootNodes: [{ url: 'redis://localhost:7000' }], default: {} } } },
      'redis.cluster.default',
      'defaults',
    ],
    [{ memory: { maxEntires: 10 } }, 'memory.maxEntires', 'maxEntries'],
    [{ breaker: { treshold: 3 } }, 'breaker.treshold', 'threshold'],
    [{ telemetry: { recordKey: true } }, 'telemetry.recordKey', 'recordKeys'],
  ] as const) {
    it(`refuses ${setting}, suggesting '${suggestion}'`, () => {
      const error = configError(() => create(options));
      expect(error.setting).to.equal(setting);
      expect(error.message).to.include(`did you mean '${suggestion}'?`);
    });
  }

  it('refuses an unknown option with nothing close, without a suggestion', () => {
    const error = configError(() => create({ compression: true }));
    expect(error.setting).to.equal('compression');
    expect(error.message).to.not.include('did you mean');
  });

  it('refuses an unknown option of one entry memory', async () => {
    const cache = create({});
    const error = await cache
      .wrap('p', 'k', async () => 1, { memory: { maxEntires: 5 } as never })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).message).to.include("did you mean 'maxEntries'?");
    await cache.close();
  });

  it('takes every option the types name', () => {
    const all: Required<Omit<CacheOptions, 'redis' | 'logger' | 'telemetry'>> = {
      namespace: 'ns',
      version: 'v2',
      ttl: { default: '1h' },
      ttlEnv: { CACHE_TTL_MODEL: '5m' },
      ttlJitter: 0.1,
      enabled: false,
      operationTimeout: '50ms',
      hashKeys: true,
      memory: { maxEntries: 10, maxBytes: 1000, maxTtl: '1m', busDownTtl: '1s' },
      compressThreshold: 1000,
      maxEntryBytes: 10_000,
      encryptionKey: 'a'.repeat(64),
      breaker: { threshold: 2, cooldown: '1s', maxCooldown: '2s' },
      strict: true,
      costPerCall: { model: 0.01 },
      bus: false,
      fleet: false,
      setDefault: false,
    };
    expect(Object.keys(CACHE_OPTIONS).sort()).to.deep.equal(
      [...Object.keys(all), 'logger', 'redis', 'telemetry'].sort(),
    );
    return create({ ...all, telemetry: { enabled: true, recordKeys: 'hash' } }).close();
  });

  it('documents every option in the README configuration table, and the table names no other', () => {
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('\n## Configuration\n');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const rows = [...section.matchAll(/^\| `([\w.]+)`/gm)].map((m) => m[1]!);
    const nested: Record<string, Readonly<Record<string, true>>> = {
      redis: REDIS_OPTIONS,
      'redis.cluster': CLUSTER_OPTIONS,
      memory: MEMORY_OPTIONS,
      breaker: BREAKER_OPTIONS,
      telemetry: TELEMETRY_OPTIONS,
    };
    for (const row of rows) {
      const dot = row.lastIndexOf('.');
      const known = dot < 0 ? CACHE_OPTIONS : nested[row.slice(0, dot)];
      expect(known, `README row ${row}`).to.not.equal(undefined);
      expect(Object.keys(known!), `README row ${row}`).to.include(row.slice(dot + 1));
    }
    for (const name of Object.keys(CACHE_OPTIONS)) {
      const documented = rows.some((row) => row === name || row.startsWith(`${name}.`));
      expect(documented, `option ${name} in the README`).to.equal(true);
    }
    for (const name of Object.keys(REDIS_OPTIONS)) expect(rows).to.include(`redis.${name}`);
  });
});

describe('infercache/fastify options', () => {
  for (const [name, value] of [
    ['bus', false],
    ['telemetry', { enabled: false }],
    ['costPerCall', { model: 1 }],
    ['ttlEnv', { CACHE_TTL_MODEL: '5m' }],
    ['namespace', 'other'],
  ] as const) {
    it(`refuses ${name} given alongside cache (it would configure nothing)`, async () => {
      const app = fastifyApp();
      const error = await app
        .register(infercache, { cache: testCache(), [name]: value })
        .ready()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).setting).to.equal(name);
      expect((error as ConfigError).message).to.include('not both');
    });
  }

  it('refuses an unknown plugin option with a did-you-mean', async () => {
    for (const [options, suggestion] of [
      [{ cache: testCache(), endpoint: true }, 'endpoints'],
      [{ redsi: {} }, 'redis'],
      [{ cache: testCache(), closeCahce: true }, 'closeCache'],
    ] as const) {
      const app = fastifyApp();
      const error = await app
        .register(infercache, options as never)
        .ready()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).message).to.include(`did you mean '${suggestion}'?`);
    }
  });
});

describe('operationTimeout', () => {
  it('refuses a number of seconds above 10, suggesting the milliseconds it probably meant', () => {
    const error = configError(() => create({ operationTimeout: 50 }));
    expect(error.setting).to.equal('operationTimeout');
    expect(error.message).to.include("did you mean '50ms'?");
  });

  it('refuses anything above 10 s, and takes 10 s', async () => {
    for (const value of ['10001ms', '11s', '1m', 3600]) {
      expect(configError(() => create({ operationTimeout: value })).message).to.include('at most 10s');
    }
    const cache = create({ operationTimeout: '10s' });
    expect(cache.settings.operationTimeout).to.equal(10_000);
    expect(create({ operationTimeout: 0.05 }).settings.operationTimeout).to.equal(50);
  });
});

describe('package root', () => {
  it('exports untilNext, a dynamic TTL ending at the next hour:minute', () => {
    const at = new Date(2026, 0, 1, 2, 30).getTime();
    expect(untilNext(3, 0, () => at)()).to.equal(30 * 60);
  });
});
