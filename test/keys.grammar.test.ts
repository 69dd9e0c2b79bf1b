/**
 * The key encoding, spelled out: exact encodings of every value kind (the grammar in src/keys.ts), the readable-id
 * rules character by character, empty keys and the error messages. Unit tests, no Redis; they also pin what the
 * mutation run (`npm run test:mutation`) would otherwise let change unnoticed.
 */
import { expect } from 'chai';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import vm from 'node:vm';
import { ConfigError, UnkeyableError } from '../src/errors.js';
import { buildKey, canonicalEncode, hashArgs, isEmptyKey, validateSegment, type KeySpec } from '../src/keys.js';

const spec: KeySpec = { namespace: 'ns', kind: 'k', version: 'v1', hashKeys: false };

/** The UnkeyableError that `attempt` throws. */
function unkeyable(attempt: () => unknown): UnkeyableError {
  try {
    attempt();
  } catch (error) {
    expect(error).to.be.instanceOf(UnkeyableError);
    return error as UnkeyableError;
  }
  expect.fail('expected an UnkeyableError');
}

class Point {
  x = 1;
}
class Keyed {
  toJSON(key: string) {
    return `key=${key}.`;
  }
}
class Money {
  constructor(public cents: number) {}
  toJSON() {
    return { eur: this.cents / 100 };
  }
}

describe('canonicalEncode: the grammar', () => {
  const shared = new SharedArrayBuffer(2);
  new Uint8Array(shared).set([1, 2]);
  const encodings: Array<[string, unknown, string]> = [
    ['undefined', undefined, 'u'],
    ['null', null, 'n'],
    ['true', true, 'T'],
    ['false', false, 'F'],
    ['0', 0, 'd0;'],
    ['-0', -0, 'd-0;'],
    ['1.5', 1.5, 'd1.5;'],
    ['NaN', NaN, 'dNaN;'],
    ['-Infinity', -Infinity, 'd-Infinity;'],
    ['a bigint', 10n, 'b10;'],
    ['a string', 'ab', 's2:ab'],
    ['a string with a lone surrogate (UTF-16 units in hex, 4 digits each)', '\uD800x', 'w2:d8000078'],
    ['an array with a hole and an undefined', [1, , undefined], '[d1;hu]'], // eslint-disable-line no-sparse-arrays
    ['an object (keys sorted)', { b: 1, a: 2 }, '{s1:ad2;s1:bd1;}'],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1 }), '{s1:ad1;}'],
    ['a Date', new Date(5), 'D5;'],
    ['an invalid Date', new Date(NaN), 'DNaN;'],
    [
      'a Map (entries sorted)',
      new Map<unknown, unknown>([
        [2, 'x'],
        [1, 'y'],
      ]),
      'Md1;s1:yd2;s1:x)',
    ],
    ['a Set (members sorted)', new Set([2, 1]), 'Sd1;d2;)'],
    ['a Buffer', Buffer.from([1, 2]), 'V6:Buffer4:0102'],
    ['a DataView', new DataView(new Uint8Array([1, 2]).buffer), 'V8:DataView4:0102'],
    ['a typed array over part of its buffer', new Uint8Array([1, 2, 3]).subarray(1, 2), 'V10:Uint8Array2:02'],
    ['a Float64Array', new Float64Array([0]), 'V12:Float64Array16:0000000000000000'],
    ['an ArrayBuffer', new Uint8Array([1, 2]).buffer, 'B4:0102'],
    ['a SharedArrayBuffer', shared, 'H4:0102'],
    ['a RegExp', /a.b/gi, 'Rs3:a.b2:gi'],
    ['a boxed number', new Number(1), 'Od1;'],
    ['a boxed bigint', Object(1n), 'Ob1;'],
    ['a boxed string', new String('x'), 'Os1:x'],
    ['a boxed boolean', new Boolean(false), 'OF'],
    [
      'an Error with a property',
      Object.assign(new TypeError('m'), { code: 'x' }),
      'Es9:TypeErrors9:TypeErrors1:m{s4:codes1:x}',
    ],
    ['a class instance', new Point(), 'Cs5:Point{s1:xd1;}'],
    ['a class instance with toJSON', new Money(150), 'Cs5:MoneyJ{s3:eurd1.5;}{s5:centsd150;}'],
    ['URLSearchParams', new URLSearchParams('a=1'), 'Cs15:URLSearchParamsJs3:a=1{}'],
    ['a plain object from another realm', vm.runInNewContext('({ a: 1 })'), '{s1:ad1;}'],
    ['a Date from another realm', vm.runInNewContext('new Date(7)'), 'D7;'],
    ['an Error from another realm', vm.runInNewContext('new RangeError("x")'), 'Es10:RangeErrors10:RangeErrors1:x{}'],
    ['an object whose prototype is a plain object', Object.create({ inherited: 1 }), 'Cs6:Object{}'],
    ['a class instance whose toJSON reads its key', new Keyed(), 'Cs5:KeyedJs5:key=.{}'],
    ['a Map subclass, as a Map', new (class Registry extends Map<string, number> {})([['a', 1]]), 'Ms1:ad1;)'],
  ];
  for (const [name, value, encoding] of encodings) {
    it(`encodes ${name} as ${encoding}`, () => {
      expect(canonicalEncode(value)).to.equal(encoding);
    });
  }

  it('names the constructor of a class instance, or nothing when it has none readable', () => {
    const orphan = Object.create(Object.create(null) as object) as object; // a prototype without a constructor
    expect(canonicalEncode(orphan)).to.equal('Cs0:{}');
    function Named(this: { a: number }) {
      this.a = 1;
    }
    Object.defineProperty(Named, 'name', { value: 5 }); // a name that is not a string
    expect(canonicalEncode(new (Named as unknown as new () => object)())).to.equal('Cs0:{s1:ad1;}');
  });

  it('names a typed array whose toStringTag is not a string ArrayBufferView', () => {
    class Odd extends Uint8Array {
      override get [Symbol.toStringTag](): 'Uint8Array' {
        return 1 as unknown as 'Uint8Array';
      }
    }
    expect(canonicalEncode(new Odd([1]))).to.equal('V15:ArrayBufferView2:01');
  });
});

describe('canonicalEncode: what it refuses, and how it says so', () => {
  const stateful: Array<[string, unknown, string]> = [
    ['a Promise', Promise.resolve(1), 'a Promise'],
    ['a WeakMap', new WeakMap(), 'a WeakMap'],
    ['a WeakSet', new WeakSet(), 'a WeakSet'],
    ['a WeakRef', new WeakRef({}), 'a WeakRef'],
    ['a FinalizationRegistry', new FinalizationRegistry(() => {}), 'a FinalizationRegistry'],
    ['a generator', (function* gen() {})(), 'a stateful object'],
    ['a Map iterator', new Map().keys(), 'a Object'],
    ['a Set iterator', new Set().values(), 'a Object'],
    [
      'a KeyObject',
      createPrivateKey(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' })),
      'a PrivateKeyObject',
    ],
  ];
  for (const [name, value, what] of stateful) {
    it(`refuses ${name}, asking for an explicit key`, () => {
      const error = unkeyable(() => canonicalEncode([value]));
      expect(error.message).to.match(/^infercache: cannot build a key from arguments containing /);
      expect(error.message).to.include(what);
      expect(error.message).to.match(/; give the call an explicit `key` option$/);
      expect(error.cause).to.equal(undefined);
    });
  }

  it('names a function by its name, and an anonymous one without', () => {
    expect(unkeyable(() => canonicalEncode(function predict() {})).message).to.include(
      'containing a function (predict);',
    );
    expect(
      unkeyable(() =>
        canonicalEncode([
          (
            () => () =>
              1
          )(),
        ]),
      ).message,
    ).to.include('containing a function;');
    expect(unkeyable(() => canonicalEncode(Symbol('s'))).message).to.include('containing a symbol;');
  });

  it('wraps any other failure, keeping its message and cause', () => {
    const boom = new Error('boom');
    const error = unkeyable(() =>
      canonicalEncode({
        get x(): number {
          throw boom;
        },
      }),
    );
    expect(error.message).to.equal('infercache: cannot build a key from the arguments: Error: boom');
    expect(error.cause).to.equal(boom);
  });

  it('throws its own UnkeyableError as it is, not wrapped', () => {
    const error = unkeyable(() => canonicalEncode({ cb: () => 1 }));
    expect(error.message).to.match(/^infercache: cannot build a key from arguments containing a function/);
    expect(error.cause).to.equal(undefined);
  });
});

describe('buildKey: readable ids', () => {
  const hashedKey = (id: unknown) => `ns:k:v1:${hashArgs(id)}`;
  const readable = ['x', 'CHG_001', 'zażółć', 'ü', '~!', 'é'.repeat(200), 'A'.repeat(43) + 'é'];
  const unreadable = [
    'x'.repeat(201),
    'é'.repeat(201),
    ' ',
    'a\u0020b',
    'a\u001fb',
    'a\u007fb',
    'a\u0080b', // a C1 control character, past the ASCII fast path
    'é\u0085', // NEXT LINE
    'é\u00a0', // no-break space
    'é\u2028', // line separator
    'é\u2029', // paragraph separator
    'é\u200b', // zero-width space (a format character)
    'é\uFEFF', // byte order mark
    'é\uD800', // lone surrogate
    'é\u3000', // ideographic space
  ];
  for (const id of readable) {
    it(`keeps ${JSON.stringify(id.length > 20 ? id.slice(0, 20) + '…' : id)} readable`, () => {
      expect(buildKey(spec, id)).to.equal(`ns:k:v1:${id}`);
    });
  }
  for (const id of unreadable) {
    it(`hashes ${JSON.stringify(id.length > 20 ? id.slice(0, 20) + '…' : id)}`, () => {
      expect(buildKey(spec, id)).to.equal(hashedKey(id));
    });
  }

  it('gives the same key object for an id seen before, and a new key when the spec changes in any segment', () => {
    const own: KeySpec = { namespace: 'a', kind: 'b', version: 'c', hashKeys: false };
    expect(buildKey(own, 'id')).to.equal('a:b:c:id');
    expect(buildKey(own, 3)).to.equal('a:b:c:3');
    own.namespace = 'n2';
    expect(buildKey(own, 'id')).to.equal('n2:b:c:id');
    own.kind = 'k2';
    expect(buildKey(own, 'id')).to.equal('n2:k2:c:id');
    expect(buildKey(own, 3)).to.equal('n2:k2:c:3');
    own.version = 'v2';
    expect(buildKey(own, 3)).to.equal('n2:k2:v2:3');
    own.hashKeys = true;
    expect(buildKey(own, 3)).to.equal(`n2:k2:v2:${hashArgs(3)}`);
    expect(buildKey(own, 'id')).to.equal(`n2:k2:v2:${hashArgs('id')}`);
  });

  it('keys numbers by their decimal form, -0 as 0, and hashes infinities', () => {
    expect(buildKey(spec, 1.5)).to.equal('ns:k:v1:1.5');
    expect(buildKey(spec, -0)).to.equal('ns:k:v1:0');
    expect(buildKey(spec, -Infinity)).to.equal(hashedKey(-Infinity));
  });
});

describe('isEmptyKey', () => {
  const empty: unknown[] = [
    undefined,
    null,
    '',
    NaN,
    [],
    {},
    [[], {}],
    [, ''], // eslint-disable-line no-sparse-arrays
    { a: { b: [NaN] } },
    Object.create(null),
  ];
  const notEmpty: unknown[] = [
    'x',
    0,
    -1,
    Infinity,
    false,
    true,
    0n,
    Symbol('s'),
    () => 1,
    [0],
    [false],
    ['', 'x'],
    [NaN, 1],
    { a: undefined, b: 'x' },
    [new Date(0)],
    [new Map()],
    new Map(),
    new Point(),
    [Object.create({ inherited: 1 }) as object], // not a plain object: a value
  ];
  for (const value of empty) {
    it(`counts ${String(canonicalEncodeOrName(value))} as empty`, () => {
      expect(isEmptyKey(value)).to.equal(true);
    });
  }
  for (const value of notEmpty) {
    it(`counts ${String(canonicalEncodeOrName(value))} as not empty`, () => {
      expect(isEmptyKey(value)).to.equal(false);
    });
  }

  it('counts a circular or unreadable composite as not empty (encoding reports it)', () => {
    const circular: unknown[] = [];
    circular.push(circular);
    expect(isEmptyKey(circular)).to.equal(false);
    const nested: Record<string, unknown> = {};
    nested.self = { back: nested };
    expect(isEmptyKey(nested)).to.equal(false);
    const shared = { a: undefined };
    expect(isEmptyKey([shared, shared]), 'a shared, not circular, empty object').to.equal(true);
    const throwing = {
      get a(): never {
        throw new Error('boom');
      },
    };
    expect(isEmptyKey(throwing)).to.equal(false);
  });

  it('names what was empty in the error', () => {
    const message = (parts: unknown) => unkeyable(() => buildKey(spec, parts)).message;
    expect(message(undefined)).to.equal(
      'infercache: the key is empty (undefined), so every such call would share one entry',
    );
    expect(message(null)).to.include('(null)');
    expect(message(NaN)).to.include('(NaN)');
    expect(message('')).to.include("('')");
    expect(message([undefined])).to.include('(an array without a non-empty value)');
    expect(message({ a: '' })).to.include('(an object without a non-empty value)');
  });
});

describe('validateSegment', () => {
  it('names the setting and what it got', () => {
    const error = (value: unknown) => {
      try {
        validateSegment(value, 'ttl.kind');
      } catch (e) {
        expect(e).to.be.instanceOf(ConfigError);
        return (e as ConfigError).message;
      }
      expect.fail('expected a ConfigError');
    };
    expect(error('a b')).to.include('expected 1 to 64 characters of A-Z a-z 0-9 _ . -, got "a b"');
    expect(error(7)).to.include('got number');
    expect(error('')).to.include('got ""');
    expect(error('ok\n')).to.include('got "ok\\n"');
    expect(error('\nok')).to.include('got "\\nok"');
  });
});

/** A short name of a value for a test title. */
function canonicalEncodeOrName(value: unknown): string {
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
  try {
    return canonicalEncode(value);
  } catch {
    return typeof value;
  }
}
