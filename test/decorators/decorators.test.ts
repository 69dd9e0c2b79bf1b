/**
 * The decorator suite. `npm test` runs this file twice: in TC39 standard mode (tsconfig.json) and in
 * legacy `experimentalDecorators` mode (test/tsconfig.legacy.json); the title says which mode ran.
 */
import 'reflect-metadata';
import { expect } from 'chai';
import {
  CachedModel,
  CachedPrediction,
  Invalidates,
  UseCache,
  getCachedMethods,
  DecoratorError,
} from '../../src/index.js';
import { newCache, sleep, writesLanded } from '../helpers.js';
import { consoleWarnings } from './console.js';
import { adminClient } from '../setup/root-hooks.js';
import type { Cache } from '../../src/index.js';

let seenMode: 'standard' | 'legacy' | undefined;
function probe(...args: unknown[]) {
  seenMode = typeof args[1] === 'object' && args[1] !== null && 'kind' in args[1] ? 'standard' : 'legacy';
  return undefined as any;
}
class ModeProbe {
  @probe
  m() {}
}
void ModeProbe;
const expected = process.env.TSX_TSCONFIG_PATH?.includes('legacy') ? 'legacy' : 'standard';

describe(`decorators (${expected} mode)`, () => {
  let cache: Cache;
  beforeEach(() => {
    cache = newCache({ ttl: { price: '5m' } });
  });

  it(`runs in ${expected} decorator mode`, () => {
    expect(seenMode).to.equal(expected);
  });

  function makeService(c: Cache) {
    @UseCache(c)
    class PricingService {
      calls = 0;
      factor = 2;
      @CachedPrediction({ kind: 'price', tags: (input: { region: string }) => [`region:${input.region}`] })
      async predict(input: { region: string; sqm: number }): Promise<{ price: number; at: Date }> {
        this.calls++;
        await sleep(5);
        return { price: input.sqm * 1000 * this.factor, at: new Date(1) };
      }

      @CachedModel({ name: 'price-model' })
      async loadModel(region: string): Promise<{ region: string; weights: Float32Array }> {
        this.calls++;
        return { region, weights: new Float32Array([1, 2]) };
      }

      @CachedPrediction({ kind: 'price-failure', key: (id: string) => id })
      async failure(id: string): Promise<number> {
        this.calls++;
        return id.length;
      }

      @Invalidates({ kinds: ['price'] })
      async retrain(fail = false): Promise<string> {
        if (fail) throw new Error('retrain failed');
        this.factor = 3;
        return 'ok';
      }

      @Invalidates({ tags: (region: string) => [`region:${region}`] })
      async updateRegion(_region: string): Promise<void> {}
    }
    return PricingService;
  }

  it('caches a method, keeps `this`, the method name and the result types', async () => {
    const Service = makeService(cache);
    const a = new Service();
    const first = await a.predict({ region: 'eu', sqm: 80 });
    const second = await a.predict({ sqm: 80, region: 'eu' });
    expect(second).to.deep.equal(first);
    expect(second.at).to.be.instanceOf(Date);
    expect(a.calls).to.equal(1);
    expect(a.predict.name).to.equal('predict');
    const b = new Service();
    await b.predict({ region: 'eu', sqm: 80 });
    expect(b.calls).to.equal(0); // the cache is shared by all instances
  });

  it('uses explicit ids as readable keys', async () => {
    const s = new (makeService(cache))();
    await s.failure('CHG_001');
    expect(await adminClient().exists('infercache:price-failure:v1:CHG_001')).to.equal(1);
  });

  it('@CachedModel keeps the model in the in-process tier', async () => {
    const s = new (makeService(cache))();
    const m1 = await s.loadModel('eu');
    const m2 = await s.loadModel('eu');
    expect(m2).to.equal(m1); // same object: served from memory
    expect(s.calls).to.equal(1);
    expect(m2.weights).to.be.instanceOf(Float32Array);
  });

  it('@Invalidates drops the kind after the method succeeds and never when it throws', async () => {
    const s = new (makeService(cache))();
    await s.predict({ region: 'eu', sqm: 10 });
    await s.retrain(true).catch(() => {});
    expect((await s.predict({ region: 'eu', sqm: 10 })).price).to.equal(20_000);
    expect(s.calls).to.equal(1);
    await s.retrain();
    expect((await s.predict({ region: 'eu', sqm: 10 })).price).to.equal(30_000);
    expect(s.calls).to.equal(2);
  });

  it('@Invalidates with tags drops the tagged entries only', async () => {
    const s = new (makeService(cache))();
    await s.predict({ region: 'eu', sqm: 1 });
    await s.predict({ region: 'us', sqm: 1 });
    await s.updateRegion('eu');
    await s.predict({ region: 'eu', sqm: 1 });
    await s.predict({ region: 'us', sqm: 1 });
    expect(s.calls).to.equal(3);
  });

  it('@Invalidates with before: true invalidates before the method runs, even if it throws', async () => {
    let sawCached: unknown = 'not called';
    class S {
      @CachedPrediction({ cache, kind: 'price', key: () => 'p' })
      async price(): Promise<number> {
        return 1;
      }
      @Invalidates({ kinds: ['price'], before: true, cache })
      async reprice(): Promise<void> {
        sawCached = await cache.get('price', 'p');
        throw new Error('failed after invalidating');
      }
    }
    const s = new S();
    await s.price();
    await writesLanded(cache);
    expect(await cache.get('price', 'p')).to.equal(1);
    await s.reprice().catch(() => {});
    expect(sawCached).to.equal(undefined);
  });

  it('runs the method uncached when no cache is configured', async () => {
    class Lonely {
      calls = 0;
      @CachedPrediction({ cache: undefined })
      async go(): Promise<number> {
        return ++this.calls;
      }
    }
    const l = new Lonely();
    // No default cache: the test caches are created with setDefault: false.
    const warned = await consoleWarnings(async () => {
      expect(await l.go()).to.equal(1);
      expect(await l.go()).to.equal(2);
    });
    expect(warned).to.have.length(1);
    expect(warned[0]).to.include('Lonely.go runs uncached').and.include('createCache()');
  });

  it('picks the cache from the decorator option over the default', async () => {
    const other = newCache({ namespace: 'other' });
    class S {
      @CachedPrediction({ cache: other, key: () => 'fixed' })
      async go(): Promise<number> {
        return 7;
      }
    }
    await new S().go();
    expect(await adminClient().exists('other:prediction:v1:S.go#fixed')).to.equal(1);
  });

  it('rejects static members with a clear TypeError', () => {
    expect(() => {
      class S {
        @CachedPrediction()
        static async go(): Promise<number> {
          return 1;
        }
      }
      return S;
    }).to.throw(DecoratorError, /static/);
  });

  it('rejects a method that does not return a Promise with a TypeError naming it, instead of changing its result', async () => {
    const loose = CachedPrediction({ cache }) as any;
    const looseInvalidates = Invalidates({ cache, kinds: ['prediction'] }) as any;
    class Loose {
      @loose
      go(): number {
        return 1;
      }
      @looseInvalidates
      update(): number {
        return 2;
      }
    }
    for (const call of [() => new Loose().go(), () => new Loose().update()]) {
      const error = await Promise.resolve()
        .then(call)
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(error).to.be.instanceOf(DecoratorError);
      expect(error!.message).to.match(/Loose\.(go|update): the method must return a Promise/);
    }
  });

  it('rejects bad options at class definition, naming the option', () => {
    expect(() => CachedPrediction({ ttl: '5 minutes' })).to.throw(TypeError, /ttl/);
    expect(() => Invalidates({})).to.throw(TypeError, /Invalidates/);
  });

  it('records the options for introspection', () => {
    const Service = makeService(cache);
    const methods = getCachedMethods(Service);
    if (expected === 'legacy' || (Symbol as { metadata?: symbol }).metadata) {
      expect(Object.keys(methods)).to.include.members(['predict', 'loadModel']);
    }
  });
});
