/**
 * Property tests of the key builder: a value and a deep key-shuffled copy share a key; unequal values never do.
 * "Equal" is refEqual below, an independent statement of what canonicalEncode promises to tell apart.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { buildKey, canonicalEncode, type KeySpec } from '../src/keys.js';

const hashed: KeySpec = { namespace: 'ns', kind: 'k', version: 'v1', hashKeys: true };
/**
 * buildKey refuses an empty key (undefined, null, '', NaN, or arrays and objects of only such values): pair each
 * value with a constant non-empty leaf to key them all.
 */
const key = (value: unknown): string => buildKey(hashed, ['k', value]);

type Kind = 'array' | 'plain' | 'date' | 'map' | 'set' | 'bytes' | 'boxed' | 'other';

function kindOf(value: object): Kind {
  if (Array.isArray(value)) return 'array';
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return 'bytes';
  if (value instanceof Date) return 'date';
  if (value instanceof Map) return 'map';
  if (value instanceof Set) return 'set';
  if (value instanceof Number || value instanceof String || value instanceof Boolean || value instanceof BigInt) {
    return 'boxed';
  }
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null ? 'plain' : 'other';
}

function bytesOf(value: object): { type: string; bytes: string } {
  const type = Buffer.isBuffer(value) ? 'Buffer' : Object.prototype.toString.call(value);
  const view = ArrayBuffer.isView(value)
    ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    : Buffer.from(value as ArrayBuffer);
  return { type, bytes: view.toString('hex') };
}

/** Multiset equality under refEqual (greedy matching is exact because refEqual is an equivalence). */
function sameMultiset(a: unknown[], b: unknown[], eq: (x: unknown, y: unknown) => boolean): boolean {
  if (a.length !== b.length) return false;
  const left = [...b];
  for (const x of a) {
    const i = left.findIndex((y) => eq(x, y));
    if (i === -1) return false;
    left.splice(i, 1);
  }
  return true;
}

/** Deep equality as canonicalEncode sees it: Object.is on numbers (NaN = NaN, -0 ≠ 0), holes ≠ undefined, etc. */
function refEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a !== 'object' || a === null || b === null) return Object.is(a, b);
  const x = a as object;
  const y = b as object;
  const kind = kindOf(x);
  if (kind !== kindOf(y)) return false;
  switch (kind) {
    case 'array': {
      const p = x as unknown[];
      const q = y as unknown[];
      if (p.length !== q.length) return false;
      for (let i = 0; i < p.length; i++) {
        if (i in p !== i in q || !refEqual(p[i], q[i])) return false;
      }
      return true;
    }
    case 'date':
      return Object.is((x as Date).getTime(), (y as Date).getTime());
    case 'map': {
      const pair = (e: unknown, f: unknown): boolean => {
        const [k1, v1] = e as [unknown, unknown];
        const [k2, v2] = f as [unknown, unknown];
        return refEqual(k1, k2) && refEqual(v1, v2);
      };
      return sameMultiset([...(x as Map<unknown, unknown>)], [...(y as Map<unknown, unknown>)], pair);
    }
    case 'set':
      return sameMultiset([...(x as Set<unknown>)], [...(y as Set<unknown>)], refEqual);
    case 'bytes': {
      const p = bytesOf(x);
      const q = bytesOf(y);
      return p.type === q.type && p.bytes === q.bytes;
    }
    case 'boxed':
      return Object.getPrototypeOf(x) === Object.getPrototypeOf(y) && Object.is(x.valueOf(), y.valueOf());
    case 'plain': {
      const kx = Object.keys(x).sort();
      const ky = Object.keys(y).sort();
      if (kx.length !== ky.length || kx.some((k, i) => k !== ky[i])) return false;
      return kx.every((k) => refEqual((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]));
    }
    default:
      throw new Error('refEqual: unexpected value');
  }
}

/** A small deterministic PRNG, so shuffles replay with fast-check's seed. */
function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A deep copy with object keys, Map entries and Set members in another order (array order kept, holes kept). */
function shuffledCopy(value: unknown, random: () => number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const copy = (v: unknown): unknown => shuffledCopy(v, random);
  switch (kindOf(value)) {
    case 'array': {
      const src = value as unknown[];
      const out: unknown[] = new Array<unknown>(src.length);
      for (let i = 0; i < src.length; i++) if (i in src) out[i] = copy(src[i]);
      return out;
    }
    case 'date':
      return new Date((value as Date).getTime());
    case 'map':
      return new Map(shuffled([...(value as Map<unknown, unknown>)], random).map(([k, v]) => [copy(k), copy(v)]));
    case 'set':
      return new Set(shuffled([...(value as Set<unknown>)], random).map(copy));
    case 'bytes':
      if (Buffer.isBuffer(value)) return Buffer.from(value);
      if (value instanceof ArrayBuffer) return value.slice(0);
      return new (value.constructor as new (v: unknown) => unknown)(value);
    case 'boxed':
      return Object(value.valueOf());
    case 'plain': {
      const out = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
      for (const k of shuffled(Object.keys(value), random)) {
        Object.defineProperty(out, k, {
          value: copy((value as Record<string, unknown>)[k]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    default:
      throw new Error('shuffledCopy: unexpected value');
  }
}

/** JSON-ish values plus Date, BigInt, Map, Set, typed arrays, boxed values, sparse arrays and null prototypes. */
const anything = fc.anything({
  maxDepth: 3,
  maxKeys: 5,
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withBoxedValues: true,
  withNullPrototype: true,
  withSparseArray: true,
});

/** Small values from a few tricky leaves, so unequal values are often nearly equal. */
const tricky = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.constantFrom<unknown>(0, -0, 1, 0.5, NaN, Infinity, -Infinity, '', '0', '1', 'a', 'a:b', 's1:a', 'd1;'),
    fc.constantFrom<unknown>('\uD800', '\uFFFD', 'NaN', 'true', null, undefined, true, false, 0n, 1n, -1n),
    fc.constantFrom(0, 1, NaN).map((t) => new Date(t)),
    fc.constantFrom<unknown>(0, -0, 1, '1', 1n).map((v) => Object(v) as unknown),
    fc
      .tuple(
        fc.constantFrom('Uint8Array', 'Int8Array', 'Buffer', 'Uint16Array', 'ArrayBuffer'),
        fc.array(fc.constantFrom(0, 1), { maxLength: 4 }),
      )
      .map(([type, bytes]) => {
        const even = new Uint8Array(bytes.slice(0, bytes.length - (bytes.length % 2)));
        if (type === 'Buffer') return Buffer.from(bytes);
        if (type === 'Int8Array') return new Int8Array(bytes);
        if (type === 'Uint16Array') return new Uint16Array(even.buffer);
        if (type === 'ArrayBuffer') return new Uint8Array(bytes).buffer;
        return new Uint8Array(bytes);
      }),
    tie('array'),
    tie('object'),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((entries) => new Map(entries)),
    fc.array(tie('value'), { maxLength: 3 }).map((members) => new Set(members)),
  ),
  array: fc.oneof(fc.array(tie('value'), { maxLength: 3 }), fc.sparseArray(tie('value'), { maxLength: 3 })),
  object: fc.dictionary(fc.constantFrom('a', 'b', '0', '1', '', 'a:b'), tie('value'), { maxKeys: 3 }),
})).value;

/** Replaces the n-th leaf (depth-first) of a copy of `value` by `leaf`: a near miss of the original, or equal. */
function withLeafReplaced(value: unknown, n: number, leaf: unknown): unknown {
  let count = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null || kindOf(v) === 'bytes' || kindOf(v) === 'date' || kindOf(v) === 'boxed') {
      return count++ === n ? leaf : v;
    }
    switch (kindOf(v)) {
      case 'array': {
        const src = v as unknown[];
        const out: unknown[] = new Array<unknown>(src.length);
        for (let i = 0; i < src.length; i++) if (i in src) out[i] = walk(src[i]);
        return out;
      }
      case 'map':
        return new Map([...(v as Map<unknown, unknown>)].map(([k, x]) => [walk(k), walk(x)]));
      case 'set':
        return new Set([...(v as Set<unknown>)].map(walk));
      default:
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
  };
  return walk(value);
}

const pairs = fc.oneof(
  fc.tuple(tricky, tricky),
  fc.tuple(tricky, fc.nat(20), tricky).map(([a, n, leaf]) => [a, withLeafReplaced(a, n, leaf)] as [unknown, unknown]),
);

describe('keys (property tests)', function () {
  this.timeout(60_000);

  it('gives any value and a deep key-shuffled copy of it the same key', () => {
    fc.assert(
      fc.property(anything, fc.integer(), (value, seed) => {
        const copy = shuffledCopy(value, prng(seed));
        expect(refEqual(value, copy)).to.equal(true);
        expect(canonicalEncode(copy)).to.equal(canonicalEncode(value));
        expect(key(copy)).to.equal(key(value));
      }),
      { numRuns: 20_000 },
    );
  });

  it('never gives two unequal values the same key (and always gives equal ones the same), over 100 000+ unequal pairs', () => {
    let unequal = 0;
    fc.assert(
      fc.property(pairs, ([a, b]) => {
        const equal = refEqual(a, b);
        if (!equal) unequal++;
        if (equal) expect(key(a)).to.equal(key(b));
        else expect(key(a)).not.to.equal(key(b));
      }),
      { numRuns: 250_000 },
    );
    expect(unequal).to.be.at.least(100_000);
  });

  it('never maps two unequal values among 50 000 varied ones to the same encoding', () => {
    const seen = new Map<string, unknown>();
    for (const value of fc.sample(anything, { numRuns: 50_000, seed: 42 })) {
      const encoding = canonicalEncode(value);
      if (seen.has(encoding)) expect(refEqual(seen.get(encoding), value)).to.equal(true);
      else seen.set(encoding, value);
    }
    expect(seen.size).to.be.greaterThan(10_000);
  });
});
