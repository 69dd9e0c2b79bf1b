import { expect } from 'chai';
import { parseDuration } from '../src/duration.js';
import { ConfigError } from '../src/errors.js';

describe('parseDuration', () => {
  const accepted: Array<[unknown, number]> = [
    [0, 0],
    [30, 30_000],
    [0.5, 500],
    [1.5, 1_500],
    ['0', 0],
    ['45', 45_000],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['6h', 21_600_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['0.25m', 15_000],
    [' 5m ', 300_000],
    ['0ms', 0],
  ];
  for (const [input, ms] of accepted) {
    it(`reads ${JSON.stringify(input)} as ${ms} ms`, () => {
      expect(parseDuration(input, 'ttl.x')).to.equal(ms);
    });
  }

  it('treats a plain number as seconds', () => {
    expect(parseDuration(60, 'ttl.x')).to.equal(parseDuration('1m', 'ttl.x'));
  });

  it('rounds fractions of a millisecond but never turns a positive duration into 0 (do not cache)', () => {
    expect(parseDuration('1.4ms', 'x')).to.equal(1);
    expect(parseDuration('1.6ms', 'x')).to.equal(2);
    expect(parseDuration(0.0001, 'x')).to.equal(1);
    expect(parseDuration(0.007, 'x')).to.equal(7);
  });

  it('returns 0, not -0, for -0', () => {
    expect(Object.is(parseDuration(-0, 'x'), 0)).to.equal(true);
  });

  const rejected: unknown[] = [
    -1,
    '-5m',
    NaN,
    Infinity,
    -Infinity,
    '',
    '   ',
    '5x',
    '1.5.5m',
    '5 m',
    '5M',
    '1e3',
    '+5s',
    '1.',
    'm',
    'Infinity',
    null,
    undefined,
    true,
    10n,
    {},
    ['5m'],
    () => 5,
    1e300,
  ];
  for (const input of rejected) {
    const label =
      typeof input === 'string' ? JSON.stringify(input) : typeof input === 'function' ? 'a function' : String(input);
    it(`rejects ${label} with a ConfigError naming the setting`, () => {
      let caught: unknown;
      try {
        parseDuration(input, 'ttl.prediction');
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(ConfigError);
      expect(caught).to.be.instanceOf(TypeError);
      expect((caught as ConfigError).setting).to.equal('ttl.prediction');
      expect((caught as ConfigError).code).to.equal('E_CACHE_CONFIG');
      expect((caught as ConfigError).message).to.contain('ttl.prediction');
    });
  }
});
