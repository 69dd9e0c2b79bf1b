import { expect } from 'chai';
import { Entries } from '../src/entries.js';
import { ConfigError } from '../src/errors.js';
import { createCache } from '../src/index.js';

describe('entry options memo (inline options resolved once per shape)', () => {
  it('resolves inline options of one shape once, and keeps the resolution of each shape apart', () => {
    const entries = new Entries();
    const first = entries.get('p', { ttl: 5, memory: true });
    expect(entries.get('p', { ttl: 5, memory: true })).to.equal(first);
    const longer = entries.get('p', { ttl: 50, memory: true });
    const noMemory = entries.get('p', { ttl: 5, memory: false });
    expect(longer).to.not.equal(first);
    expect(longer.ttl).to.equal(50);
    expect(noMemory.memory).to.equal(false);
    expect(first.memory).to.equal(true);
    expect(entries.get('p', { ttl: 5, memory: true })).to.equal(first);
  });

  it('tells shapes apart by kind, by options.kind and by field order', () => {
    const entries = new Entries();
    expect(entries.get('a', { ttl: 5 }).kind).to.equal('a');
    expect(entries.get('b', { ttl: 5 }).kind).to.equal('b');
    expect(entries.get('a', { kind: 'c', ttl: 5 }).kind).to.equal('c');
    expect(entries.get('a', { memory: true, ttl: 5 }).memory).to.equal(true);
    expect(entries.get('a', { ttl: 5, memory: false }).memory).to.equal(false);
  });

  it('compares functions by identity, so each call gets its own function', () => {
    const entries = new Entries();
    const yes = () => true;
    const no = () => false;
    expect(entries.get('p', { when: yes }).when).to.equal(yes);
    expect(entries.get('p', { when: no }).when).to.equal(no);
    expect(entries.get('p', { when: yes }).when).to.equal(yes);
  });

  it('compares nested options and tags by value, also when one object is changed between calls', () => {
    const entries = new Entries();
    expect(entries.get('p', { memory: { maxEntries: 5 } }).memory).to.include({ maxEntries: 5 });
    expect(entries.get('p', { memory: { maxEntries: 6 } }).memory).to.include({ maxEntries: 6 });
    const bounds = { maxEntries: 7 };
    expect(entries.get('p', { memory: bounds }).memory).to.include({ maxEntries: 7 });
    bounds.maxEntries = 8;
    expect(entries.get('p', { memory: bounds }).memory).to.include({ maxEntries: 8 });
    expect(entries.get('p', { tags: ['a'] }).tags([])).to.deep.equal(['a']);
    expect(entries.get('p', { tags: ['b'] }).tags([])).to.deep.equal(['b']);
    expect(entries.get('p', { tags: ['a', 'b'] }).tags([])).to.deep.equal(['a', 'b']);
  });

  it('shares a shape between calls whose options differ only in args', () => {
    const entries = new Entries();
    const first = entries.get('p', { ttl: 5, args: [1] });
    expect(entries.get('p', { ttl: 5, args: [2] })).to.equal(first);
  });

  it('resolves what a getter answered, even when it answers differently each time', () => {
    const entries = new Entries();
    let reads = 0;
    const flip = () => ({
      get ttl() {
        return ++reads % 2 === 0 ? 10 : 20;
      },
    });
    for (let i = 0; i < 6; i++) {
      const options = flip();
      const entry = entries.get('p', options);
      // each resolution matches one of the values the getter gave (never a value of another shape)
      expect([10, 20]).to.include(entry.ttl);
    }
    const entry = entries.get('p', { ttl: 10 });
    expect(entry.ttl).to.equal(10);
    expect(entries.get('p', { ttl: 20 }).ttl).to.equal(20);
  });

  it('validates invalid inline options on every call (nothing is remembered for them)', () => {
    const entries = new Entries();
    for (let i = 0; i < 2; i++) {
      expect(() => entries.get('p', { ttl: -1 })).to.throw(ConfigError, /ttl/);
    }
  });

  it('keeps serving every shape correctly past the number of shapes remembered', () => {
    const entries = new Entries();
    for (let round = 0; round < 2; round++) {
      for (let ttl = 1; ttl <= 40; ttl++) expect(entries.get('p', { ttl }).ttl).to.equal(ttl);
    }
  });

  it('finds a reused options object by identity, and class instances are never compared by value', () => {
    const entries = new Entries();
    const options = { ttl: 5 };
    const entry = entries.get('p', options);
    expect(entries.get('p', options)).to.equal(entry);
    expect(entries.get('p', options)).to.equal(entry);
    class Options {
      get ttl() {
        return 9;
      }
    }
    expect(entries.get('p', new Options()).ttl).to.equal(9); // an inherited getter is read
  });

  it('serves a memory hit with inline options from the memory tier (wrap)', async () => {
    const cache = createCache({ setDefault: false, logger: false });
    let runs = 0;
    const fn = async () => ++runs;
    expect(await cache.wrap('k', 'id', fn, { memory: true })).to.equal(1);
    expect(await cache.wrap('k', 'id', fn, { memory: true })).to.equal(1);
    expect(await cache.wrap('k', 'id', fn, { memory: true, forceFresh: true })).to.equal(2);
    expect(await cache.wrap('k', 'id', fn, { memory: true })).to.equal(2);
    expect(runs).to.equal(2);
    await cache.close();
  });
});
