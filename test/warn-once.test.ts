import { expect } from 'chai';
import { warnOnce } from '../src/warn-once.js';
import type { Logger } from '../src/options.js';
import { createCache } from '../src/index.js';

describe('warnOnce', () => {
  it('logs the first message of each id and drops the later ones', () => {
    const logged: string[] = [];
    const warn = warnOnce(() => ({ warn: (message) => void logged.push(message) }));
    warn('a', 'first a');
    warn('a', 'second a');
    warn('b', () => 'first b');
    let built = 0;
    warn('b', () => `second b ${++built}`);
    expect(logged).to.deep.equal(['first a', 'first b']);
    expect(built, 'a dropped message is not built').to.equal(0);
  });

  it('reads the logger when it warns, and logs nothing without one', () => {
    const logged: string[] = [];
    const current: { logger?: Logger } = {};
    const warn = warnOnce(() => current.logger);
    warn('a', 'without a logger');
    current.logger = { warn: (message) => void logged.push(message) };
    warn('b', 'with a logger');
    warn('a', 'a again');
    expect(logged).to.deep.equal(['with a logger']);
  });

  it('a logger that throws never breaks the call that warns', async () => {
    const cache = createCache({
      setDefault: false,
      logger: {
        warn: () => {
          throw new Error('logger down');
        },
      },
    });
    try {
      // a function cannot be keyed: the call bypasses the cache, with a warning
      expect(await cache.wrap('k', [() => 1], async () => 'computed')).to.equal('computed');
    } finally {
      await cache.close();
    }
  });
});
