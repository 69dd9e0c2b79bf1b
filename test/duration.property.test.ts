/**
 * Property tests of the duration parser: every string outside the grammar is rejected with a ConfigError that
 * names the setting and shows the input; every string inside it parses to whole, non-negative milliseconds.
 * `accepts` below is an independent, character-by-character statement of the grammar.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { parseDuration } from '../src/duration.js';
import { ConfigError } from '../src/errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** The grammar: ASCII digits, an optional '.' followed by digits, an optional lower-case unit; trimmed first. */
function accepts(input: string): boolean {
  const s = input.trim();
  let i = 0;
  while (isDigit(s[i])) i++;
  const whole = i;
  let fraction = 0;
  if (s[i] === '.') {
    i++;
    while (isDigit(s[i])) {
      i++;
      fraction++;
    }
    if (fraction === 0) return false;
  }
  if (whole === 0 && fraction === 0) return false;
  const unit = s.slice(i);
  if (unit !== '' && !(unit in UNITS)) return false;
  return Number(s.slice(0, i)) * UNITS[unit || 's']! <= Number.MAX_SAFE_INTEGER;
}

function rejection(input: unknown): ConfigError | undefined {
  try {
    parseDuration(input, 'ttl.kind');
    return undefined;
  } catch (error) {
    return error as ConfigError;
  }
}

function checkRejected(input: unknown): void {
  const error = rejection(input);
  expect(error, typeof input === 'string' ? JSON.stringify(input) : typeof input).to.be.instanceOf(ConfigError);
  expect(error!.setting).to.equal('ttl.kind');
  expect(error!.message).to.match(/^infercache: invalid ttl\.kind: expected .+, got .+/);
}

/** Strings near the grammar: valid pieces with one mutation (sign, exponent, case, space, extra dot, unicode digit). */
const nearMiss = fc
  .tuple(
    fc.stringMatching(/^\d{0,4}(\.\d{0,3})?$/),
    fc.constantFrom('', 'ms', 's', 'm', 'h', 'd', 'w', 'MS', 'S', 'M', 'sec', 'min', 'y', 'us', 'ns'),
    fc.constantFrom('', '-', '+', ' ', 'e3', 'E', '.', '..', '_', ',', '５', '٣', '\u00a0', '\u200b', 'x', '0x'),
    fc.nat(8),
  )
  .map(([num, unit, junk, at]) => {
    const s = num + unit;
    const pos = Math.min(at, s.length);
    return s.slice(0, pos) + junk + s.slice(pos);
  });

describe('parseDuration (properties)', () => {
  it('rejects every string outside the grammar with a ConfigError naming the setting, and parses every other', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), nearMiss), (input) => {
        if (!accepts(input)) return checkRejected(input);
        const ms = parseDuration(input, 'ttl.kind');
        expect(Number.isSafeInteger(ms) && ms >= 0, input).to.equal(true);
      }),
      { numRuns: 10_000 },
    );
  });

  it('parses every valid duration to the rounded number of milliseconds, never rounding a positive one to 0', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^(\d{1,6}(\.\d{1,3})?|\.\d{1,3})$/),
        fc.constantFrom(...Object.keys(UNITS), ''),
        fc.constantFrom('', ' ', '\t', '\n'),
        (num, unit, pad) => {
          const expected = Number(num) * UNITS[unit || 's']!;
          const ms = parseDuration(`${pad}${num}${unit}${pad}`, 'ttl.kind');
          expect(ms).to.equal(expected > 0 && expected < 0.5 ? 1 : Math.round(expected));
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('rejects every negative, non-finite or oversized number, and every value that is neither number nor string', () => {
    const badNumber = fc.oneof(
      fc.double({ max: -Number.MIN_VALUE }),
      fc.constantFrom(NaN, Infinity, -Infinity),
      fc.double({ min: Number.MAX_SAFE_INTEGER / 1000 + 1, noNaN: true }),
    );
    const other = fc.anything().filter((v) => typeof v !== 'number' && typeof v !== 'string');
    fc.assert(fc.property(fc.oneof(badNumber, other), checkRejected), { numRuns: 5_000 });
  });
});
