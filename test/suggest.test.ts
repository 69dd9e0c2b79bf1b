import { expect } from 'chai';
import { didYouMean } from '../src/suggest.js';

describe('didYouMean', () => {
  const known = ['kind', 'ttl', 'key', 'tags', 'methods', 'staleWhileRevalidate', 'allowNoCache'];

  it('suggests the nearest known name for a typo, a swap, a missing letter or another case', () => {
    expect(didYouMean('ttll', known)).to.equal("; did you mean 'ttl'?");
    expect(didYouMean('tll', known)).to.equal("; did you mean 'ttl'?");
    expect(didYouMean('kidn', known)).to.equal("; did you mean 'kind'?");
    expect(didYouMean('method', known)).to.equal("; did you mean 'methods'?");
    expect(didYouMean('allownocache', known)).to.equal("; did you mean 'allowNoCache'?");
    expect(didYouMean('staleWhileRevalidat', new Set(known))).to.equal("; did you mean 'staleWhileRevalidate'?");
  });

  it('suggests nothing when no known name is close', () => {
    expect(didYouMean('expiry', known)).to.equal('');
    expect(didYouMean('x', known)).to.equal('');
    expect(didYouMean('ttl', [])).to.equal('');
  });
});
