import { expect } from 'chai';
import fc from 'fast-check';
import { createCodec, type Codec } from '../src/codec.js';
import { CodecError } from '../src/errors.js';

const KEY = Buffer.alloc(32, 3);
const RUNS = 500;

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: codeUnit, maxLength: 80 }));
const key = fc.oneof(anyString, fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', '-1'));
const bytes = fc.uint8Array({ maxLength: 40 });

/** Leaves of the supported types, beyond what fc.anything's options give. */
const leaves = [
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-0, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 31) - 1),
  anyString,
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  fc.date({ noInvalidDate: false, min: new Date(-8.64e15), max: new Date(8.64e15) }),
  bytes.map((array) => Buffer.from(array)),
  bytes.map((array) => array.slice().buffer),
  fc.constantFrom(/a+b/gi, /^\d{2,}$/mu, /x/y, new RegExp('\ud800|\udfff', 'g'), new RegExp('(?<word>\\w+)', 'dsv')),
];

const value = fc.anything({
  key,
  values: leaves,
  maxDepth: 4,
  maxKeys: 6,
  withMap: true,
  withSet: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withNullPrototype: true,
  withSparseArray: true,
});

/** Arrays of objects sharing their keys: what the codec writes as msgpackr records. */
const table = fc.uniqueArray(key, { minLength: 1, maxLength: 6 }).chain((keys) =>
  fc
    .array(fc.array(value, { minLength: keys.length, maxLength: keys.length }), { minLength: 2, maxLength: 5 })
    .map((rows) =>
      rows.map((values) => {
        const row: Record<string, unknown> = {};
        // defineProperty: a `__proto__` key must be an own property, not the prototype
        keys.forEach((name, i) =>
          Object.defineProperty(row, name, { value: values[i], enumerable: true, writable: true, configurable: true }),
        );
        return row;
      }),
    ),
);
/** Tables alone, keyed by id, in a Map and a Set, in objects and arrays, within each other's rows, in long entries. */
const tables = fc.oneof(
  table,
  table.map((rows) => Object.fromEntries(rows.map((row, i) => [`id${i}`, row]))),
  table.map((rows) => ({ map: new Map(rows.map((row, i) => [i, row])), set: new Set(rows) })),
  fc.tuple(table, table).map(([a, b]) => ({ a, b, both: [a, b] })),
  fc.tuple(table, table).map(([outer, inner]) => outer.map((row) => ({ ...row, inner }))),
  // past 4 KB, where the decoder compiles its record readers
  table.map((rows) => ({ rows, again: rows, padding: 'x'.repeat(4096) })),
);

/**
 * Stricter than chai's deep equality: same prototypes at every level (Buffer vs Uint8Array, null
 * prototypes), `Object.is` on primitives (-0), Map and Set order, key order, bytes of binary data.
 */
function expectExact(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected !== 'object' || expected === null || typeof actual !== 'object' || actual === null) {
    expect(Object.is(actual, expected), `${path}: ${String(actual)} is not ${String(expected)}`).to.equal(true);
    return;
  }
  expect(Object.getPrototypeOf(actual), `${path}: prototype`).to.equal(Object.getPrototypeOf(expected));
  if (expected instanceof Date) {
    expect(Object.is((actual as Date).getTime(), expected.getTime()), `${path}: time`).to.equal(true);
  } else if (expected instanceof RegExp) {
    expect([(actual as RegExp).source, (actual as RegExp).flags], path).to.deep.equal([
      expected.source,
      expected.flags,
    ]);
  } else if (ArrayBuffer.isView(expected) || expected instanceof ArrayBuffer) {
    const view = (data: ArrayBufferView | ArrayBuffer): Buffer =>
      ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
    expect(view(actual as ArrayBuffer).equals(view(expected)), `${path}: bytes`).to.equal(true);
  } else if (expected instanceof Map || expected instanceof Set) {
    const items = (collection: Map<unknown, unknown> | Set<unknown>): unknown[] => [...collection.entries()].flat();
    expectExact(items(actual as Map<unknown, unknown>), items(expected), `${path}<entries>`);
  } else if (Array.isArray(expected)) {
    expect((actual as unknown[]).length, `${path}: length`).to.equal(expected.length);
    for (let i = 0; i < expected.length; i++) expectExact((actual as unknown[])[i], expected[i], `${path}[${i}]`);
  } else {
    expect(Reflect.ownKeys(actual), `${path}: keys`).to.deep.equal(Reflect.ownKeys(expected));
    for (const name of Object.keys(expected)) {
      expectExact(
        (actual as Record<string, unknown>)[name],
        (expected as Record<string, unknown>)[name],
        `${path}.${name}`,
      );
    }
  }
}

function checkRoundTrips(codec: Codec): void {
  fc.assert(
    fc.property(value, fc.option(anyString, { nil: undefined }), (input, aad) => {
      // expectExact, not chai's deep equal: chai sorts Map and Set entries by their string form, which
      // throws on null-prototype objects, and it does not tell Buffer from Uint8Array or see Map order
      expectExact(codec.decode(codec.encode(input, aad), aad), input);
    }),
    { numRuns: RUNS },
  );
}

describe('codec properties', () => {
  it('decodes every encodable value to an exact copy', () => {
    checkRoundTrips(createCodec({ compressThreshold: Infinity }));
  });

  it('decodes every value to an exact copy when every entry is compressed', () => {
    checkRoundTrips(createCodec({ compressThreshold: 0 }));
  });

  it('decodes every value to an exact copy when entries are encrypted, compressed or not', () => {
    checkRoundTrips(createCodec({ compressThreshold: Infinity, encryptionKey: KEY }));
    checkRoundTrips(createCodec({ compressThreshold: 0, encryptionKey: KEY }));
  });

  it('decodes same-shaped objects (records) to exact copies, compressed and encrypted too', () => {
    const codecs = [
      createCodec({ compressThreshold: Infinity }),
      createCodec({ compressThreshold: 0 }),
      createCodec({ compressThreshold: 0, encryptionKey: KEY }),
    ];
    fc.assert(
      fc.property(tables, fc.nat({ max: codecs.length - 1 }), (input, which) => {
        const codec = codecs[which]!;
        expectExact(codec.decode(codec.encode(input, 'key'), 'key'), input);
      }),
      { numRuns: RUNS },
    );
  });

  it('throws nothing but CodecError on an entry with records whose bytes are changed', () => {
    const codec = createCodec({ compressThreshold: Infinity });
    fc.assert(
      fc.property(tables, fc.nat(), fc.integer({ min: 1, max: 255 }), (input, at, mask) => {
        const entry = codec.encode(input);
        entry[1 + (at % (entry.length - 1))]! ^= mask; // the body, behind a valid header
        try {
          codec.decode(entry);
        } catch (error) {
          expect(error).to.be.instanceOf(CodecError);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('throws nothing but CodecError on arbitrary bytes, behind any header', () => {
    const codecs = [createCodec({ compressThreshold: 0 }), createCodec({ compressThreshold: 0, encryptionKey: KEY })];
    const entry = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc
        .tuple(fc.integer({ min: 0x10, max: 0x13 }), fc.uint8Array({ maxLength: 64 }))
        .map(([header, body]) => Uint8Array.of(header, ...body)),
    );
    fc.assert(
      fc.property(entry, (input) => {
        for (const codec of codecs) {
          try {
            codec.decode(input);
          } catch (error) {
            expect(error).to.be.instanceOf(CodecError);
          }
        }
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('fails with CodecError when any byte of an encrypted entry is changed', () => {
    const codec = createCodec({ compressThreshold: 64, encryptionKey: KEY });
    fc.assert(
      fc.property(value, fc.nat(), fc.integer({ min: 1, max: 255 }), (input, at, mask) => {
        const entry = codec.encode(input, 'key');
        entry[at % entry.length]! ^= mask;
        expect(() => codec.decode(entry, 'key')).to.throw(CodecError);
      }),
      { numRuns: RUNS },
    );
  });
});
