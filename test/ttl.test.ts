import { expect } from 'chai';
import { configError } from './config-error.js';
import { ConfigError } from '../src/errors.js';
import { TtlRegistry, ttlEnvName, untilMidnight, untilNext, type TtlSpec } from '../src/ttl.js';

const noEnv = {};

describe('TtlRegistry', () => {
  describe('precedence', () => {
    it('uses the TTL given in options for a kind', () => {
      const ttl = new TtlRegistry({ ttl: { prediction: '5m', model: 21_600 }, env: noEnv });
      expect(ttl.resolve('prediction', undefined, [], null)).to.equal(300_000);
      expect(ttl.resolve('model', undefined, [], null)).to.equal(21_600_000);
    });

    it('prefers options over CACHE_TTL_<KIND>, and CACHE_TTL_<KIND> over the default', () => {
      const ttl = new TtlRegistry({
        ttl: { prediction: '5m', default: '2h' },
        env: { CACHE_TTL_PREDICTION: '10m', CACHE_TTL_MODEL: '6h', CACHE_TTL_DEFAULT: '3h' },
      });
      expect(ttl.resolve('prediction', undefined, [], null)).to.equal(300_000);
      expect(ttl.resolve('model', undefined, [], null)).to.equal(21_600_000);
      expect(ttl.resolve('other', undefined, [], null)).to.equal(7_200_000);
    });

    it('falls back to CACHE_TTL_DEFAULT, then to one hour', () => {
      expect(new TtlRegistry({ env: { CACHE_TTL_DEFAULT: '90s' } }).resolve('x', undefined, [], null)).to.equal(90_000);
      expect(new TtlRegistry({ env: noEnv }).resolve('x', undefined, [], null)).to.equal(3_600_000);
    });

    it('reads CACHE_TTL_<KIND> with the kind upper-cased and dashes and dots turned into underscores', () => {
      expect(ttlEnvName('price-model')).to.equal('CACHE_TTL_PRICE_MODEL');
      const ttl = new TtlRegistry({ env: { CACHE_TTL_PRICE_MODEL: '2m', CACHE_TTL_LLM_CHAT_V2: '1d' } });
      expect(ttl.resolve('price-model', undefined, [], null)).to.equal(120_000);
      expect(ttl.resolve('llm.chat-v2', undefined, [], null)).to.equal(86_400_000);
    });

    it('reads the environment once, in the constructor', () => {
      const env: Record<string, string | undefined> = { CACHE_TTL_LATE: '1m' };
      const ttl = new TtlRegistry({ env });
      env.CACHE_TTL_LATE = '2m';
      env.CACHE_TTL_OTHER = '3m';
      expect(ttl.resolve('late', undefined, [], null)).to.equal(60_000);
      expect(ttl.resolve('other', undefined, [], null)).to.equal(3_600_000);
    });

    it('never reads process.env: only the env it is given (configFromEnv is the one reader)', () => {
      process.env.CACHE_TTL_INFERCACHE_TEST_KIND = '7s';
      try {
        expect(new TtlRegistry({}).resolve('infercache-test-kind', undefined, [], null)).to.equal(3_600_000);
      } finally {
        delete process.env.CACHE_TTL_INFERCACHE_TEST_KIND;
      }
    });

    it('treats an empty CACHE_TTL_<KIND> or an undefined option as not set', () => {
      const ttl = new TtlRegistry({ ttl: { a: undefined }, env: { CACHE_TTL_A: '', CACHE_TTL_DEFAULT: ' ' } });
      expect(ttl.resolve('a', undefined, [], null)).to.equal(3_600_000);
    });

    it('allows 0, meaning do not store', () => {
      const ttl = new TtlRegistry({ ttl: { nocache: 0 }, env: { CACHE_TTL_OFF: '0s' } });
      expect(ttl.resolve('nocache', undefined, [], null)).to.equal(0);
      expect(ttl.resolve('off', undefined, [], null)).to.equal(0);
    });
  });

  describe('validation at construction', () => {
    it('rejects a bad option naming ttl.<kind>', () => {
      expect(configError(() => new TtlRegistry({ ttl: { prediction: '5 minutes' }, env: noEnv })).setting).to.equal(
        'ttl.prediction',
      );
      expect(configError(() => new TtlRegistry({ ttl: { default: -1 }, env: noEnv })).setting).to.equal('ttl.default');
    });

    it('rejects a bad CACHE_TTL_* value naming the variable, even for a kind no option names', () => {
      const err = configError(() => new TtlRegistry({ env: { CACHE_TTL_PREDICTION: 'soon' } }));
      expect(err.setting).to.equal('CACHE_TTL_PREDICTION');
      expect(err.message).to.contain('CACHE_TTL_PREDICTION');
      expect(configError(() => new TtlRegistry({ env: { CACHE_TTL_DEFAULT: '-5m' } })).setting).to.equal(
        'CACHE_TTL_DEFAULT',
      );
    });

    it('ignores variables that do not start with CACHE_TTL_', () => {
      expect(() => new TtlRegistry({ env: { CACHE_TTLX: 'nonsense', PATH: '/bin' } })).not.to.throw();
    });

    it('rejects a kind name that cannot be a key segment', () => {
      expect(configError(() => new TtlRegistry({ ttl: { 'a b': '5m' }, env: noEnv })).setting).to.equal('ttl.a b');
    });

    it('rejects jitter outside 0..1 and a ttl that is not an object', () => {
      for (const jitter of [-0.1, 1.5, NaN, '0.1']) {
        const options = { jitter, env: noEnv } as unknown as ConstructorParameters<typeof TtlRegistry>[0];
        expect(configError(() => new TtlRegistry(options)).setting).to.equal('jitter');
      }
      const options = { ttl: '5m', env: noEnv } as unknown as ConstructorParameters<typeof TtlRegistry>[0];
      expect(configError(() => new TtlRegistry(options)).setting).to.equal('ttl');
    });
  });

  describe('dynamic TTLs and overrides', () => {
    it('calls a dynamic TTL with the call arguments and result', () => {
      const calls: Array<[readonly unknown[], unknown]> = [];
      const ttl = new TtlRegistry({
        ttl: {
          price: (args, result) => {
            calls.push([args, result]);
            return (result as { confidence: number }).confidence > 0.9 ? '1h' : 60;
          },
        },
        env: noEnv,
      });
      const args = [{ region: 'eu' }];
      expect(ttl.resolve('price', undefined, args, { confidence: 0.95 })).to.equal(3_600_000);
      expect(ttl.resolve('price', undefined, args, { confidence: 0.5 })).to.equal(60_000);
      expect(calls[0]![0]).to.equal(args);
      expect(calls[0]![1]).to.deep.equal({ confidence: 0.95 });
    });

    it('lets a per-call override win over the kind, whether static or dynamic', () => {
      const ttl = new TtlRegistry({ ttl: { price: '5m' }, env: noEnv });
      expect(ttl.resolve('price', '10s', [], null)).to.equal(10_000);
      expect(ttl.resolve('price', 2, [], null)).to.equal(2_000);
      expect(ttl.resolve('price', 0, [], null)).to.equal(0);
      expect(ttl.resolve('price', (args) => (args[0] as number) * 60, [3], null)).to.equal(180_000);
    });

    it('falls back to the kind static TTL and reports when an override function throws', () => {
      const errors: unknown[] = [];
      const boom = new Error('boom');
      const ttl = new TtlRegistry({ ttl: { price: '5m' }, env: noEnv });
      const ms = ttl.resolve(
        'price',
        () => {
          throw boom;
        },
        [],
        null,
        (err) => errors.push(err),
      );
      expect(ms).to.equal(300_000);
      expect(errors).to.deep.equal([boom]);
    });

    it('falls back to the default and reports a ConfigError when a kind function returns something invalid', () => {
      const errors: unknown[] = [];
      const ttl = new TtlRegistry({ ttl: { price: () => 'soon', default: '2m' }, env: noEnv });
      expect(ttl.resolve('price', undefined, [], null, (err) => errors.push(err))).to.equal(120_000);
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(ConfigError);
      expect((errors[0] as ConfigError).message).to.contain('ttl.price');
    });

    it('uses one hour when the kind and the default are both dynamic and the function fails', () => {
      const ttl = new TtlRegistry({ ttl: { default: () => -1 }, env: noEnv });
      expect(ttl.resolve('any', undefined, [], null)).to.equal(3_600_000);
    });

    it('never throws, not even when the error callback throws or an override string is invalid', () => {
      const ttl = new TtlRegistry({ ttl: { price: '5m' }, env: noEnv });
      const fail = (): never => {
        throw new Error('callback failed');
      };
      const bad = (() => {
        throw new Error('x');
      }) as TtlSpec;
      expect(ttl.resolve('price', bad, [], null, fail)).to.equal(300_000);
      expect(ttl.resolve('price', 'whenever', [], null)).to.equal(300_000);
    });
  });

  describe('jitter', () => {
    it('shortens each TTL by at most jitter × ttl and spreads the values across that range', () => {
      const ttl = new TtlRegistry({ ttl: { price: 100 }, env: noEnv, jitter: 0.2 });
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < 10_000; i++) {
        const ms = ttl.resolve('price', undefined, [], null);
        expect(Number.isInteger(ms)).to.equal(true);
        min = Math.min(min, ms);
        max = Math.max(max, ms);
      }
      expect(min).to.be.at.least(80_000);
      expect(max).to.be.at.most(100_000);
      expect(min).to.be.below(82_000);
      expect(max).to.be.above(98_000);
    });

    it('leaves 0 at 0 and never turns a positive TTL into 0', () => {
      const ttl = new TtlRegistry({ ttl: { off: 0, tiny: '1ms' }, env: noEnv, jitter: 1 });
      for (let i = 0; i < 1_000; i++) {
        expect(ttl.resolve('off', undefined, [], null)).to.equal(0);
        expect(ttl.resolve('tiny', undefined, [], null)).to.equal(1);
      }
    });

    it('is off by default', () => {
      const ttl = new TtlRegistry({ ttl: { price: 100 }, env: noEnv });
      for (let i = 0; i < 100; i++) expect(ttl.resolve('price', undefined, [], null)).to.equal(100_000);
    });
  });

  describe('validate and settings', () => {
    it('validates a decoration-time TTL: functions as they are, static ones parsed now', () => {
      const fn = (): number => 5;
      expect(TtlRegistry.validate(fn, 'ttl')).to.equal(fn);
      expect(TtlRegistry.validate('5m', 'ttl')).to.equal('5m');
      expect(configError(() => TtlRegistry.validate('5 m', 'PriceService.predict ttl')).setting).to.equal(
        'PriceService.predict ttl',
      );
    });

    it('reports each kind with its TTL in ms, where it came from, and whether it is dynamic', () => {
      const ttl = new TtlRegistry({
        ttl: { price: '5m', daily: untilMidnight },
        env: { CACHE_TTL_MODEL: '6h', CACHE_TTL_PRICE: '1m' },
      });
      ttl.resolve('used', undefined, [], null);
      expect(ttl.settings()).to.deep.equal({
        default: { ms: 3_600_000, source: 'default', dynamic: false },
        price: { ms: 300_000, source: 'option', dynamic: false },
        daily: { ms: null, source: 'option', dynamic: true },
        used: { ms: 3_600_000, source: 'default', dynamic: false },
        model: { ms: 21_600_000, source: 'env', dynamic: false },
      });
    });
  });
});

describe('untilMidnight and untilNext', () => {
  it('untilMidnight returns seconds between 0 and 86 400 (plus one hour on the day clocks go back)', () => {
    const s = untilMidnight();
    expect(s).to.be.greaterThan(0);
    expect(s).to.be.at.most(86_400 + 3_600);
  });

  it('untilMidnight is usable directly as a TTL and gives milliseconds until local midnight', () => {
    const ttl = new TtlRegistry({ ttl: { daily: untilMidnight }, env: noEnv });
    const midnight = new Date();
    midnight.setHours(24, 0, 0, 0);
    const before = Date.now();
    const ms = ttl.resolve('daily', undefined, [], null);
    expect(ms).to.be.greaterThan(0);
    expect(ms).to.be.at.most(midnight.getTime() - before + 1);
  });

  it('counts to the next occurrence of the hour, a full day ahead when it is that time exactly', () => {
    const at =
      (h: number, m: number, s = 0): (() => number) =>
      () =>
        new Date(2024, 5, 15, h, m, s).getTime();
    expect(untilNext(0, 0, at(23, 59, 30))()).to.equal(30);
    expect(untilNext(3, 0, at(2, 0))()).to.equal(3_600);
    expect(untilNext(3, 0, at(4, 0))()).to.equal(23 * 3_600);
    expect(untilNext(0, 0, at(0, 0))()).to.equal(86_400);
    expect(untilNext(18, 30, at(18, 0))()).to.equal(1_800);
  });

  it('rejects an hour or minute out of range', () => {
    expect(configError(() => untilNext(24)).setting).to.equal('untilNext(hour)');
    expect(configError(() => untilNext(1.5)).setting).to.equal('untilNext(hour)');
    expect(configError(() => untilNext(3, 60)).setting).to.equal('untilNext(minute)');
  });
});
