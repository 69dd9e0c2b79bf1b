/**
 * TtlRegistry's errors and edges: what each bad option or variable says, boundaries of jitter and untilNext, and
 * what settings() reports for env-sourced and dynamic defaults. Unit tests, no Redis (see also ttl.test.ts).
 */
import { expect } from 'chai';
import { configError } from './config-error.js';
import { ConfigError } from '../src/errors.js';
import { checkTtlEnvName, TtlRegistry, untilNext, type TtlRegistryOptions } from '../src/ttl.js';

const registry = (options: unknown) => new TtlRegistry(options as TtlRegistryOptions);

describe('TtlRegistry: bad options say what was expected', () => {
  it('refuses options that are not an object', () => {
    for (const options of [null, 'ttl', 5]) {
      const error = configError(() => registry(options));
      expect(error.setting).to.equal('ttl');
      expect(error.message).to.include('expected an options object');
    }
  });

  it('refuses a ttl that is not an object of TTLs per kind', () => {
    for (const ttl of [null, [], '5m']) {
      const error = configError(() => registry({ ttl }));
      expect(error.setting).to.equal('ttl');
      expect(error.message).to.include('expected an object of TTLs per kind, e.g. { prediction: "5m", default: "1h" }');
    }
  });

  it('refuses an env that is not an object', () => {
    for (const env of [null, 'CACHE_TTL_X=1']) {
      const error = configError(() => registry({ env }));
      expect(error.setting).to.equal('env');
      expect(error.message).to.include('expected an object of variables');
    }
  });

  it('accepts jitter from 0 to 1, both included, and names a bad one', () => {
    for (const jitter of [0, 1, 0.5]) expect(() => registry({ jitter })).not.to.throw();
    const error = configError(() => registry({ jitter: 2 }));
    expect(error.message).to.include('expected a fraction from 0 to 1, got 2');
  });

  it('refuses two kinds that read the same CACHE_TTL_ variable, naming both', () => {
    const error = configError(() => registry({ ttl: { 'price-model': '1m', PRICE_MODEL: '2m' } }));
    expect(error.setting).to.equal('ttl.PRICE_MODEL');
    expect(error.message).to.include(
      "kinds 'price-model' and 'PRICE_MODEL' both read CACHE_TTL_PRICE_MODEL: rename one (kinds differing only in " +
        'case, - . _ share one variable)',
    );
    expect(() => registry({ ttl: { 'price-model': '1m', 'price-model2': '2m' } })).not.to.throw();
  });

  it('checks a variable only when it starts with CACHE_TTL_ and has a value', () => {
    expect(() => registry({ env: { CACHE_TTL_: undefined, CACHE_TTL_price: '' } })).not.to.throw();
    expect(() => registry({ env: { XCACHE_TTL_price: '1m' } })).not.to.throw();
    expect(configError(() => registry({ env: { CACHE_TTL_price: '1m' } })).setting).to.equal('CACHE_TTL_price');
  });
});

describe('checkTtlEnvName', () => {
  it('refuses CACHE_TTL_ alone: it names no kind', () => {
    const error = configError(() => checkTtlEnvName('CACHE_TTL_'));
    expect(error.setting).to.equal('CACHE_TTL_');
    expect(error.message).to.include('names no kind (e.g. CACHE_TTL_PREDICTION)');
  });

  it('refuses a name no kind reads, naming the variable the kind reads', () => {
    const error = configError(() => checkTtlEnvName('CACHE_TTL_price-model'));
    expect(error.setting).to.equal('CACHE_TTL_price-model');
    expect(error.message).to.include(
      "no kind reads it: a kind's variable is CACHE_TTL_ and the kind upper-cased, with - and . as _ " +
        "(kind 'price-model' reads CACHE_TTL_PRICE_MODEL)",
    );
  });

  it('accepts 1 to 64 characters of A-Z 0-9 _, and nothing else', () => {
    for (const suffix of ['A', 'PRICE_MODEL', '9', 'X'.repeat(64)]) {
      expect(() => checkTtlEnvName(`CACHE_TTL_${suffix}`), suffix).not.to.throw();
    }
    for (const suffix of ['X'.repeat(65), 'a', 'PRICE-MODEL', 'A.B', ' A', 'A ', 'aA', 'Aa']) {
      expect(() => checkTtlEnvName(`CACHE_TTL_${suffix}`), suffix).to.throw(ConfigError);
    }
  });
});

describe('TtlRegistry: dynamic TTLs report the setting that failed', () => {
  it("names the kind's setting and that the function returned it", () => {
    const errors: unknown[] = [];
    const ttl = registry({ ttl: { price: () => 'soon' } });
    expect(ttl.resolve('price', undefined, [], null, (e) => errors.push(e))).to.equal(3_600_000);
    expect((errors[0] as ConfigError).setting).to.equal('ttl.price (returned by the TTL function)');
  });

  it("names the default's setting when the default function fails for a kind without its own TTL", () => {
    const errors: unknown[] = [];
    const ttl = registry({ ttl: { default: () => 'soon' } });
    expect(ttl.resolve('other', undefined, [], null, (e) => errors.push(e))).to.equal(3_600_000);
    expect((errors[0] as ConfigError).setting).to.equal('ttl.default (returned by the TTL function)');
  });

  it('names ttl for a failing per-call override, static or dynamic', () => {
    const errors: unknown[] = [];
    const ttl = registry({ ttl: { price: '5m' } });
    expect(ttl.resolve('price', 'whenever', [], null, (e) => errors.push(e))).to.equal(300_000);
    expect(
      ttl.resolve(
        'price',
        () => 'never',
        [],
        null,
        (e) => errors.push(e),
      ),
    ).to.equal(300_000);
    expect(errors.map((e) => (e as ConfigError).setting)).to.deep.equal(['ttl', 'ttl (returned by the TTL function)']);
  });

  it('parses a repeated string override the same way each time', () => {
    const ttl = registry({});
    for (let i = 0; i < 3; i++) expect(ttl.resolve('any', '90s', [], null)).to.equal(90_000);
    expect(ttl.resolve('any', 30, [], null)).to.equal(30_000);
  });

  it("falls back to the kind's CACHE_TTL_ value when a per-call function fails", () => {
    const ttl = registry({ env: { CACHE_TTL_PRICE: '2m' }, ttl: { default: '5m' } });
    expect(ttl.resolve('price', () => 'never', [], null)).to.equal(120_000);
  });
});

describe('TtlRegistry.settings', () => {
  it('reports a kind resolved from its CACHE_TTL_ variable as env, and a dynamic default as dynamic', () => {
    const ttl = registry({ ttl: { default: () => 60 }, env: { CACHE_TTL_MODEL: '6h' } });
    ttl.resolve('model', undefined, [], null);
    ttl.resolve('other', undefined, [], null);
    expect(ttl.settings()).to.deep.equal({
      default: { ms: null, source: 'option', dynamic: true },
      model: { ms: 21_600_000, source: 'env', dynamic: false },
      other: { ms: null, source: 'default', dynamic: true },
    });
  });

  it('reports the default from options, not CACHE_TTL_DEFAULT, when both are set', () => {
    const ttl = registry({ ttl: { default: '2h' }, env: { CACHE_TTL_DEFAULT: '3h' } });
    expect(ttl.settings()).to.deep.equal({ default: { ms: 7_200_000, source: 'option', dynamic: false } });
    const fromEnv = registry({ env: { CACHE_TTL_DEFAULT: '3h' } });
    expect(fromEnv.settings()).to.deep.equal({ default: { ms: 10_800_000, source: 'env', dynamic: false } });
  });
});

describe('untilNext: bounds', () => {
  it('accepts hour 0 to 23 and minute 0 to 59', () => {
    const noon = () => new Date(2024, 5, 15, 12, 0).getTime();
    expect(untilNext(23, 59, noon)()).to.equal(11 * 3600 + 59 * 60);
    expect(untilNext(0, 0, noon)()).to.equal(12 * 3600);
    expect(untilNext(12, 1, noon)()).to.equal(60);
  });

  it('refuses hours and minutes out of range, or not whole', () => {
    for (const hour of [-1, 24, 1.5, NaN]) {
      const error = configError(() => untilNext(hour));
      expect(error.setting).to.equal('untilNext(hour)');
      expect(error.message).to.include('expected 0..23');
    }
    for (const minute of [-1, 60, 0.5]) {
      const error = configError(() => untilNext(3, minute));
      expect(error.setting).to.equal('untilNext(minute)');
      expect(error.message).to.include('expected 0..59');
    }
  });

  it('reads the real clock by default', () => {
    const s = untilNext(new Date().getHours(), 0)();
    expect(s).to.be.greaterThan(0);
    expect(s).to.be.at.most(86_400 + 3_600);
  });
});
