/**
 * The vector indexes of the semantic tier: the exact index and the in-process IVF index (int8 and float32, and tuned
 * small so that a few hundred vectors already split into lists and collapse back) keep the same contract; the IVF
 * index finds the exact best match for ≥ 98 % of paraphrase queries and its similarities stay within their error bound.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createMemoryIndex } from '../../../src/llm/semantic/index-memory.js';
import { createExactIndex, type VectorIndex } from '../../../src/llm/semantic/vector-index.js';
import { clustered, cosine, perturb, prng } from '../../../bench/lib/vectors.js';

const flavours: Array<[string, () => VectorIndex]> = [
  ['exact index', () => createExactIndex()],
  ['memory index (int8)', () => createMemoryIndex()],
  ['memory index (float32)', () => createMemoryIndex({ precision: 'float32' })],
  ['memory index (tiny lists)', () => createMemoryIndex({ flatLimit: 8, listSize: 3, nprobe: 2 })],
];

/** Every id the index holds in `partition`, sorted. */
const idsIn = (index: VectorIndex, partition: string): string[] => index.ids(partition).sort();

for (const [name, make] of flavours) {
  describe(`vector index contract: ${name}`, () => {
    it('ranks by cosine similarity, best first, whatever the vectors’ lengths', () => {
      const index = make();
      index.add('p', 'x', [2, 0, 0]);
      index.add('p', 'y', [0, 5, 0]);
      index.add('p', 'xy', [1, 1, 0]);
      index.add('p', 'minus-x', [-3, 0, 0]);
      const found = index.search('p', [1, 0.1, 0], 4);
      expect(found.map((m) => m.id)).to.deep.equal(['x', 'xy', 'y', 'minus-x']);
      const q = Math.hypot(1, 0.1);
      const expected = [1 / q, 1.1 / q / Math.SQRT2, 0.1 / q, -1 / q];
      found.forEach((m, i) => expect(Math.abs(m.similarity - expected[i]!)).to.be.at.most(m.error + 1e-6));
      expect(index.search('p', [1, 0, 0], 2).map((m) => m.id)).to.deep.equal(['x', 'xy']);
      expect(index.search('p', [1, 0, 0], 0)).to.deep.equal([]);
      expect(index.search('elsewhere', [1, 0, 0], 3)).to.deep.equal([]);
    });

    it('removes ids and partitions (exactly or by prefix) and counts what went', () => {
      const index = make();
      index.add('m1|s1|a', 'a1', [1, 0]);
      index.add('m1|s1|a', 'a2', [1, 1]);
      index.add('m1|s1|b', 'b1', [0, 1]);
      index.add('m1|s10', 'c1', [1, 2]);
      index.add('m2|s1', 'd1', [2, 1]);
      expect(index.size).to.equal(5);
      expect(index.remove('a2')).to.equal(true);
      expect(index.remove('a2')).to.equal(false);
      expect(index.has('a2')).to.equal(false);
      expect(idsIn(index, 'm1|s1|a')).to.deep.equal(['a1']);
      expect(index.removePartition('m1|s1|')).to.equal(0);
      expect(index.removePartition('m1|s1|', true)).to.equal(2);
      expect(idsIn(index, 'm1|s1|b')).to.deep.equal([]);
      expect(idsIn(index, 'm1|s10')).to.deep.equal(['c1']);
      expect(index.removePartition('m2|s1')).to.equal(1);
      expect(index.size).to.equal(1);
      index.add('m1|s1|a', 'a1', [1, 0]);
      expect(index.search('m1|s1|a', [1, 0], 1)[0]?.id).to.equal('a1');
      index.clear();
      expect(index.size).to.equal(0);
      expect(index.search('m1|s10', [1, 2], 1)).to.deep.equal([]);
    });

    it('replaces the vector (and the partition) of an id added again', () => {
      const index = make();
      index.add('p', 'a', [1, 0, 0]);
      index.add('p', 'b', [0, 1, 0]);
      index.add('p', 'a', [0, 0, 1]);
      expect(index.size).to.equal(2);
      expect(index.search('p', [0, 0, 1], 1)[0]).to.include({ id: 'a' });
      expect(index.search('p', [0, 0, 1], 1)[0]!.similarity).to.be.closeTo(1, 0.01);
      expect(index.search('p', [1, 0, 0], 2).every((m) => m.similarity < 0.01)).to.equal(true);
      index.add('q', 'a', [1, 0, 0]);
      expect(idsIn(index, 'p')).to.deep.equal(['b']);
      expect(idsIn(index, 'q')).to.deep.equal(['a']);
    });

    it('rejects zero, NaN, infinite, empty and wrongly sized vectors with an error saying so', () => {
      const index = make();
      expect(() => index.add('p', 'z', [0, 0, 0])).to.throw(RangeError, /zero vector/);
      expect(() => index.add('p', 'n', [1, NaN, 0])).to.throw(TypeError, /component 1 is NaN/);
      expect(() => index.add('p', 'i', [1, Infinity, 0])).to.throw(TypeError, /component 1 is Infinity/);
      expect(() => index.add('p', 'e', [])).to.throw(RangeError, /empty/);
      expect(() => index.add('p', 's', 'abc' as unknown as number[])).to.throw(TypeError, /array/);
      index.add('p', 'ok', new Float32Array([1, 2, 3]));
      expect(index.dimensions).to.equal(3);
      expect(() => index.add('p', 'long', [1, 2, 3, 4])).to.throw(RangeError, /got 4 numbers.*3-dimensional/);
      expect(() => index.search('p', [1, 2], 1)).to.throw(RangeError, /dimension mismatch/);
      expect(() => index.search('p', [0, 0, 0], 1)).to.throw(RangeError, /zero vector/);
      expect(() => index.search('p', [1, 2, 3], -1)).to.throw(TypeError, /k must be/);
      expect(() => index.search('p', [1, 2, 3], 1.5)).to.throw(TypeError, /k must be/);
      expect(index.size).to.equal(1);
    });

    it('never returns an id of another partition, through adds, replacements and removals', () => {
      const vector = fc
        .array(fc.integer({ min: -3, max: 3 }), { minLength: 4, maxLength: 4 })
        .filter((v) => v.some((x) => x !== 0));
      const op = fc.oneof(
        fc.record({ add: fc.constantFrom('p', 'q', 'pq'), id: fc.integer({ min: 0, max: 40 }), vector }),
        fc.record({ remove: fc.integer({ min: 0, max: 40 }) }),
        fc.record({ drop: fc.constantFrom('p', 'q'), byPrefix: fc.boolean() }),
      );
      fc.assert(
        fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
          const index = make();
          const model = new Map<string, string>();
          for (const o of ops) {
            if ('add' in o) {
              index.add(o.add, String(o.id), o.vector);
              model.set(String(o.id), o.add);
            } else if ('remove' in o) {
              expect(index.remove(String(o.remove))).to.equal(model.delete(String(o.remove)));
            } else {
              const gone = [...model].filter(([, p]) => (o.byPrefix ? p.startsWith(o.drop) : p === o.drop));
              expect(index.removePartition(o.drop, o.byPrefix)).to.equal(gone.length);
              for (const [id] of gone) model.delete(id);
            }
          }
          expect(index.size).to.equal(model.size);
          for (const partition of ['p', 'q', 'pq']) {
            const expected = [...model].filter(([, p]) => p === partition).map(([id]) => id);
            expect(idsIn(index, partition)).to.deep.equal(expected.sort());
            const found = index.search(partition, [1, 2, -1, 1], 5).map((m) => m.id);
            expect(expected).to.include.members(found);
            expect(found.length > 0).to.equal(expected.length > 0);
            expect(found.length).to.be.at.most(5);
          }
        }),
        { numRuns: 60 },
      );
    });
  });
}

describe('memory index: recall and accuracy on clustered vectors', function () {
  this.timeout(120_000);
  const data = clustered({ count: 5000, topics: 250, dims: 96, seed: 7 });
  const exact = createExactIndex();
  data.vectors.forEach((v, i) => exact.add('p', String(i), v));
  const queries = Array.from({ length: 300 }, (_, i) =>
    i % 2 === 0
      ? perturb(data.random, data.vectors[Math.floor(data.random() * data.vectors.length)]!, 0.3)
      : perturb(data.random, data.centres[Math.floor(data.random() * data.centres.length)]!, 0.5),
  );

  for (const precision of ['int8', 'float32'] as const) {
    it(`finds the exact best match for ≥ 98 % of paraphrase queries, its similarity within the bound (${precision})`, () => {
      const index = createMemoryIndex({ precision });
      data.vectors.forEach((v, i) => index.add('p', String(i), v));
      let found = 0;
      for (const q of queries) {
        const best = exact.search('p', q, 1)[0]!;
        const top = index.search('p', q, 1)[0]!;
        const truth = cosine(q, data.vectors[Number(top.id)]!);
        expect(Math.abs(top.similarity - truth)).to.be.at.most(top.error + 1e-6);
        if (precision === 'float32') expect(top.error).to.equal(0);
        else expect(top.error).to.be.within(1e-6, 0.05);
        if (truth >= best.similarity - 1e-6) found++;
      }
      expect(found / queries.length).to.be.at.least(0.98);
    });
  }

  it('still finds near-repeats after churn splits lists, empties some and collapses the partition', () => {
    const index = createMemoryIndex({ flatLimit: 256, listSize: 24 });
    const random = prng(11);
    const live = new Set<number>();
    const check = () => {
      const sample = [...live].filter((_, i) => i % 7 === 0);
      let found = 0;
      for (const i of sample) {
        const top = index.search('p', perturb(random, data.vectors[i]!, 0.1), 1)[0];
        if (top?.id === String(i)) found++;
      }
      expect(found / sample.length).to.be.at.least(0.98, `${found} of ${sample.length}`);
    };
    for (let i = 0; i < 3000; i++) {
      index.add('p', String(i), data.vectors[i]!);
      live.add(i);
    }
    const removeWhere = (drop: (i: number) => boolean) => {
      for (const i of [...live]) {
        if (!drop(i)) continue;
        index.remove(String(i));
        live.delete(i);
      }
    };
    removeWhere(() => random() < 0.3);
    for (let i = 3000; i < 4000; i++) {
      index.add('p', String(i), data.vectors[i]!);
      live.add(i);
    }
    // Whole topics last: lists empty and are dropped, and nothing touches the lists moved into their place.
    removeWhere((i) => data.topicOf[i]! % 4 === 0);
    expect(index.size).to.equal(live.size);
    check();
    for (const i of [...live]) {
      if (live.size === 100) break;
      index.remove(String(i));
      live.delete(i);
    }
    expect(index.ids('p').length).to.equal(100);
    check();
  });

  it('reports its memory: int8 vectors take a quarter of the bytes of float32 ones', () => {
    const int8 = createMemoryIndex({ precision: 'int8' });
    const float32 = createMemoryIndex({ precision: 'float32' });
    expect(int8.memoryBytes()).to.equal(0);
    data.vectors.forEach((v, i) => {
      int8.add('p', String(i), v);
      float32.add('p', String(i), v);
    });
    const vectorBytes = data.vectors.length * 96;
    expect(int8.memoryBytes()).to.be.within(vectorBytes, 0.6 * float32.memoryBytes());
    expect(float32.memoryBytes()).to.be.within(4 * vectorBytes, 8 * vectorBytes);
    int8.clear();
    expect(int8.memoryBytes()).to.equal(0);
  });

  it('refuses bad options with a ConfigError naming the option', () => {
    expect(() => createMemoryIndex({ nprobe: 0 })).to.throw(TypeError, /nprobe/);
    expect(() => createMemoryIndex({ listSize: 1.5 })).to.throw(TypeError, /listSize/);
    expect(() => createMemoryIndex({ precision: 'int4' as 'int8' })).to.throw(TypeError, /precision/);
    expect(() => createMemoryIndex({ dimensions: 0 })).to.throw(TypeError, /dimensions/);
  });
});
