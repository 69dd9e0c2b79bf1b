import { expect } from 'chai';
import fc from 'fast-check';
import { HotKeys, keyLabel } from '../../src/fleet/hotkeys.js';
import { hashArgs } from '../../src/keys.js';

/** The table as it was first written: a scan of the whole table for the least counted key on every replacement. */
function scanned(size: number, touches: Array<[string, string]>): Map<string, Map<string, number>> {
  const kinds = new Map<string, Map<string, number>>();
  for (const [kind, key] of touches) {
    let table = kinds.get(kind);
    if (!table) kinds.set(kind, (table = new Map()));
    const label = keyLabel(key, undefined);
    const count = table.get(label);
    if (count !== undefined) table.set(label, count + 1);
    else if (table.size < size) table.set(label, 1);
    else {
      let min = Infinity;
      let victim = '';
      for (const [k, n] of table) if (n < min) [min, victim] = [n, k];
      table.delete(victim);
      table.set(label, min + 1);
    }
  }
  return kinds;
}

describe('fleet: hot keys (space-saving table)', () => {
  it('keeps what a scan of the whole table per replacement keeps: the same keys, counts and order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 20 }).map(String)), { maxLength: 400 }),
        (size, touches) => {
          const hot = new HotKeys(size, 1);
          for (const [kind, key] of touches)
            hot.touch(kind, `ns:${kind}:v1:${key}`, `ns:${kind}:v1:`.length, undefined);
          const expected = scanned(size, touches);
          const taken = hot.take();
          expect([...taken.keys()]).to.deep.equal([...expected.keys()]);
          for (const [kind, table] of expected) expect([...taken.get(kind)!]).to.deep.equal([...table]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('labels hashed keys by the method or route that made them, when taken', () => {
    const hot = new HotKeys(4, 8);
    const [a, b] = [hashArgs({ area: 80 }), hashArgs({ area: 90 })];
    hot.touch('price', `ns:price:v1:${a}`, 'ns:price:v1:'.length, 'PriceService.predict');
    hot.touch('price', `ns:price:v1:${a}`, 'ns:price:v1:'.length, 'PriceService.predict');
    hot.touch('price', `ns:price:v1:${b}`, 'ns:price:v1:'.length, undefined);
    hot.touch('price', 'ns:price:v1:CHG_001', 'ns:price:v1:'.length, 'PriceService.predict');
    expect([...hot.take().get('price')!]).to.deep.equal([
      [`PriceService.predict #${a.slice(0, 8)}`, 16],
      [`wrap #${b.slice(0, 8)}`, 8],
      ['CHG_001', 8],
    ]);
  });

  it('replaces the least counted key with a key counted once more, and starts over after take', () => {
    const hot = new HotKeys(2, 8);
    const touch = (key: string) => hot.touch('k', `ns:k:v1:${key}`, 'ns:k:v1:'.length, undefined);
    for (const key of ['a', 'a', 'b', 'c']) touch(key);
    expect([...hot.take().get('k')!]).to.deep.equal([
      ['a', 16],
      ['c', 16],
    ]);
    touch('d');
    expect([...hot.take().get('k')!]).to.deep.equal([['d', 8]]);
  });
});
