/**
 * What the memory tier keeps for a value it must protect: the value's MessagePack bytes, decoded and frozen on the
 * first hit only (a value nobody asks for again is never decoded), from bytes of its own.
 */
import { expect } from 'chai';
import { createCodec, type Codec } from '../src/codec.js';
import { LAZY_BYTES, memoryForm } from '../src/frozen.js';
import { MemoryTier, valueOf, type MemoryEntry } from '../src/memory.js';
import { newRecord, toWire, type CacheRecord } from '../src/record.js';

const codec = createCodec({ compressThreshold: Infinity });

/** The codec, counting its decodes. */
function counting(): Codec & { unpacks: number } {
  const counted = Object.create(codec) as Codec & { unpacks: number };
  counted.unpacks = 0;
  counted.unpack = (body) => {
    counted.unpacks++;
    return codec.unpack(body);
  };
  return counted;
}

function record(value: unknown): CacheRecord {
  const t = Date.now();
  return newRecord(value, t, t + 60_000, t + 60_000, 5, [1, 1], 'value');
}

/** Puts `value` in a fresh tier the way the cache does (its record's body given), and returns the tier. */
function kept(value: unknown, how: { codec?: Codec; body?: Buffer } = {}): MemoryTier {
  const r = record(value);
  const body = how.body ?? codec.pack(toWire(r));
  const form = memoryForm(how.codec ?? codec, r, { shared: false, body, size: body.length })!;
  const tier = new MemoryTier({ maxEntries: 10, maxBytes: 1 << 20, maxTtl: undefined });
  const { record: kept, copy, pending, size } = form;
  tier.set('k', { record: kept, kind: 'p', tags: [], copy, pending }, size);
  return tier;
}

describe('memory tier entries', () => {
  // 20 tokens: a body above LAZY_BYTES, kept as bytes until its first hit
  const tokens = Array.from({ length: 20 }, (_, i) => ({ id: i, text: `token ${i}` }));
  const value = () => ({ label: 'ok', scores: [0.1, 0.9], meta: { tokens: structuredClone(tokens) } });

  it('keeps a value as its bytes until it is asked for: a value never hit is never decoded', () => {
    expect(codec.pack(toWire(record(value()))).length).to.be.at.least(LAZY_BYTES);
    const counted = counting();
    const tier = kept(value(), { codec: counted });
    expect(counted.unpacks).to.equal(0);
    const entry = tier.get('k')!;
    expect(counted.unpacks).to.equal(1);
    expect(entry.record.value).to.deep.equal(value());
    expect(Object.isFrozen(entry.record.value)).to.equal(true);
    expect(tier.get('k')!.record.value).to.equal(entry.record.value); // decoded once, then shared
    expect(counted.unpacks).to.equal(1);
  });

  it('decodes a small value at once: its bytes alone would take more memory than the value', () => {
    const counted = counting();
    const small = { label: 'ok' };
    expect(codec.pack(toWire(record(small))).length).to.be.below(LAZY_BYTES);
    const tier = kept(small, { codec: counted });
    expect(counted.unpacks).to.equal(1);
    expect(tier.get('k')!.record.value).to.deep.equal(small);
    expect(counted.unpacks).to.equal(1);
  });

  it('decodes from bytes of its own: the buffer it was given may be reused at once', () => {
    const body = codec.pack(toWire(record(value())));
    const shared = Buffer.alloc(body.length + 16); // a Redis reply or an encoder's buffer, holding other bytes too
    body.copy(shared, 8);
    const tier = kept(value(), { body: shared.subarray(8, 8 + body.length) });
    shared.fill(0xc1); // 0xc1: never valid MessagePack
    expect(tier.get('k')!.record.value).to.deep.equal(value());
  });

  it('copies for each caller what cannot be frozen, once decoded', () => {
    const counted = counting();
    const tier = kept({ at: new Date(0), plain: { n: 1 }, tokens }, { codec: counted });
    expect(counted.unpacks).to.equal(0); // kept as bytes: decoded on the first hit
    const entry = tier.get('k')!;
    const first = valueOf(entry) as { at: Date; plain: object };
    first.at.setTime(1);
    const second = valueOf(entry) as { at: Date; plain: object };
    expect(second.at.getTime()).to.equal(0);
    expect(second.plain).to.equal(first.plain);
  });

  it('drops an entry whose bytes do not decode instead of serving it', () => {
    const tier = new MemoryTier({ maxEntries: 10, maxBytes: 1 << 20, maxTtl: undefined });
    const pending = { body: Buffer.from([0xc1]), codec };
    const entry: MemoryEntry = { record: record(undefined), kind: 'p', tags: [], copy: false, pending };
    tier.set('k', entry, 1);
    expect(tier.get('k')).to.equal(undefined);
    expect(tier.size.entries).to.equal(0);
  });
});
