/**
 * Which cache a decorated method finds: a warning when there is none, and one default cache shared by every copy of
 * infercache loaded in the process (ESM and CommonJS). Runs in both decorator modes (see decorators.test.ts).
 */
import 'reflect-metadata';
import { expect } from 'chai';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CachedPrediction, Invalidates, getDefaultCache } from '../../src/index.js';
import * as defaults from '../../src/default-cache.js';
import { counted, newCache } from '../helpers.js';
import { consoleWarnings } from './console.js';

/**
 * A second instance of the module that keeps the default cache, with its own module state, as an app that loads both
 * the ESM and the CommonJS build of infercache has. The module cache is restored afterwards.
 */
function freshDefaults(): typeof defaults {
  const load = createRequire(path.join(process.cwd(), 'test', 'decorators', 'registry.test.ts'));
  const file = load.resolve('../../src/default-cache.ts');
  const cached = load.cache[file];
  delete load.cache[file];
  try {
    return load(file) as typeof defaults;
  } finally {
    if (cached) load.cache[file] = cached;
    else delete load.cache[file];
  }
}

const mode = process.env.TSX_TSCONFIG_PATH?.includes('legacy') ? 'legacy' : 'standard';

describe(`decorators (${mode} mode): the cache they use`, () => {
  it('warns once per class when its decorated methods run with no cache, naming the fixes', async () => {
    // The test caches are made with setDefault: false, so there is no default cache here.
    expect(getDefaultCache()).to.equal(undefined);
    class UncachedChargers {
      @CachedPrediction({ key: (id) => id })
      async failureRisk(id: string): Promise<number> {
        return id.length;
      }
      @CachedPrediction()
      async nextMaintenance(id: string): Promise<string> {
        return id;
      }
      @Invalidates({ kinds: ['prediction'] })
      async retrain(): Promise<void> {}
    }
    class Retrainer {
      @Invalidates({ kinds: ['prediction'] })
      async retrain(): Promise<void> {}
    }
    const s = new UncachedChargers();
    const warned = await consoleWarnings(async () => {
      expect(await s.failureRisk('CHG_001')).to.equal(7);
      expect(await s.failureRisk('CHG_001')).to.equal(7);
      expect(await s.nextMaintenance('CHG_001')).to.equal('CHG_001');
      await s.retrain();
      await new Retrainer().retrain();
      await new Retrainer().retrain();
    });
    expect(warned).to.have.length(2);
    expect(warned[0]).to.include(
      '@CachedPrediction on UncachedChargers.failureRisk runs uncached: no cache was created',
    );
    expect(warned[0])
      .to.include('createCache()')
      .and.include('`cache`')
      .and.include('@UseCache(cache) on UncachedChargers');
    expect(warned[0]).to.include('another copy of infercache').and.include('import one format');
    expect(warned[1]).to.include('@Invalidates on Retrainer.retrain invalidates nothing');
  });

  it('says nothing when the method has a cache', async () => {
    const cache = newCache();
    class Quiet {
      @CachedPrediction({ cache })
      async m(): Promise<number> {
        return 1;
      }
    }
    expect(await consoleWarnings(() => new Quiet().m())).to.deep.equal([]);
  });

  it('shares the default cache with another copy of infercache loaded in the same process', async () => {
    const copy = freshDefaults();
    expect(copy.setDefaultCache).not.to.equal(defaults.setDefaultCache);
    const cache = newCache();
    copy.setDefaultCache(cache);
    try {
      expect(getDefaultCache()).to.equal(cache);
      const compute = counted((id: string) => id.length);
      class Shared {
        @CachedPrediction({ key: (id) => id })
        async m(id: string): Promise<number> {
          return compute(id);
        }
      }
      const s = new Shared();
      await s.m('abc');
      expect(await s.m('abc')).to.equal(3);
      expect(compute.calls).to.equal(1);
      const other = newCache();
      defaults.setDefaultCache(other, true);
      expect(copy.getDefaultCache()).to.equal(other);
    } finally {
      copy.clearDefaultCache(cache);
      defaults.clearDefaultCache(getDefaultCache()!);
    }
    expect(getDefaultCache()).to.equal(undefined);
  });
});
