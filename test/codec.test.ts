import { expect } from 'chai';
import { Packr } from 'msgpackr';
import { randomBytes } from 'node:crypto';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { createCodec, parseEncryptionKey, type Codec } from '../src/codec.js';
import { CodecError, ConfigError, UnserializableError } from '../src/errors.js';

const KEY = Buffer.alloc(32, 7);
const plain = createCodec({ compressThreshold: Infinity });
/** MessagePack as infercache wrote it before records (0.x): maps only, its options otherwise. */
const maps = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  moreTypes: true,
  structuredClone: false,
  copyBuffers: true,
  useToJSON: false,
  int64AsType: 'bigint',
});

function roundTrip(value: unknown, codec: Codec = plain, aad?: string): unknown {
  return codec.decode(codec.encode(value, aad), aad);
}

function refusal(value: unknown): UnserializableError {
  try {
    plain.encode(value);
  } catch (error) {
    expect(error).to.be.instanceOf(UnserializableError);
    return error as UnserializableError;
  }
  throw new Error('expected encode to refuse the value');
}

function decodeError(codec: Codec, bytes: Uint8Array, aad?: string): CodecError {
  try {
    codec.decode(bytes, aad);
  } catch (error) {
    expect(error).to.be.instanceOf(CodecError);
    return error as CodecError;
  }
  throw new Error('expected decode to fail');
}

/** Raw deflate of `mebibytes` MiB of zeros, built from repeated 1 MiB blocks so the test stays cheap. */
function zeroBomb(mebibytes: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return Buffer.concat([...Array<Buffer>(mebibytes).fill(block), Buffer.from([0x03, 0x00])]);
}

describe('codec', () => {
  describe('round trips', () => {
    it('round-trips primitives exactly', () => {
      for (const value of [true, false, 0, 42, -7, 2 ** 53, -(2 ** 31) - 1, 1.5, 1e-300, 'text', '', 'café 🚀']) {
        expect(roundTrip(value)).to.equal(value);
      }
    });

    it('round-trips null and undefined at the top level', () => {
      expect(roundTrip(null)).to.equal(null);
      expect(roundTrip(undefined)).to.equal(undefined);
    });

    it('keeps keys whose value is undefined, and undefined array items', () => {
      const out = roundTrip({ a: undefined, b: [undefined, 1], c: { d: undefined } }) as Record<string, unknown>;
      expect(out).to.have.all.keys('a', 'b', 'c');
      expect(out).to.deep.equal({ a: undefined, b: [undefined, 1], c: { d: undefined } });
    });

    it('round-trips NaN, -0 and the infinities, top level and nested', () => {
      expect(Number.isNaN(roundTrip(NaN))).to.equal(true);
      expect(Object.is(roundTrip(-0), -0)).to.equal(true);
      expect(Object.is(roundTrip(0), 0)).to.equal(true);
      expect(roundTrip([Infinity, -Infinity, -0, NaN])).to.deep.equal([Infinity, -Infinity, -0, NaN]);
      expect(roundTrip(new Map([[-0, -0]]))).to.deep.equal(new Map([[0, -0]]));
    });

    it('round-trips strings with lone surrogates, short and long, as values and keys', () => {
      const short = 'a\ud800b';
      const long = '\udc00'.repeat(3) + 'x'.repeat(200) + '\ud83d';
      const out = roundTrip({ short, long, [short]: 1, map: new Map([[long, short]]) }) as Record<string, unknown>;
      expect(out.short).to.equal(short);
      expect(out.long).to.equal(long);
      expect(out[short]).to.equal(1);
      expect(out.map).to.deep.equal(new Map([[long, short]]));
      expect(roundTrip(new RegExp('\ud800+', 'g'))).to.deep.equal(new RegExp('\ud800+', 'g'));
    });

    it('round-trips Dates to the millisecond, before 1970, far ahead, and invalid', () => {
      const dates = [new Date(0), new Date(1712345678901), new Date(-1500), new Date(-8.64e15), new Date(8.64e15)];
      for (const date of dates) expect((roundTrip(date) as Date).getTime()).to.equal(date.getTime());
      const invalid = roundTrip(new Date(NaN));
      expect(invalid).to.be.instanceOf(Date);
      expect(Number.isNaN((invalid as Date).getTime())).to.equal(true);
    });

    it('round-trips BigInts of any size and sign', () => {
      const values = [
        0n,
        -1n,
        2n ** 63n - 1n,
        -(2n ** 63n),
        2n ** 64n - 1n,
        2n ** 64n,
        -(2n ** 64n),
        -(2n ** 200n),
        10n ** 100n,
      ];
      for (const value of values) expect(roundTrip(value)).to.equal(value);
    });

    it('round-trips a Map with object keys, in insertion order', () => {
      const key = { id: 1 };
      const map = new Map<unknown, unknown>([
        [key, 'object'],
        [2, 'number'],
        [3n, 'bigint'],
        [null, 'null'],
        [undefined, 'undefined'],
        ['2', 'string'],
      ]);
      const out = roundTrip(map) as Map<unknown, unknown>;
      expect(out).to.be.instanceOf(Map);
      expect([...out.values()]).to.deep.equal([...map.values()]);
      expect([...out.keys()]).to.deep.equal([...map.keys()]);
    });

    it('round-trips a Set, in insertion order', () => {
      const out = roundTrip(new Set(['b', 1, 'a', null, 2n])) as Set<unknown>;
      expect(out).to.be.instanceOf(Set);
      expect([...out]).to.deep.equal(['b', 1, 'a', null, 2n]);
    });

    it('decodes a Buffer as a Buffer that does not share memory with the entry', () => {
      const entry = plain.encode({ data: Buffer.from('hello') });
      const out = plain.decode(entry) as { data: Buffer };
      expect(Buffer.isBuffer(out.data)).to.equal(true);
      expect(out.data.toString()).to.equal('hello');
      entry.fill(0);
      expect(out.data.toString()).to.equal('hello');
    });

    it('decodes a Uint8Array as a Uint8Array, not a Buffer', () => {
      const out = roundTrip(new Uint8Array([1, 2, 3]));
      expect(Object.getPrototypeOf(out)).to.equal(Uint8Array.prototype);
      expect([...(out as Uint8Array)]).to.deep.equal([1, 2, 3]);
    });

    it('round-trips every typed array kind, including views into a larger buffer', () => {
      const backing = new ArrayBuffer(64);
      new Uint8Array(backing).forEach((_, i, bytes) => (bytes[i] = i * 37));
      const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array];
      for (const Kind of [...kinds, Float32Array, Float64Array, BigInt64Array, BigUint64Array]) {
        const view = new Kind(backing, 8, 2);
        const out = roundTrip(view) as typeof view;
        expect(Object.getPrototypeOf(out), Kind.name).to.equal(Kind.prototype);
        expect(out, Kind.name).to.deep.equal(view);
      }
      expect(roundTrip(new Float64Array([-0, NaN, Infinity]))).to.deep.equal(new Float64Array([-0, NaN, Infinity]));
    });

    it('round-trips ArrayBuffer and DataView', () => {
      const buffer = Uint8Array.from([9, 8, 7]).buffer;
      const out = roundTrip(buffer);
      expect(out).to.be.instanceOf(ArrayBuffer);
      expect([...new Uint8Array(out as ArrayBuffer)]).to.deep.equal([9, 8, 7]);
      const view = roundTrip(new DataView(buffer, 1, 2)) as DataView;
      expect(view).to.be.instanceOf(DataView);
      expect([view.getUint8(0), view.getUint8(1)]).to.deep.equal([8, 7]);
    });

    it('round-trips a RegExp with its flags (lastIndex starts over)', () => {
      const regexp = /ab+c/gimsuy;
      regexp.lastIndex = 3;
      const out = roundTrip(regexp) as RegExp;
      expect(out).to.be.instanceOf(RegExp);
      expect([out.source, out.flags, out.lastIndex]).to.deep.equal([regexp.source, regexp.flags, 0]);
    });

    it('round-trips nested combinations', () => {
      const value = {
        model: 'gpt',
        at: new Date(1700000000123),
        tokens: [{ id: 1n, text: 'a', scores: new Float32Array([0.5, -0]) }],
        index: new Map<unknown, unknown>([[{ k: [1] }, new Set([new Map([[null, undefined]])])]]),
        raw: { bytes: Buffer.from([1]), view: new Uint8Array([2]) },
      };
      expect(roundTrip(value)).to.deep.equal(value);
    });

    it('keeps a __proto__ key as an own property without touching the prototype', () => {
      const value = JSON.parse('{"__proto__": {"polluted": true}, "constructor": "x", "__proto_": 1}') as object;
      const out = roundTrip(value) as Record<string, unknown>;
      expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
      expect(Object.keys(out)).to.deep.equal(['__proto__', 'constructor', '__proto_']);
      expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).to.deep.equal({ polluted: true });
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('decodes plain objects as plain objects, and keeps a null prototype', () => {
      const out = roundTrip({ a: { b: 1 } }) as Record<string, unknown>;
      expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
      expect(Object.getPrototypeOf(out.a)).to.equal(Object.prototype);
      const bare = roundTrip(Object.assign(Object.create(null) as object, { k: 1 }));
      expect(Object.getPrototypeOf(bare)).to.equal(null);
      expect({ ...(bare as object) }).to.deep.equal({ k: 1 });
    });

    it('keeps key order, including integer-like keys', () => {
      expect(Object.keys(roundTrip({ b: 1, 2: 2, a: 3, 1: 4 }) as object)).to.deep.equal(['1', '2', 'b', 'a']);
    });

    it('densifies sparse arrays (holes come back as undefined)', () => {
      // eslint-disable-next-line no-sparse-arrays
      const out = roundTrip([1, , 3]) as unknown[];
      expect(out).to.have.length(3);
      expect(1 in out).to.equal(true);
      expect(out[1]).to.equal(undefined);
    });

    it('round-trips an object with more than 65535 keys', () => {
      const wide = Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i]));
      expect(roundTrip(wide)).to.deep.equal(wide);
    });

    it('encodes shared references as separate equal copies', () => {
      const shared = { x: 1 };
      const out = roundTrip([shared, shared]) as object[];
      expect(out).to.deep.equal([{ x: 1 }, { x: 1 }]);
      expect(out[0]).not.to.equal(out[1]);
    });

    it('writes objects of one shape in an array as records: smaller than maps, decoded exactly', () => {
      const rows = Array.from({ length: 100 }, (_, i) => ({ id: i, name: `user${i}`, score: i / 7, ok: i % 2 === 0 }));
      const value = { total: 100, rows };
      const body = plain.pack(value);
      expect(body.length).to.be.below(0.7 * maps.pack(value).length);
      const out = plain.unpack(body) as typeof value;
      expect(out).to.deep.equal(value);
      expect(Object.getPrototypeOf(out.rows[99])).to.equal(Object.prototype);
      expect(Object.keys(out.rows[99]!)).to.deep.equal(['id', 'name', 'score', 'ok']);
      expect(maps.unpack(body), 'read by the maps-only codec of earlier versions').to.deep.equal(value);
    });

    it('writes objects of one shape keyed by id, or in a Map or a Set, as records too', () => {
      const row = (i: number) => ({ id: i, name: `user${i}`, score: i / 7, ok: i % 2 === 0 });
      const byId = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`u${i}`, row(i)]));
      expect(plain.pack(byId).length).to.be.below(0.7 * maps.pack(byId).length);
      expect(roundTrip(byId)).to.deep.equal(byId);
      const inMap = new Map(Array.from({ length: 50 }, (_, i) => [i, row(i)]));
      const inSet = new Set(Array.from({ length: 50 }, (_, i) => row(i)));
      const out = roundTrip({ inMap, inSet }) as { inMap: Map<number, object>; inSet: Set<object> };
      expect([...out.inMap]).to.deep.equal([...inMap]);
      expect([...out.inSet]).to.deep.equal([...inSet]);
      expect(plain.pack({ inMap, inSet }).length).to.be.below(
        0.7 * maps.pack({ inMap: [...inMap], inSet: [...inSet] }).length,
      );
    });

    it('writes objects whose shape repeats anywhere in the value as records: the parts of stream chunks', () => {
      const chunk = (i: number) => ({
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: ` word${i}` }, finish_reason: null }],
      });
      const stream = Array.from({ length: 50 }, (_, i) => chunk(i));
      // each choice and each delta is alone in its container, but its shape recurs in every chunk
      expect(plain.pack(stream).length).to.be.below(0.55 * maps.pack(stream).length);
      expect(roundTrip(stream)).to.deep.equal(stream);
    });

    it('writes lone objects, and objects of different shapes, as plain maps', () => {
      for (const value of [
        { label: 'ok', score: 0.5, nested: { a: 1 } },
        [{ a: 1 }, { b: 1 }, { a: 1, b: 2 }, { b: 1, a: 2 }],
      ]) {
        expect(plain.pack(value).equals(maps.pack(value))).to.equal(true);
      }
    });

    it('round-trips records whose keys are not identifiers, whose values need the codec, and records within records', () => {
      const keys = [
        'constructor',
        'hasOwnProperty',
        '0',
        '-1',
        'a-b',
        'x y',
        '"q"',
        '\\',
        'a\nb',
        'é',
        '$_',
        'a:r()}),process.exit(1),({b',
      ];
      const row = (i: number) => ({
        ...Object.fromEntries(keys.map((key, k) => [key, i * 100 + k])),
        minusZero: -0,
        nan: NaN,
        big: 10n ** 30n,
        when: new Date(i),
        map: new Map([[i, { deep: [{ x: i }, { x: i + 1 }] }]]),
        bytes: Buffer.from([i]),
        missing: undefined,
      });
      const value = [row(1), row(2), row(3)];
      const out = roundTrip(value) as ReturnType<typeof row>[];
      expect(out).to.deep.equal(value);
      expect(Object.is(out[2]!.minusZero, -0)).to.equal(true);
      expect(Object.keys(out[2]!)).to.deep.equal(Object.keys(value[2]!));
    });

    it('round-trips more record shapes in one entry than msgpackr has one-byte record ids for', () => {
      const tables = Array.from({ length: 300 }, (_, t) => [
        { [`k${t}`]: t, v: 1 },
        { [`k${t}`]: -t, v: 2 },
      ]);
      const value = { tables, again: tables.slice(0, 50), numbers: Array.from({ length: 200 }, (_, i) => i) };
      expect(roundTrip(value)).to.deep.equal(value);
    });

    it('keeps rows with an own hasOwnProperty key exact when Object.prototype has an enumerable property', () => {
      const rows = [
        { hasOwnProperty: 1, a: 1 },
        { hasOwnProperty: 2, a: 2 },
        { hasOwnProperty: 3, a: 3 },
      ];
      Object.defineProperty(Object.prototype, 'polluted', { value: 'x', enumerable: true, configurable: true });
      let out: unknown;
      try {
        out = roundTrip(rows);
      } finally {
        delete (Object.prototype as { polluted?: string }).polluted;
      }
      expect((out as object[]).map((row) => Object.keys(row))).to.deep.equal(rows.map((row) => Object.keys(row)));
      expect(out).to.deep.equal(rows);
    });

    it('decodes an entry written as maps after one with records: its small integers are not read as records', () => {
      const small = Array.from({ length: 64 }, (_, i) => 64 + i); // 0x40-0x7f: one byte each in a map-only entry
      const old = maps.pack({ small, one: { n: 100 } });
      plain.unpack(plain.pack(Array.from({ length: 40 }, (_, i) => ({ [`k${i % 20}`]: i, v: i }))));
      expect(plain.unpack(old)).to.deep.equal({ small, one: { n: 100 } });
    });

    it('decodes records of entries under 4 KB without compiling code: nothing built from the keys they hold is run', () => {
      // msgpackr's main build compiles a reader (new Function, from the keys) for each entry with 4+ objects of a shape
      const rows = Array.from({ length: 10 }, (_, i) => ({ id: i, label: `r${i}`, 'a:r()}),({b': i }));
      const entries = [plain.encode(rows), plain.encode(rows.map(({ id }) => ({ id, other: [id] })))];
      const global = globalThis as { Function: FunctionConstructor };
      const original = global.Function;
      let compiled = 0;
      global.Function = new Proxy(original, {
        construct(target, args, newTarget) {
          compiled++;
          return Reflect.construct(target, args, newTarget) as object;
        },
      });
      let out: unknown[];
      try {
        out = entries.map((entry) => plain.decode(entry));
      } finally {
        global.Function = original;
      }
      expect(compiled).to.equal(0);
      expect(out[0]).to.deep.equal(rows);
      expect(out[1]).to.deep.equal(rows.map(({ id }) => ({ id, other: [id] })));
    });

    it('decodes entries of records alike on either side of 4 KB (read in a loop below, by compiled readers above)', () => {
      for (const count of [10, 40, 80, 120, 400]) {
        const rows = Array.from({ length: count }, (_, i) => ({ id: i, text: `row ${i}`, at: new Date(i), n: -0 }));
        const body = plain.pack({ rows, chunks: rows.map(({ id }) => ({ choices: [{ delta: { content: id } }] })) });
        const out = plain.unpack(body) as { rows: typeof rows };
        expect(out).to.deep.equal({ rows, chunks: rows.map(({ id }) => ({ choices: [{ delta: { content: id } }] })) });
        expect(Object.keys(out.rows[count - 1]!)).to.deep.equal(['id', 'text', 'at', 'n']);
        expect(Object.is(out.rows[count - 1]!.n, -0)).to.equal(true);
        if (count === 10) expect(body.length).to.be.below(4096);
        if (count === 400) expect(body.length).to.be.above(4096);
      }
    });

    it('decodes from a Uint8Array that is not a Buffer', () => {
      const entry = plain.encode({ a: Buffer.from('z') });
      const copy = new Uint8Array(entry.length + 4).subarray(2, entry.length + 2);
      copy.set(entry);
      const out = plain.decode(copy) as { a: Buffer };
      expect(Buffer.isBuffer(out.a)).to.equal(true);
      expect(out.a.toString()).to.equal('z');
    });
  });

  describe('refusals', () => {
    it('refuses a function and names it with its path', () => {
      const error = refusal({ hooks: [{ handler: function onDone() {} }] });
      expect(error.message).to.contain('function onDone').and.contain('$.hooks[0].handler');
      expect(error.code).to.equal('E_CACHE_UNSERIALIZABLE');
    });

    it('refuses a symbol', () => {
      expect(refusal({ s: Symbol('x') }).message).to.contain('symbol at $.s');
    });

    it('refuses a class instance and names the class', () => {
      class InferenceSession {
        run = 1;
      }
      const error = refusal({ model: new Map([['session', new InferenceSession()]]) });
      expect(error.message).to.contain('class instance InferenceSession').and.contain('$.model[map entry 0]');
    });

    it('refuses WeakMap, WeakSet, Promise, Error, boxed primitives and SharedArrayBuffer', () => {
      const values = [
        new WeakMap(),
        new WeakSet(),
        Promise.resolve(1),
        new Error('x'),
        Object(1),
        new SharedArrayBuffer(1),
      ];
      for (const value of values) {
        const name = (Object.getPrototypeOf(value) as { constructor: { name: string } }).constructor.name;
        expect(refusal(value).message).to.contain(`class instance ${name}`);
      }
    });

    it('refuses subclasses of the supported built-ins', () => {
      class Registry extends Map {}
      class Stamp extends Date {}
      class Bytes extends Uint8Array {}
      for (const value of [new Registry(), new Stamp(), new Bytes(1)]) {
        expect(refusal([value]).message).to.contain(`class instance ${value.constructor.name} at $[0]`);
      }
    });

    it('refuses circular references through objects, arrays, Maps and Sets', () => {
      const object: Record<string, unknown> = {};
      object.self = object;
      const array: unknown[] = [];
      array.push([array]);
      const map = new Map<string, unknown>();
      map.set('m', { map });
      const set = new Set<unknown>();
      set.add(set);
      for (const value of [object, array, map, set]) expect(refusal(value).message).to.contain('circular reference');
      expect(refusal(object).message).to.contain('at $.self');
    });

    it('refuses values nested deeper than 1000 levels', () => {
      let deep: unknown = 1;
      for (let i = 0; i < 1100; i++) deep = [deep];
      expect(refusal(deep).message).to.contain('nested deeper');
    });

    it('names a cycle deep in a value, with its path, and takes a value 1000 levels deep', () => {
      const bottom: Record<string, unknown> = { n: 1 };
      bottom.back = bottom;
      let deep: unknown = { bottom };
      for (let i = 0; i < 300; i++) deep = [deep];
      const message = refusal(deep).message;
      expect(message).to.contain('circular reference');
      expect(message).to.match(/circular reference at \$(\[0\]){66}/); // the path, cut at 200 characters
      let fine: unknown = 'leaf';
      for (let i = 0; i < 1000; i++) fine = [fine];
      expect(roundTrip(fine)).to.deep.equal(fine);
    });

    it('refuses a value whose getter throws', () => {
      const value = {
        get broken(): never {
          throw new Error('nope');
        },
      };
      expect(refusal(value).message).to.contain('threw');
    });
  });

  describe('compression', () => {
    const compressing = createCodec({ compressThreshold: 1024 });
    const text = 'the same words again and again '.repeat(100);

    it('compresses values at or above the threshold', () => {
      const entry = compressing.encode({ text });
      expect(entry.length).to.be.below(text.length / 4);
      expect(entry[0]! & 0b0001).to.equal(1);
      expect(compressing.decode(entry)).to.deep.equal({ text });
    });

    it('does not compress values below the threshold', () => {
      const entry = compressing.encode({ text: text.slice(0, 500) });
      expect(entry[0]! & 0b0001).to.equal(0);
      expect(entry.length).to.be.above(500);
    });

    it('stores incompressible values uncompressed', () => {
      const noise = randomBytes(4096);
      const entry = compressing.encode(noise);
      expect(entry[0]! & 0b0001).to.equal(0);
      expect(compressing.decode(entry)).to.deep.equal(noise);
    });

    it('never compresses when the threshold is Infinity', () => {
      expect(plain.encode({ text })[0]! & 0b0001).to.equal(0);
    });

    it('refuses a zlib bomb beyond the default 256 MiB cap', function () {
      this.timeout(30_000);
      const bomb = Buffer.concat([Buffer.from([0x11]), zeroBomb(300)]);
      expect(bomb.length).to.be.below(1 << 20);
      expect(decodeError(plain, bomb).message).to.contain('maxDecompressedBytes');
    });

    it('refuses an entry that inflates beyond maxDecompressedBytes', () => {
      const small = createCodec({ compressThreshold: 0, maxDecompressedBytes: 1 << 20 });
      expect(small.decode(small.encode(text))).to.equal(text);
      decodeError(small, Buffer.concat([Buffer.from([0x11]), zeroBomb(2)]));
    });

    it('refuses a compressed entry whose body is not deflate data', () => {
      decodeError(plain, Buffer.from([0x11, 0xff, 0xfe, 0xfd, 0x00]));
    });
  });

  describe('encryption', () => {
    const sealed = createCodec({ compressThreshold: Infinity, encryptionKey: KEY });
    const value = { answer: 'forty-two', at: new Date(5) };

    it('decodes with the right key and aad', () => {
      expect(roundTrip(value, sealed, 'ic:v1:answer')).to.deep.equal(value);
      expect(roundTrip(value, sealed)).to.deep.equal(value);
    });

    it('hides the plaintext and uses a fresh IV for every entry', () => {
      const first = sealed.encode(value, 'k');
      const second = sealed.encode(value, 'k');
      expect(first.includes('forty-two')).to.equal(false);
      expect(first.equals(second)).to.equal(false);
    });

    it('fails with CodecError under a wrong key', () => {
      const other = createCodec({ compressThreshold: Infinity, encryptionKey: Buffer.alloc(32, 8) });
      expect(decodeError(other, sealed.encode(value, 'k'), 'k').message).to.contain('authentication');
    });

    it('fails with CodecError under a wrong or missing aad', () => {
      const entry = sealed.encode(value, 'ic:v1:a');
      decodeError(sealed, entry, 'ic:v1:b');
      decodeError(sealed, entry);
    });

    it('fails with CodecError when any bit of the entry is flipped', () => {
      const entry = sealed.encode({ v: 1 }, 'k');
      for (let i = 0; i < entry.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          const tampered = Buffer.from(entry);
          tampered[i]! ^= 1 << bit;
          decodeError(sealed, tampered, 'k');
        }
      }
    });

    it('refuses plaintext entries when a key is set, and encrypted entries without one', () => {
      expect(decodeError(sealed, plain.encode(value)).message).to.contain('not encrypted');
      expect(decodeError(plain, sealed.encode(value)).message).to.contain('no key');
    });

    it('compresses before encrypting', () => {
      const both = createCodec({ compressThreshold: 0, encryptionKey: KEY });
      const text = 'abc'.repeat(1000);
      const entry = both.encode(text, 'k');
      expect(entry[0]).to.equal(0x13);
      expect(entry.length).to.be.below(200);
      expect(both.decode(entry, 'k')).to.equal(text);
    });

    it('refuses a truncated encrypted entry', () => {
      const entry = sealed.encode(value, 'k');
      for (const length of [2, 13, 29, entry.length - 1]) decodeError(sealed, entry.subarray(0, length), 'k');
    });
  });

  describe('hostile input', () => {
    it('refuses empty, one-byte and garbage buffers', () => {
      const garbage = [
        Buffer.alloc(0),
        Buffer.from([0x10]),
        Buffer.from('hello world'),
        Buffer.from([0x10, 0xc4, 0x05, 0x01]),
        Buffer.from([0x11, 0x01, 0x02, 0x03]),
        Buffer.from([0x12, ...Buffer.alloc(40, 0x78)]),
      ];
      for (const bytes of garbage) decodeError(plain, bytes);
    });

    it('refuses every truncation of a valid entry', () => {
      const entry = plain.encode({ list: [1, 2, 3], text: 'abcdef', big: 2n ** 70n, when: new Date(1) });
      for (let length = 0; length < entry.length; length++) decodeError(plain, entry.subarray(0, length));
    });

    it('refuses unknown format versions and flags', () => {
      const entry = plain.encode('x');
      for (const header of [0x00, 0x20, 0xf0, 0x14, 0x18]) {
        decodeError(plain, Buffer.concat([Buffer.from([header]), entry.subarray(1)]));
      }
      expect(decodeError(plain, Buffer.from([0x20, 0xc0])).message).to.contain('version 2');
    });

    it('refuses trailing bytes after a value', () => {
      decodeError(plain, Buffer.concat([plain.encode(1), Buffer.from([0x01])]));
    });

    it('refuses lengths that claim more bytes than the entry holds, without allocating them', () => {
      const claims = [
        [0xdd, 0xff, 0xff, 0xff, 0xff], // array 32
        [0xdf, 0xff, 0xff, 0xff, 0xff], // map 32
        [0xdb, 0xff, 0xff, 0xff, 0xff, 0x41], // str 32
        [0xc6, 0xff, 0xff, 0xff, 0xff, 0x41], // bin 32
        [0xc9, 0xff, 0xff, 0xff, 0xff, 0x49, 0x00], // ext 32
        [0x91, 0xdd, 0x00, 0x0f, 0xff, 0xff], // array inside an array
      ];
      for (const claim of claims) decodeError(plain, Buffer.from([0x10, ...claim]));
    });

    it('refuses nesting deep enough to overflow the stack', () => {
      decodeError(plain, Buffer.concat([Buffer.from([0x10]), Buffer.alloc(200_000, 0x91), Buffer.from([0xc0])]));
    });

    it('refuses malformed extension payloads and reference extensions', () => {
      const bodies = [
        [0xd4, 0x49, 0x00, 0xc0], // not an array
        [0xd4, 0x49, 0x00, 0x92, 0x09, 0xc0], // unknown tag
        [0xd4, 0x49, 0x00, 0x92, 0x00, 0x91, 0x01], // Map with an odd payload
        [0xd4, 0x49, 0x00, 0x92, 0x03, 0x92, 0x01, 0x02], // object with a number key
        [0xd4, 0x49, 0x00, 0x92, 0x02, 0xc4, 0x01, 0x41], // odd-length UTF-16 string
        [0xd6, 0x70, 0x00, 0x00, 0x00, 0x01], // structured-clone pointer
        [0xd4, 0x5a, 0x00], // unknown extension
      ];
      for (const body of bodies) decodeError(plain, Buffer.from([0x10, ...body]));
    });

    it('does not let a __proto__ map key set the prototype', () => {
      const out = plain.decode(Buffer.from([0x10, 0x81, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa1, 0x78, 0x01]));
      expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
      expect((out as Record<string, unknown>).x).to.equal(undefined);
    });

    it('refuses input that is not bytes', () => {
      decodeError(plain, 'entry' as unknown as Uint8Array);
      decodeError(plain, null as unknown as Uint8Array);
    });

    it('keeps working after a failed decode', () => {
      decodeError(plain, Buffer.from([0x10, 0x92, 0xa3, 0x61]));
      expect(roundTrip({ still: ['fine'] })).to.deep.equal({ still: ['fine'] });
    });
  });

  describe('parseEncryptionKey', () => {
    const raw = randomBytes(32);

    it('accepts 32 bytes and returns a copy', () => {
      const key = parseEncryptionKey(raw, 'encryptionKey');
      expect(key.equals(raw)).to.equal(true);
      expect(key).not.to.equal(raw);
      expect(parseEncryptionKey(new Uint8Array(raw), 'k').equals(raw)).to.equal(true);
    });

    it('accepts 64 hex characters, base64 and base64url, ignoring surrounding whitespace', () => {
      for (const text of [raw.toString('hex'), raw.toString('hex').toUpperCase(), raw.toString('base64')]) {
        expect(parseEncryptionKey(` ${text}\n`, 'CACHE_ENCRYPTION_KEY').equals(raw)).to.equal(true);
      }
      expect(parseEncryptionKey(raw.toString('base64url'), 'k').equals(raw)).to.equal(true);
    });

    it('rejects anything else with a ConfigError that names the setting and never echoes the key', () => {
      const secrets = [
        raw.toString('hex').slice(1),
        raw.toString('hex') + 'ab',
        randomBytes(16).toString('base64'),
        randomBytes(33).toString('base64'),
        'correct-horse-battery-staple',
        raw.toString('base64').replace('=', '!'),
      ];
      for (const secret of secrets) {
        let error: unknown;
        try {
          parseEncryptionKey(secret, 'CACHE_ENCRYPTION_KEY');
        } catch (caught) {
          error = caught;
        }
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as ConfigError).setting).to.equal('CACHE_ENCRYPTION_KEY');
        expect((error as ConfigError).message)
          .to.contain('CACHE_ENCRYPTION_KEY')
          .and.not.contain(secret);
      }
      expect(() => parseEncryptionKey(randomBytes(31), 'encryptionKey')).to.throw(
        ConfigError,
        /encryptionKey.*31 bytes/,
      );
      expect(() => parseEncryptionKey(42 as unknown as string, 'encryptionKey')).to.throw(ConfigError, /number/);
    });
  });

  describe('options', () => {
    it('rejects a bad compressThreshold, maxDecompressedBytes or encryptionKey when created', () => {
      for (const compressThreshold of [-1, NaN, '1' as unknown as number]) {
        expect(() => createCodec({ compressThreshold })).to.throw(ConfigError, /compressThreshold/);
      }
      for (const maxDecompressedBytes of [0, 1.5, Infinity]) {
        expect(() => createCodec({ compressThreshold: 0, maxDecompressedBytes })).to.throw(ConfigError, /maxDecompr/);
      }
      expect(() => createCodec({ compressThreshold: 0, encryptionKey: Buffer.alloc(16) })).to.throw(
        ConfigError,
        /encryptionKey/,
      );
    });
  });
});
