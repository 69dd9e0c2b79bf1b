/**
 * The record's wire form in Redis: `[v, t, f, s, c, g, x]` (+ `tg`), the compact array the first releases wrote. The
 * in-memory record has named fields; entries written in the old form must still be read, and new entries must be
 * written in that same form, byte for byte.
 */
import { expect } from 'chai';
import { CachedError } from '../src/index.js';
import { internalsOf, type Cache } from '../src/cache.js';
import { createCodec } from '../src/codec.js';
import { fromWire, newRecord, toWire } from '../src/record.js';
import { newCache } from './helpers.js';

const codec = createCodec({ compressThreshold: Infinity });

/** Redis reached through the cache's own tier (Buffer replies). */
function redisOf(cache: Cache) {
  return internalsOf(cache).redis!;
}

/** The generation counters (all, kind, then tags) an entry of `kind` must carry, as the cache seeded them. */
async function generations(cache: Cache, kind: string, tags: string[] = []): Promise<number[]> {
  const keys = [
    `infercache:__gen:all`,
    `infercache:__gen:kind:${kind}`,
    ...tags.map((t) => `infercache:__gen:tag:${t}`),
  ];
  const replies = await Promise.all(keys.map((key) => redisOf(cache).send(key, true, ['GET', key])));
  return replies.map((reply) => Number(String(reply)));
}

/** Stores the array `wire`, as the old code encoded it, at `key`. */
async function storeOld(cache: Cache, key: string, wire: unknown[]): Promise<void> {
  await redisOf(cache).send(key, false, ['SET', key, codec.encode(wire, key), 'PX', '60000']);
}

describe('record wire form', () => {
  it('reads the old compact array into named fields and writes the same array back', () => {
    const old = [{ p: 0.5 }, 1000, 2000, 3000, 12.5, [7, 8, 9], 1, ['site:a']];
    const record = fromWire(old)!;
    expect(record).to.deep.equal({
      value: { p: 0.5 },
      createdAt: 1000,
      freshUntil: 2000,
      staleUntil: 3000,
      computeMs: 12.5,
      generations: [7, 8, 9],
      state: 'error',
      tags: ['site:a'],
    });
    expect(codec.pack(toWire(record)).equals(codec.pack(old))).to.equal(true);
    const untagged = [1, 1, 2, 3, 0, [], 2];
    expect(fromWire(untagged)?.state).to.equal('bytes');
    expect(codec.pack(toWire(fromWire(untagged)!)).equals(codec.pack(untagged))).to.equal(true);
    expect(fromWire([1, 1, 2, 3, 0, [], 3])).to.equal(undefined);
  });

  it('makes records with a constructor, never as object literals (whose objects V8 may allocate old)', () => {
    // A literal's allocation site is pretenured once most of its objects outlive a young collection, as the records
    // a memory tier keeps do; every record read for one call was then allocated old and kept its value alive through
    // young collections: the 64-in-flight Redis-tier hit lost a quarter of its throughput (npm run bench:micro).
    const read = fromWire([{ p: 0.5 }, 1000, 2000, 3000, 12.5, [7, 8, 9], 0])!;
    expect(Object.getPrototypeOf(read)).not.to.equal(Object.prototype);
    expect(Object.getPrototypeOf(newRecord(1, 1, 2, 3, 0, [], 'value'))).to.equal(Object.getPrototypeOf(read));
  });

  it('serves an entry written in the old wire form as a hit, with its tags and as a cached error', async () => {
    const cache = newCache();
    await cache.wrap('price', 'seed', async () => 0, { tags: ['shop'] }); // seeds the generation counters
    const now = Date.now();
    const gens = await generations(cache, 'price', ['shop']);
    await storeOld(cache, 'infercache:price:v1:a', [
      { eur: 12 },
      now,
      now + 60_000,
      now + 60_000,
      40,
      gens,
      0,
      ['shop'],
    ]);
    let computed = 0;
    const compute = async () => ++computed;
    expect(await cache.wrapDetailed('price', 'a', compute, { tags: ['shop'] })).to.deep.include({
      value: { eur: 12 },
      result: 'hit',
      tier: 'redis',
    });
    expect(await cache.get('price', 'a')).to.deep.equal({ eur: 12 });

    const kindGens = gens.slice(0, 2);
    await storeOld(cache, 'infercache:price:v1:b', [
      { message: 'no price' },
      now,
      now + 60_000,
      now + 60_000,
      1,
      kindGens,
      1,
    ]);
    const failed = await cache.wrap('price', 'b', compute).catch((error: unknown) => error);
    expect(failed).to.be.instanceOf(CachedError);
    expect((failed as CachedError).message).to.equal('no price');
    expect(computed).to.equal(0);

    await cache.invalidateTags('shop'); // the old entry's tag generation no longer matches
    expect(await cache.wrap('price', 'a', compute, { tags: ['shop'] })).to.equal(1);
  });

  it('writes entries in the old wire form', async () => {
    const cache = newCache();
    const before = Date.now();
    await cache.set('price', 'c', { eur: 3 }, { ttl: '1m', staleWhileRevalidate: '30s', tags: ['shop'] });
    const raw = (await redisOf(cache).send('infercache:price:v1:c', true, ['GET', 'infercache:price:v1:c'])) as Buffer;
    const wire = codec.decode(raw, 'infercache:price:v1:c') as unknown[];
    expect(wire).to.have.length(8);
    const [v, t, f, s, c, g, x, tg] = wire as [unknown, number, number, number, number, number[], number, string[]];
    expect(v).to.deep.equal({ eur: 3 });
    expect(t).to.be.within(before, Date.now());
    expect(f - t).to.equal(60_000);
    expect(s - f).to.equal(30_000);
    expect(c).to.equal(0);
    expect(g).to.deep.equal(await generations(cache, 'price', ['shop']));
    expect(x).to.equal(0);
    expect(tg).to.deep.equal(['shop']);
  });
});
