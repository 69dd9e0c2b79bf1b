import { expect } from 'chai';
import vm from 'node:vm';
import { buildKey, canonicalEncode, hashArgs, validateSegment, type KeySpec } from '../src/keys.js';
import { ConfigError, UnkeyableError } from '../src/errors.js';

const spec: KeySpec = { namespace: 'ns', kind: 'failure', version: 'v1', hashKeys: false };
const hashed: KeySpec = { ...spec, hashKeys: true };

function throwsUnkeyable(value: unknown): UnkeyableError {
  try {
    canonicalEncode(value);
  } catch (err) {
    expect(err).to.be.instanceOf(UnkeyableError);
    expect((err as UnkeyableError).code).to.equal('E_CACHE_UNKEYABLE');
    return err as UnkeyableError;
  }
  throw new Error('expected an UnkeyableError');
}

describe('canonicalEncode and hashArgs', () => {
  it('gives equal keys for equal objects whose keys were written in another order, at every depth', () => {
    const a = { region: 'eu', sqm: 84.5, nested: { x: 1, y: [{ p: 1, q: 2 }] }, when: new Date(0) };
    const b = { when: new Date(0), nested: { y: [{ q: 2, p: 1 }], x: 1 }, sqm: 84.5, region: 'eu' };
    expect(canonicalEncode(a)).to.equal(canonicalEncode(b));
    expect(hashArgs([a])).to.equal(hashArgs([b]));
  });

  it('ignores the insertion order of Map entries and Set members', () => {
    const m1 = new Map<unknown, unknown>([
      ['a', 1],
      [2, { z: 1, y: 2 }],
      [{ k: 1 }, 'obj'],
    ]);
    const m2 = new Map<unknown, unknown>([
      [{ k: 1 }, 'obj'],
      [2, { y: 2, z: 1 }],
      ['a', 1],
    ]);
    expect(hashArgs(m1)).to.equal(hashArgs(m2));
    expect(hashArgs(new Set([1, 'a', [2], 3n]))).to.equal(hashArgs(new Set([3n, [2], 'a', 1])));
  });

  it('is deterministic across calls and returns 43 base64url characters', () => {
    const value = [{ a: 1 }, 'x', new Map([[1, 2]])];
    const key = hashArgs(value);
    expect(key).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(hashArgs(value)).to.equal(key);
  });

  const tricky: Array<[string, unknown, unknown]> = [
    ['null vs undefined', null, undefined],
    ['undefined property vs missing property', { a: undefined }, {}],
    ['null property vs undefined property', { a: null }, { a: undefined }],
    ['the string "1" vs the number 1', '1', 1],
    ['"1" vs 1 inside an array', ['1'], [1]],
    ['an array vs an object with numeric keys', [1, 2], { 0: 1, 1: 2 }],
    ['a Date vs its ISO string', new Date(0), new Date(0).toISOString()],
    ['a Date vs its time in ms', new Date(0), 0],
    ['1n vs 1', 1n, 1],
    ['1n vs "1"', 1n, '1'],
    ['a Map vs the object of its entries', new Map([['a', 1]]), { a: 1 }],
    ['a Map vs the array of its entries', new Map([['a', 1]]), [['a', 1]]],
    ['a Set vs the array of its members', new Set([1, 2]), [1, 2]],
    ['a Map with key 1 vs key "1"', new Map([[1, 'x']]), new Map([['1', 'x']])],
    ['a Set with 1 vs "1"', new Set([1]), new Set(['1'])],
    ['Uint8Array vs Buffer with the same bytes', new Uint8Array([1, 2]), Buffer.from([1, 2])],
    ['Uint8Array vs Int8Array with the same bytes', new Uint8Array([1, 2]), new Int8Array([1, 2])],
    ['Buffer vs Int8Array with the same bytes', Buffer.from([1, 2]), new Int8Array([1, 2])],
    ['Uint16Array vs Uint8Array of the same bytes', new Uint16Array([0x0201]), new Uint8Array([1, 2])],
    ['ArrayBuffer vs Uint8Array of the same bytes', new Uint8Array([1, 2]).buffer, new Uint8Array([1, 2])],
    ['DataView vs Uint8Array of the same bytes', new DataView(new Uint8Array([1, 2]).buffer), new Uint8Array([1, 2])],
    ['a Buffer vs the array of its bytes', Buffer.from([1, 2]), [1, 2]],
    ['Float64Array [0] vs [-0]', new Float64Array([0]), new Float64Array([-0])],
    ['-0 vs 0', -0, 0],
    ['-0 vs 0 as a property', { x: -0 }, { x: 0 }],
    ['NaN vs null', NaN, null],
    ['NaN vs "NaN"', NaN, 'NaN'],
    ['Infinity vs -Infinity', Infinity, -Infinity],
    ['true vs "true"', true, 'true'],
    ['true vs 1', true, 1],
    ['empty string vs undefined', '', undefined],
    ['empty array vs empty object', [], {}],
    ['a hole vs undefined in an array', [, 1], [undefined, 1]], // eslint-disable-line no-sparse-arrays
    ['[[1],2] vs [[1,2]]', [[1], 2], [[1, 2]]],
    ['["ab"] vs ["a","b"]', ['ab'], ['a', 'b']],
    ['{a:"b:c"} vs {"a:b":"c"}', { a: 'b:c' }, { 'a:b': 'c' }],
    ['a string holding an encoding vs the value it encodes', 's1:a', 'a'],
    ['a lone surrogate vs U+FFFD (equal once UTF-8 encoded)', '\uD800', '\uFFFD'],
    ['two different lone surrogates', '\uD800', '\uDBFF'],
    ['a valid Date vs an invalid Date', new Date(0), new Date(NaN)],
    ['regexps with other flags', /a/g, /a/i],
    ['new Number(1) vs 1', new Number(1), 1],
    ['new Number(1) vs new Number(2)', new Number(1), new Number(2)],
    ['errors with other messages', new Error('a'), new Error('b')],
    ['a Set of two equal-looking objects vs a Set of one', new Set([{ a: 1 }, { a: 1 }]), new Set([{ a: 1 }])],
    ['URLs with other addresses', new URL('https://a.example/x'), new URL('https://a.example/y')],
    ['URLSearchParams with other values', new URLSearchParams('a=1'), new URLSearchParams('a=2')],
  ];
  for (const [name, a, b] of tricky) {
    it(`distinguishes ${name}`, () => {
      expect(canonicalEncode(a)).not.to.equal(canonicalEncode(b));
      expect(hashArgs(a)).not.to.equal(hashArgs(b));
      expect(hashArgs([a])).not.to.equal(hashArgs([b]));
      expect(hashArgs({ k: a })).not.to.equal(hashArgs({ k: b }));
    });
  }

  it('treats null-prototype and other-realm plain objects like plain objects', () => {
    const bare = Object.assign(Object.create(null) as object, { b: 2, a: 1 });
    const foreign: unknown = vm.runInNewContext('({ a: 1, b: 2 })');
    expect(canonicalEncode(bare)).to.equal(canonicalEncode({ a: 1, b: 2 }));
    expect(canonicalEncode(foreign)).to.equal(canonicalEncode({ a: 1, b: 2 }));
    expect(canonicalEncode(vm.runInNewContext('new Date(5)'))).to.equal(canonicalEncode(new Date(5)));
  });

  describe('class instances', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
    }
    class Vector {
      constructor(
        public x: number,
        public y: number,
      ) {}
    }

    it('are encoded by their own enumerable data plus the constructor name', () => {
      expect(hashArgs(new Point(1, 2))).to.equal(hashArgs(new Point(1, 2)));
      expect(hashArgs(new Point(1, 2))).not.to.equal(hashArgs(new Point(2, 1)));
      expect(hashArgs(new Point(1, 2))).not.to.equal(hashArgs(new Vector(1, 2)));
      expect(hashArgs(new Point(1, 2))).not.to.equal(hashArgs({ x: 1, y: 2 }));
    });

    it('include toJSON() when the class has one, so state kept out of own properties still counts', () => {
      class Id {
        readonly #hex: string;
        constructor(hex: string) {
          this.#hex = hex;
        }
        toJSON(): string {
          return this.#hex;
        }
      }
      expect(hashArgs(new Id('aa'))).to.equal(hashArgs(new Id('aa')));
      expect(hashArgs(new Id('aa'))).not.to.equal(hashArgs(new Id('bb')));
    });
  });

  describe('unkeyable arguments', () => {
    it('throws UnkeyableError for a function, at any depth', () => {
      throwsUnkeyable(() => 1);
      const err = throwsUnkeyable([{ cb: function onDone() {} }]);
      expect(err.message).to.contain('onDone');
    });

    it('throws UnkeyableError for a symbol, as a value or in a Map', () => {
      throwsUnkeyable(Symbol('s'));
      throwsUnkeyable({ a: Symbol.iterator });
      throwsUnkeyable(new Map([[Symbol('k'), 1]]));
    });

    it('throws UnkeyableError for circular references through objects, arrays, Maps and Sets', () => {
      const obj: Record<string, unknown> = { a: 1 };
      obj.self = obj;
      throwsUnkeyable(obj);
      const arr: unknown[] = [1];
      arr.push([arr]);
      throwsUnkeyable(arr);
      const map = new Map<string, unknown>();
      map.set('m', { back: map });
      throwsUnkeyable(map);
      const set = new Set<unknown>();
      set.add([set]);
      throwsUnkeyable(set);
      expect(throwsUnkeyable(obj).message).to.contain('circular');
    });

    it('throws UnkeyableError for WeakMap, WeakSet, WeakRef, Promise and iterators', () => {
      throwsUnkeyable(new WeakMap());
      throwsUnkeyable(new WeakSet());
      throwsUnkeyable(new WeakRef({}));
      throwsUnkeyable(Promise.resolve(1));
      throwsUnkeyable(new Map().entries());
    });

    it('wraps a throwing getter in an UnkeyableError with the cause', () => {
      const boom = new Error('boom');
      const err = throwsUnkeyable({
        get x() {
          throw boom;
        },
      });
      expect(err.cause).to.equal(boom);
    });

    it('turns nesting too deep for the stack into an UnkeyableError', () => {
      let deep: unknown = 1;
      for (let i = 0; i < 200_000; i++) deep = [deep];
      throwsUnkeyable(deep);
    });
  });

  it('accepts the same object several times when it is shared, not circular', () => {
    const shared = { a: 1 };
    const value = { x: shared, y: shared, z: [shared, [shared]], m: new Map([[shared, shared]]) };
    const copy = { x: { a: 1 }, y: { a: 1 }, z: [{ a: 1 }, [{ a: 1 }]], m: new Map([[{ a: 1 }, { a: 1 }]]) };
    expect(canonicalEncode(value)).to.equal(canonicalEncode(copy));
  });
});

describe('buildKey', () => {
  it('keeps an explicit string id readable', () => {
    expect(buildKey({ namespace: 'prediction', kind: 'failure', version: 'v1', hashKeys: false }, 'CHG_001')).to.equal(
      'prediction:failure:v1:CHG_001',
    );
    expect(buildKey(spec, 'user:42/café')).to.equal('ns:failure:v1:user:42/café');
  });

  it('keeps an explicit finite number id readable', () => {
    expect(buildKey(spec, 42)).to.equal('ns:failure:v1:42');
    expect(buildKey(spec, 1.5)).to.equal('ns:failure:v1:1.5');
  });

  it('hashes explicit ids with hashKeys, so no part of the id appears in the key', () => {
    const id = 'jan.kowalski@example.com';
    const key = buildKey(hashed, id);
    expect(key).to.match(/^ns:failure:v1:[A-Za-z0-9_-]{43}$/);
    const discriminator = key.slice('ns:failure:v1:'.length);
    for (let i = 0; i + 4 <= id.length; i++) expect(discriminator).not.to.contain(id.slice(i, i + 4));
    expect(buildKey(hashed, 'CHG_001')).not.to.contain('CHG');
  });

  it('keeps the string "1" and the number 1 apart with hashKeys, and names one entry without', () => {
    expect(buildKey(hashed, '1')).not.to.equal(buildKey(hashed, 1));
    expect(buildKey(spec, '1')).to.equal(buildKey(spec, 1));
  });

  const unreadable: Array<[string, unknown]> = [
    ['a string over 200 characters', 'x'.repeat(201)],
    ['a string with a space', 'a b'],
    ['a string with a newline', 'a\nb'],
    ['a string with a control character', 'a\u0001b'],
    ['a string with DEL', 'a\u007fb'],
    ['a string with a non-breaking space', 'a\u00a0b'],
    ['a string with a zero-width space', 'a\u200bb'],
    ['a string with a lone surrogate', 'a\uD800'],
    ['Infinity', Infinity],
  ];
  for (const [name, id] of unreadable) {
    it(`hashes ${name} instead of using it as the id`, () => {
      expect(buildKey(spec, id)).to.equal(`ns:failure:v1:${hashArgs(id)}`);
    });
  }

  for (const [name, empty] of [
    ['undefined', undefined],
    ['null', null],
    ['an empty string', ''],
    ['NaN', NaN],
  ] as Array<[string, unknown]>) {
    it(`refuses ${name} as a key, with or without hashKeys, instead of putting every such call in one entry`, () => {
      for (const s of [spec, hashed]) {
        expect(() => buildKey(s, empty))
          .to.throw(UnkeyableError, /the key is empty/)
          .with.property('code', 'E_CACHE_UNKEYABLE');
      }
    });
  }

  for (const [name, empty] of [
    ['an array of empty values', [undefined, null, '', NaN]],
    ['an object of empty values', { tenant: undefined, sha: null }],
    ['nested arrays and objects of empty values', { a: [undefined, { b: '' }], c: [[]], d: {} }],
    ['an array with holes only', new Array(3)],
    ['an empty array', []],
    ['an empty object', {}],
    ['an empty object with a null prototype', Object.create(null) as object],
  ] as Array<[string, unknown]>) {
    it(`refuses ${name} as a key, with or without hashKeys: every call missing those fields would share one entry`, () => {
      for (const s of [spec, hashed]) {
        expect(() => buildKey(s, empty))
          .to.throw(UnkeyableError, /the key is empty/)
          .with.property('code', 'E_CACHE_UNKEYABLE');
      }
    });
  }

  it('keys a composite key with at least one non-empty leaf as it is, empty fields included', () => {
    expect(buildKey(spec, [undefined, 'x'])).to.equal(`ns:failure:v1:${hashArgs([undefined, 'x'])}`);
    expect(buildKey(spec, { id: '', n: 0 })).to.equal(`ns:failure:v1:${hashArgs({ id: '', n: 0 })}`);
    expect(buildKey(spec, { a: { b: [null, false] } })).to.not.equal(buildKey(spec, { a: { b: [null, true] } }));
    // leaves that are not arrays or plain objects are values, even when they hold nothing
    for (const value of [[new Map()], [new Date(0)], [Buffer.alloc(0)], { x: false }, [0]]) {
      expect(buildKey(spec, value)).to.equal(`ns:failure:v1:${hashArgs(value)}`);
    }
  });

  it('reports a circular or unreadable composite key as unkeyable, not as empty', () => {
    const circular: unknown[] = [undefined];
    circular.push(circular);
    expect(() => buildKey(spec, circular)).to.throw(UnkeyableError, /circular/);
    const throwing = {
      get id(): string {
        throw new Error('boom');
      },
    };
    expect(() => buildKey(spec, throwing)).to.throw(UnkeyableError, /boom/);
  });

  it('keeps a 200-character id readable', () => {
    expect(buildKey(spec, 'x'.repeat(200))).to.equal(`ns:failure:v1:${'x'.repeat(200)}`);
  });

  it('never lets an id land on the hashed key of other arguments', () => {
    const victim = buildKey(spec, [{ user: 'a' }]);
    const forged = victim.slice('ns:failure:v1:'.length);
    expect(buildKey(spec, forged)).not.to.equal(victim);
  });

  it('hashes an id that looks like a hash (43 base64url characters), and only such an id', () => {
    for (const id of ['A'.repeat(43), 'aZ09_-'.repeat(7) + 'x', hashArgs('other arguments')]) {
      expect(buildKey(spec, id), id).to.equal(`ns:failure:v1:${hashArgs(id)}`);
    }
    for (const id of ['A'.repeat(42), 'A'.repeat(44), 'A'.repeat(42) + '.', 'A'.repeat(42) + '+']) {
      expect(buildKey(spec, id), id).to.equal(`ns:failure:v1:${id}`);
    }
  });

  it('hashes anything that is not a string or number', () => {
    expect(buildKey(spec, ['CHG_001'])).to.equal(`ns:failure:v1:${hashArgs(['CHG_001'])}`);
    expect(buildKey(spec, { id: 1 })).to.equal(`ns:failure:v1:${hashArgs({ id: 1 })}`);
  });

  it('gives the same key for a repeated id, past the ids it remembers, and follows a spec that changes', () => {
    const own: KeySpec = { namespace: 'ns', kind: 'memo', version: 'v1', hashKeys: false };
    for (let i = 0; i < 2500; i++) expect(buildKey(own, `id-${i % 1200}`)).to.equal(`ns:memo:v1:id-${i % 1200}`);
    expect(buildKey(own, 7)).to.equal('ns:memo:v1:7');
    expect(buildKey(own, '7')).to.equal('ns:memo:v1:7');
    own.version = 'v2';
    expect(buildKey(own, 'id-1')).to.equal('ns:memo:v2:id-1');
    expect(buildKey(own, 7)).to.equal('ns:memo:v2:7');
  });
});

describe('validateSegment', () => {
  for (const ok of ['estymator', 'v2.1', 'price-model', 'a_b', 'x'.repeat(64)]) {
    it(`accepts ${JSON.stringify(ok)}`, () => {
      expect(validateSegment(ok, 'namespace')).to.equal(ok);
    });
  }
  for (const bad of ['', 'a:b', 'a b', 'x'.repeat(65), 'zażółć', 'a*', 1, null, undefined]) {
    it(`rejects ${JSON.stringify(bad) ?? String(bad)} with a ConfigError naming the setting`, () => {
      expect(() => validateSegment(bad, 'version'))
        .to.throw(ConfigError)
        .with.property('setting', 'version');
    });
  }
});
