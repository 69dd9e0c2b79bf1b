/** Empty keys through `wrap` and decorators (integration: a cache on the test Redis). Unit tests: keys.test.ts. */
import { atSite } from '../src/site.js';
import { expect } from 'chai';
import { UnkeyableError } from '../src/errors.js';
import { hashArgs } from '../src/keys.js';
import { CachedPrediction } from '../src/index.js';
import { counted, newCache, warnings, writesLanded } from './helpers.js';

describe('empty keys through wrap', () => {
  it('bypasses every call whose key is empty, counts it, and warns once naming the kind and the reason', async () => {
    const cache = newCache();
    const fn = counted((n: number) => n);
    const keyOf = (upload: { sha?: string }) => upload.sha;
    expect(await cache.wrap('scan', keyOf({}), () => fn(4))).to.equal(4);
    expect(await cache.wrap('scan', keyOf({}), () => fn(10))).to.equal(10); // not the first upload's answer
    expect(await cache.wrap('scan', null, () => fn(1))).to.equal(1);
    expect(fn.calls).to.equal(3);
    expect(cache.stats().bypasses).to.equal(3);
    const warned = warnings.filter((w) => w.includes('cannot be keyed'));
    expect(warned).to.have.length(1);
    expect(warned[0]).to.include("kind 'scan'").and.include('the key is empty');
  });

  it('warns once per method or route, named by their site', async () => {
    const cache = newCache();
    await cache.wrap('scan', '', async () => 1, atSite({}, 'Scanner.scan'));
    await cache.wrap('scan', NaN, async () => 1, atSite({}, 'Scanner.scan'));
    await cache.wrap('scan', '', async () => 1, atSite({}, 'Scanner.rescan'));
    const warned = warnings.filter((w) => w.includes('cannot be keyed'));
    expect(warned).to.have.length(2);
    expect(warned[0]).to.include('Scanner.scan');
    expect(warned[1]).to.include('Scanner.rescan');
  });

  it("bypasses every call whose composite key has only missing fields: a 10-byte upload never gets the 4-byte one's answer", async () => {
    const cache = newCache();
    const fn = counted((n: number) => n);
    const keyOf = (upload: { tenant?: string; sha?: string }) => ({ tenant: upload.tenant, sha: upload.sha });
    expect(await cache.wrap('scan', keyOf({}), () => fn(4))).to.equal(4);
    expect(await cache.wrap('scan', keyOf({}), () => fn(10))).to.equal(10);
    expect(await cache.wrap('scan', [undefined, ''], () => fn(1))).to.equal(1);
    expect(fn.calls).to.equal(3);
    expect(cache.stats().bypasses).to.equal(3);
    const warned = warnings.filter((w) => w.includes('cannot be keyed'));
    expect(warned).to.have.length(1);
    expect(warned[0]).to.include('the key is empty (an object without a non-empty value)');
    // one field present: keyed
    expect(await cache.wrap('scan', keyOf({ sha: 'abc' }), () => fn(4))).to.equal(4);
    expect(await cache.wrap('scan', keyOf({ sha: 'abc' }), () => fn(10))).to.equal(4);
  });

  it('bypasses a decorated method whose composite key has only missing fields', async () => {
    const cache = newCache();
    class Scanner {
      calls = 0;
      @CachedPrediction({ cache, key: (a: { user?: string; sha?: string }) => [a.user, a.sha] })
      async scan(a: { user?: string; sha?: string; bytes: number }): Promise<number> {
        this.calls++;
        return a.bytes;
      }
    }
    const scanner = new Scanner();
    expect(await scanner.scan({ bytes: 4 })).to.equal(4);
    expect(await scanner.scan({ bytes: 10 })).to.equal(10);
    expect(scanner.calls).to.equal(2);
    expect(cache.stats().bypasses).to.equal(2);
    expect(warnings.filter((w) => w.includes('Scanner.scan') && w.includes('the key is empty'))).to.have.length(1);
    expect(await scanner.scan({ sha: 's', bytes: 4 })).to.equal(4);
    expect(await scanner.scan({ sha: 's', bytes: 10 })).to.equal(4);
  });

  it('throws UnkeyableError for an empty key in strict mode, without running the function', async () => {
    const cache = newCache({ strict: true });
    const fn = counted(() => 1);
    const error = await cache.wrap('scan', undefined, fn).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(UnkeyableError);
    expect(fn.calls).to.equal(0);
  });
});

describe('explicit ids through wrap', () => {
  it("an id shaped like another call's hashed key gets its own entry, not that call's", async () => {
    const cache = newCache();
    const args = { prompt: 'hello', temperature: 0 };
    expect(await cache.wrap('llm', args, async () => 'for the arguments')).to.equal('for the arguments');
    await writesLanded(cache);
    const fn = counted(() => 'for the id');
    // the id is exactly the hash under which the arguments' entry is stored
    expect(await cache.wrap('llm', hashArgs(args), fn)).to.equal('for the id');
    expect(fn.calls).to.equal(1);
    expect(await cache.wrap('llm', args, async () => 'recomputed')).to.equal('for the arguments');
  });
});
