/** Encryption at rest against a real Redis: a wrong key, a missing key, tampered or moved bytes are misses, never garbage. */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { RESP_TYPES } from 'redis';
import { allWritesLanded, newCache, counted } from './helpers.js';
import { adminClient } from './setup/root-hooks.js';

const keyA = randomBytes(32).toString('hex');
const keyB = randomBytes(32).toString('base64');
const secret = (id: string) => ({ id, diagnosis: 'confidential text', scores: new Float32Array([0.25, 0.75]) });

/** The Redis keys of stored entries (not generation counters), sorted. */
async function entryKeys(): Promise<string[]> {
  return (await adminClient().keys('infercache:*')).filter((k) => !k.includes(':__')).sort();
}

/** A connected cache (exact miss counts must not depend on how fast the first connection is). */
async function connected(options: Parameters<typeof newCache>[0] = {}) {
  const cache = newCache(options);
  await cache.connect();
  return cache;
}

const binary = () => adminClient().withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
const rawGet = async (key: string) => (await binary().get(key)) as unknown as Buffer;

describe('encryption at rest (real Redis)', () => {
  it('stores no plaintext in Redis, and reads its own entries back exactly', async () => {
    const cache = await connected({ encryptionKey: keyA });
    const fn = counted(secret);
    await cache.wrap('diag', ['p-1'], () => fn('p-1'));
    await allWritesLanded();
    const [key] = await entryKeys();
    const raw = await rawGet(key!);
    expect(raw.includes('confidential')).to.equal(false);
    expect(raw.includes('p-1')).to.equal(false);
    expect(await (await connected({ encryptionKey: keyA })).wrap('diag', ['p-1'], () => fn('p-1'))).to.deep.equal(
      secret('p-1'),
    );
    expect(fn.calls).to.equal(1);
  });

  it('treats an entry written with key A and read with key B as a miss, never as garbage', async () => {
    const writer = await connected({ encryptionKey: keyA });
    await writer.wrap('diag', ['p-2'], async () => secret('p-2'));
    await allWritesLanded();
    const reader = await connected({ encryptionKey: keyB });
    const fn = counted(secret);
    expect(await reader.wrap('diag', ['p-2'], () => fn('p-2'))).to.deep.equal(secret('p-2'));
    expect(fn.calls).to.equal(1);
    expect(reader.stats().errors).to.equal(1);
    expect(reader.stats().hits).to.equal(0);
  });

  it('treats encrypted entries read without a key, and plaintext entries read with one, as misses', async () => {
    await (await connected({ encryptionKey: keyA })).wrap('diag', ['enc'], async () => 'from encrypted');
    await (await connected()).wrap('diag', ['plain'], async () => 'from plaintext');
    await allWritesLanded();
    const fn = counted((s: string) => `computed ${s}`);
    expect(await (await connected()).wrap('diag', ['enc'], () => fn('enc'))).to.equal('computed enc');
    expect(await (await connected({ encryptionKey: keyA })).wrap('diag', ['plain'], () => fn('plain'))).to.equal(
      'computed plain',
    );
    expect(fn.calls).to.equal(2);
  });

  it('detects a flipped byte anywhere in a stored entry (header, IV, ciphertext, tag)', async () => {
    const cache = await connected({ encryptionKey: keyA });
    const fn = counted(secret);
    await cache.wrap('diag', ['p-3'], () => fn('p-3'));
    await allWritesLanded();
    const [key] = await entryKeys();
    const original = await rawGet(key!);
    const positions = [0, 1, 2, 5, 12, 20, Math.floor(original.length / 2), original.length - 17, original.length - 1];
    for (const at of positions) {
      const tampered = Buffer.from(original);
      tampered[at] = tampered[at]! ^ 0x01;
      await adminClient().set(key!, tampered);
      const reader = await connected({ encryptionKey: keyA });
      const value = await reader.wrap('diag', ['p-3'], () => fn('p-3'));
      expect(value, `flip at ${at}`).to.deep.equal(secret('p-3'));
      expect(reader.stats().errors, `flip at ${at}`).to.equal(1);
      await allWritesLanded();
    }
    expect(fn.calls).to.equal(1 + positions.length);
  });

  it('refuses an entry moved under another key (ciphertext bound to its key)', async () => {
    const cache = await connected({ encryptionKey: keyA });
    await cache.wrap('diag', ['alice'], async () => secret('alice'));
    await cache.wrap('diag', ['bob'], async () => secret('bob'));
    await allWritesLanded();
    const keys = await entryKeys();
    expect(keys).to.have.length(2);
    const [first, second] = keys as [string, string];
    await adminClient().set(second, await rawGet(first));
    const reader = await connected({ encryptionKey: keyA });
    const fn = counted(secret);
    const values = await Promise.all(['alice', 'bob'].map((p) => reader.wrap('diag', [p], () => fn(p))));
    expect(values).to.deep.equal([secret('alice'), secret('bob')]);
    expect(fn.calls, 'only the overwritten entry was recomputed').to.equal(1);
    expect(reader.stats().errors).to.equal(1);
  });

  it('detects a truncated entry and an entry with bytes appended', async () => {
    const cache = await connected({ encryptionKey: keyA });
    await cache.wrap('diag', ['p-4'], async () => secret('p-4'));
    await allWritesLanded();
    const [key] = await entryKeys();
    const original = await rawGet(key!);
    const fn = counted(secret);
    for (const bad of [original.subarray(0, original.length - 1), Buffer.concat([original, Buffer.from([0])])]) {
      await adminClient().set(key!, bad);
      expect(await (await connected({ encryptionKey: keyA })).wrap('diag', ['p-4'], () => fn('p-4'))).to.deep.equal(
        secret('p-4'),
      );
      await allWritesLanded();
    }
    expect(fn.calls).to.equal(2);
  });
});
