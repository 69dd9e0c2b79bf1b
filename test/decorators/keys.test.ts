/**
 * Keys of decorated methods: a custom key is scoped to its method unless the method has its own kind, an explicit
 * kind has one owner, and an empty key bypasses. Runs in both decorator modes (see decorators.test.ts).
 */
import 'reflect-metadata';
import { expect } from 'chai';
import { CachedModel, CachedPrediction, ConfigError, UnkeyableError } from '../../src/index.js';
import { newCache, sleep, warnings } from '../helpers.js';
import { adminClient } from '../setup/root-hooks.js';
import type { Cache } from '../../src/index.js';

const mode = process.env.TSX_TSCONFIG_PATH?.includes('legacy') ? 'legacy' : 'standard';

/** Waits until Redis holds `count` keys matching `pattern` (writes complete after the call returns), then lists them. */
async function keysOnceWritten(pattern: string, count: number): Promise<string[]> {
  for (let i = 0; i < 400; i++) {
    const keys = await adminClient().keys(pattern);
    if (keys.length >= count) return keys.sort();
    await sleep(5);
  }
  return (await adminClient().keys(pattern)).sort();
}

interface Risk {
  risk: number;
}
interface Maintenance {
  nextVisit: string;
}

describe(`decorators (${mode} mode): keys`, () => {
  let cache: Cache;
  beforeEach(() => {
    cache = newCache();
  });

  function chargerService(c: Cache) {
    class ChargerService {
      calls = 0;
      @CachedPrediction({ cache: c, key: (id) => id })
      async failureRisk(id: string): Promise<Risk> {
        this.calls++;
        return { risk: id.length / 100 };
      }

      @CachedPrediction({ cache: c, key: (id) => id })
      async nextMaintenance(id: string): Promise<Maintenance> {
        this.calls++;
        return { nextVisit: `2026-12-${id.length}` };
      }

      @CachedPrediction({ cache: c, key: (id) => ({ id }) })
      async anomalies(id: string): Promise<string[]> {
        this.calls++;
        return [`anomaly of ${id}`];
      }

      @CachedPrediction({ cache: c, key: (id) => ({ id }) })
      async alerts(id: string): Promise<number> {
        this.calls++;
        return id.length;
      }
    }
    return ChargerService;
  }

  it("never returns one method's result from another method with the same custom key and the default kind", async () => {
    const s = new (chargerService(cache))();
    expect(await s.failureRisk('CHG_001')).to.deep.equal({ risk: 0.07 });
    expect(await s.nextMaintenance('CHG_001')).to.deep.equal({ nextVisit: '2026-12-7' });
    expect(await s.anomalies('CHG_001')).to.deep.equal(['anomaly of CHG_001']);
    expect(await s.alerts('CHG_001')).to.equal(7);
    expect(s.calls).to.equal(4);
    expect(await s.nextMaintenance('CHG_001')).to.deep.equal({ nextVisit: '2026-12-7' });
    expect(s.calls).to.equal(4); // each method still hits its own entry
  });

  it('scopes readable ids to their method under the default kind, and keeps them as they are under an explicit kind', async () => {
    const s = new (chargerService(cache))();
    await s.failureRisk('CHG_001');
    await s.nextMaintenance('CHG_001');
    expect(await keysOnceWritten('infercache:prediction:v1:*', 2)).to.deep.equal([
      'infercache:prediction:v1:ChargerService.failureRisk#CHG_001',
      'infercache:prediction:v1:ChargerService.nextMaintenance#CHG_001',
    ]);

    const own = newCache({ namespace: 'prediction' });
    class OwnNamespacePredictions {
      @CachedPrediction({ cache: own, kind: 'keys-failure', key: (id) => id })
      async failure(id: string): Promise<Risk> {
        return { risk: id.length };
      }
    }
    await new OwnNamespacePredictions().failure('CHG_001');
    expect(await keysOnceWritten('prediction:keys-failure:*', 1)).to.deep.equal(['prediction:keys-failure:v1:CHG_001']);

    class Models {
      @CachedModel({ cache, name: 'keys-price-model', key: (region) => region })
      async load(region: string): Promise<{ region: string }> {
        return { region };
      }
    }
    await new Models().load('eu');
    expect(await keysOnceWritten('infercache:model:v1:*', 1)).to.deep.equal([
      'infercache:model:v1:keys-price-model#eu',
    ]);
  });

  it('refuses a second method claiming an explicit kind with a custom key, naming both owners and the fixes', () => {
    class FailureModel {
      @CachedPrediction({ cache, kind: 'keys-claimed', key: (id) => id })
      async risk(id: string): Promise<number> {
        return id.length;
      }
    }
    new FailureModel();
    let error: unknown;
    try {
      class MaintenanceModel {
        @CachedPrediction({ cache, kind: 'keys-claimed', key: (id) => id })
        async risk(id: string): Promise<number> {
          return -id.length;
        }
      }
      new MaintenanceModel();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).to.include('FailureModel.risk').and.include('MaintenanceModel.risk');
    expect(message).to.include("kind 'keys-claimed'").and.include('distinct kind').and.include('same `name`');
    expect((error as ConfigError).setting).to.equal('@CachedPrediction(MaintenanceModel.risk).kind');
  });

  it(`reports a claimed kind ${mode === 'legacy' ? 'when the class is defined' : 'when its first instance is created'}`, () => {
    class First {
      @CachedPrediction({ cache, kind: 'keys-claimed-early', key: (id) => id })
      async m(id: string): Promise<number> {
        return id.length;
      }
    }
    new First();
    const define = () => {
      class Second {
        @CachedPrediction({ cache, kind: 'keys-claimed-early', key: (id) => id })
        async m(id: string): Promise<number> {
          return id.length;
        }
      }
      return Second;
    };
    if (mode === 'legacy') expect(define).to.throw(ConfigError, /First\.m/);
    else {
      // A standard method decorator does not see its class: the class name is known once an instance exists.
      const Second = define();
      expect(() => new Second()).to.throw(ConfigError, /First\.m/);
    }
  });

  it('lets the same class be defined again with its explicit kind (a module reloaded, a test defining it twice)', async () => {
    const define = () => {
      class Reloaded {
        @CachedPrediction({ cache, kind: 'keys-reloaded', key: (id) => id })
        async m(id: string): Promise<number> {
          return id.length;
        }
      }
      return Reloaded;
    };
    const first = new (define())();
    const second = new (define())();
    expect(await first.m('abc')).to.equal(3);
    expect(await second.m('abc')).to.equal(3);
  });

  it('shares entries between methods given the same name, under the default kind or an explicit one', async () => {
    let calls = 0;
    class Fleet {
      @CachedPrediction({ cache, name: 'keys-shared-risk', key: (id) => id })
      async risk(id: string): Promise<string> {
        calls++;
        return `fleet ${id}`;
      }
      @CachedPrediction({ cache, name: 'keys-shared-kind', kind: 'keys-shared', key: (id) => id })
      async sharedKind(id: string): Promise<string> {
        calls++;
        return `fleet kind ${id}`;
      }
    }
    class Depot {
      @CachedPrediction({ cache, name: 'keys-shared-risk', key: (id) => id })
      async failureRisk(id: string): Promise<string> {
        calls++;
        return `depot ${id}`;
      }
      @CachedPrediction({ cache, name: 'keys-shared-kind', kind: 'keys-shared', key: (id) => id })
      async sharedKind(id: string): Promise<string> {
        calls++;
        return `depot kind ${id}`;
      }
    }
    const fleet = new Fleet();
    const depot = new Depot();
    expect(await fleet.risk('CHG_001')).to.equal('fleet CHG_001');
    expect(await fleet.sharedKind('CHG_001')).to.equal('fleet kind CHG_001');
    await keysOnceWritten('infercache:prediction:v1:*', 1);
    await keysOnceWritten('infercache:keys-shared:v1:*', 1);
    expect(await depot.failureRisk('CHG_001')).to.equal('fleet CHG_001');
    expect(await depot.sharedKind('CHG_001')).to.equal('fleet kind CHG_001');
    expect(calls).to.equal(2);
    expect(await adminClient().exists('infercache:prediction:v1:keys-shared-risk#CHG_001')).to.equal(1);
  });

  describe('owner names', () => {
    it('refuses two same-named classes in different modules whose methods differ, naming the owner and the fix', async () => {
      // Each fixture declares `export class ModuleService { @CachedPrediction() async predict(x) }`, returning
      // 'billing …' or 'weather …': with one owner name `ModuleService.predict`, one would answer with the other's result.
      let error: unknown;
      try {
        const billing = await import('./fixtures/billing.js');
        new billing.ModuleService(); // standard mode: the class name is known once an instance exists
        const weather = await import('./fixtures/weather.js'); // legacy mode: throws when the class is defined
        new weather.ModuleService();
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).to.include("owner name 'ModuleService.predict'").and.include('two different methods');
      expect(message).to.include('distinct `name`');
      expect((error as ConfigError).setting).to.equal('@CachedPrediction(ModuleService.predict).name');
    });

    it(`reports a second method with the same owner name ${mode === 'legacy' ? 'when its class is defined' : 'when its first instance is created'}`, () => {
      const first = () => {
        class Twin {
          @CachedPrediction({ cache })
          async m(x: number): Promise<number> {
            return x + 1;
          }
        }
        return Twin;
      };
      const second = () => {
        class Twin {
          @CachedPrediction({ cache })
          async m(x: number): Promise<number> {
            return x - 1;
          }
        }
        return Twin;
      };
      new (first())();
      if (mode === 'legacy') expect(second).to.throw(ConfigError, /'Twin\.m'/);
      else {
        const Twin = second();
        expect(() => new Twin()).to.throw(ConfigError, /'Twin\.m'/);
      }
    });

    it('lets the same class be defined again with the default owner name (a module reloaded)', async () => {
      let calls = 0;
      const define = () => {
        class Redefined {
          @CachedPrediction({ cache })
          async m(x: number): Promise<number> {
            calls++;
            return x * 2;
          }
        }
        return Redefined;
      };
      const first = new (define())();
      const second = new (define())();
      expect(await first.m(2)).to.equal(4);
      await keysOnceWritten('infercache:prediction:v1:*', 1);
      expect(await second.m(2)).to.equal(4);
      expect(calls).to.equal(1);
    });

    it('lets methods with different code share an explicit name on purpose', async () => {
      const define = (answer: string) => {
        class Named {
          @CachedPrediction({ cache, name: 'keys-owner-shared' })
          async m(x: number): Promise<string> {
            return `${answer} ${x}`;
          }
        }
        return Named;
      };
      class Named {
        @CachedPrediction({ cache, name: 'keys-owner-shared' })
        async m(x: number): Promise<string> {
          return `other ${x}`;
        }
      }
      const first = new (define('first'))();
      expect(await first.m(1)).to.equal('first 1');
      await keysOnceWritten('infercache:prediction:v1:*', 1);
      expect(await new Named().m(1)).to.equal('first 1');
    });
  });

  it('rejects a bad name or key at class definition with a ConfigError naming the option', () => {
    for (const name of ['', 'a#b', 'with space', 'x'.repeat(65)]) {
      expect(() => CachedPrediction({ name }), JSON.stringify(name))
        .to.throw(ConfigError)
        .with.property('setting', '@CachedPrediction.name');
    }
    expect(() => CachedModel({ name: 'a#b' }))
      .to.throw(ConfigError)
      .with.property('setting', '@CachedModel.name');
    expect(() => CachedPrediction({ key: 'id' as never }))
      .to.throw(ConfigError)
      .with.property('setting', '@CachedPrediction.key');
  });

  describe('a key function that returns nothing', () => {
    function uploads(c: Cache, kind?: string) {
      class Uploads {
        calls = 0;
        @CachedPrediction({ cache: c, kind, key: (upload) => upload.sha })
        async scan(upload: { sha?: string; bytes: number }): Promise<number> {
          this.calls++;
          return upload.bytes;
        }
      }
      return Uploads;
    }

    for (const kind of [undefined, 'keys-scan']) {
      it(`bypasses the cache for such calls and warns once naming the method (${kind ? 'explicit kind' : 'default kind'})`, async () => {
        const s = new (uploads(cache, kind))();
        expect(await s.scan({ bytes: 4 })).to.equal(4);
        expect(await s.scan({ bytes: 10 })).to.equal(10); // not the 4-byte upload's answer
        expect(await s.scan({ bytes: 10 })).to.equal(10);
        expect(s.calls).to.equal(3);
        expect(cache.stats().bypasses).to.equal(3);
        const warned = warnings.filter((w) => w.includes('cannot be keyed'));
        expect(warned).to.have.length(1);
        expect(warned[0]).to.include('Uploads.scan').and.include('the key is empty');
      });
    }

    it('throws UnkeyableError with strict: true', async () => {
      const s = new (uploads(newCache({ strict: true })))();
      const error = await s.scan({ bytes: 4 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(UnkeyableError);
      expect(s.calls).to.equal(0);
    });
  });
});
