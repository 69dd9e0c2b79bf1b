import { expect } from 'chai';
import { atSite } from '../../src/site.js';
import { newCache } from '../helpers.js';
import { adminClient } from '../setup/root-hooks.js';
import { ConfigError, createCache } from '../../src/index.js';

/** A clock the test moves: buckets and windows follow it, not the wall clock. */
function clock(start = 1_800_000_000_000) {
  const c = { now: start, read: () => c.now };
  return c;
}

describe('fleet statistics', () => {
  it('adds the counters of every instance: totals, per kind, bypass reasons, latency and live instances', async () => {
    const t = clock();
    const a = newCache({ namespace: 'fleet1', fleet: { clock: t.read, sample: 1 } });
    const b = newCache({ namespace: 'fleet1', fleet: { clock: t.read, sample: 1 } });
    const compute = async (x: number) => x * 2;
    await a.wrap('price', 'p1', () => compute(1)); // miss
    await a.wrap('price', 'p1', () => compute(1)); // hit
    await b.wrap('price', 'p1', () => compute(1)); // hit (Redis)
    await b.wrap('price', 'p2', () => compute(2)); // miss
    await b.wrap('score', 's1', () => compute(3)); // miss
    a.recordBypass('price', 'authorization');
    expect(await a.flushFleet()).to.equal(true);
    expect(await b.flushFleet()).to.equal(true);
    const fleet = await a.fleetStats({ window: '1m' });
    expect(fleet.instances).to.equal(2);
    expect(fleet.instanceIds).to.have.members([a.fleetId, b.fleetId]);
    expect(fleet.hits).to.equal(2);
    expect(fleet.misses).to.equal(3);
    expect(fleet.bypasses).to.equal(1);
    expect(fleet.bypassReasons).to.deep.equal({ authorization: 1 });
    expect(fleet.kinds.price!.hits).to.equal(2);
    expect(fleet.kinds.price!.misses).to.equal(2);
    expect(fleet.kinds.price!.hitRate).to.equal(0.5);
    expect(fleet.kinds.score!.misses).to.equal(1);
    expect(fleet.latency.hit.count).to.equal(2);
    expect(fleet.latency.miss.count).to.equal(3);
    expect(fleet.series.at(-1)!.hits).to.equal(2);
  });

  it('writes only what was counted since the last write', async () => {
    const t = clock();
    const a = newCache({ namespace: 'fleet2', fleet: { clock: t.read } });
    await a.wrap('k', 'x', async () => 1);
    await a.wrap('k', 'x', async () => 1);
    await a.flushFleet();
    await a.flushFleet();
    t.now += 10_000;
    await a.wrap('k', 'x', async () => 1);
    await a.flushFleet();
    const fleet = await a.fleetStats({ window: '1m' });
    expect(fleet.hits).to.equal(2);
    expect(fleet.misses).to.equal(1);
    expect(fleet.series.map((p) => p.hits).slice(-2)).to.deep.equal([1, 1]);
  });

  it('times one call in `sample` and scales the latency counts back up', async () => {
    const t = clock();
    const a = newCache({ namespace: 'fleet9', fleet: { clock: t.read, sample: 4 } });
    for (let i = 0; i < 8; i++) await a.wrap('k', 'x', async () => 1);
    await a.flushFleet();
    const fleet = await a.fleetStats();
    expect(fleet.hits + fleet.misses).to.equal(8); // counters are exact
    expect(fleet.latency.hit.count + fleet.latency.miss.count).to.equal(8); // 2 timed calls, each standing for 4
  });

  it('counts only the buckets inside the window', async () => {
    const t = clock();
    const a = newCache({ namespace: 'fleet3', fleet: { clock: t.read } });
    await a.wrap('k', 'x', async () => 1);
    await a.flushFleet();
    t.now += 120_000;
    await a.wrap('k', 'y', async () => 1);
    await a.flushFleet();
    expect((await a.fleetStats({ window: '1m' })).misses).to.equal(1);
    expect((await a.fleetStats({ window: '5m' })).misses).to.equal(2);
    expect((await a.fleetStats({ window: '1h' })).misses).to.equal(2);
  });

  it('lets its data age out with the retention', async () => {
    const t = clock();
    const a = newCache({ namespace: 'fleet4', fleet: { clock: t.read, retention: '2m' } });
    await a.wrap('k', 'x', async () => 1);
    await a.flushFleet();
    const keys = await adminClient().keys('fleet4:__fleet:*');
    expect(keys.length).to.be.greaterThan(0);
    for (const key of keys) {
      const ttl = await adminClient().pTTL(key);
      expect(ttl).to.be.within(1, 130_000);
    }
  });

  it('keeps counters Redis refused and writes them with the next write', async () => {
    const t = clock();
    const a = newCache({ namespace: 'fleet5', fleet: { clock: t.read, sample: 1 } });
    const bucket = (Math.floor(t.now / 10_000) * 10_000) / 1000;
    // a real fault: the bucket's key holds a string, so the write gets WRONGTYPE
    await adminClient().set(`fleet5:__fleet:c:${bucket}`, 'not a hash');
    await a.wrap('k', 'x', async () => 1);
    expect(await a.flushFleet()).to.equal(false);
    await adminClient().del(`fleet5:__fleet:c:${bucket}`);
    await a.wrap('k', 'x', async () => 1);
    expect(await a.flushFleet()).to.equal(true);
    const fleet = await a.fleetStats();
    expect(fleet.misses).to.equal(1);
    expect(fleet.hits).to.equal(1);
    expect(fleet.latency.miss.count + fleet.latency.hit.count).to.equal(2);
  });

  it('never slows a call down or throws when Redis is unreachable, and closes at once', async () => {
    const a = createCache({
      redis: { url: 'redis://127.0.0.1:1' },
      setDefault: false,
      logger: false,
      operationTimeout: '50ms',
    });
    expect(await a.wrap('k', 'x', async () => 7)).to.equal(7);
    expect(await a.flushFleet()).to.equal(false);
    await a.close();
  });

  it('writes its last counters on close', async () => {
    const t = clock();
    const a = newCache({ namespace: 'fleet6', fleet: { clock: t.read } });
    const b = newCache({ namespace: 'fleet6', fleet: { clock: t.read } });
    await a.wrap('k', 'x', async () => 1);
    await a.close();
    expect((await b.fleetStats()).misses).to.equal(1);
  });

  it('writes nothing when turned off, and still reads the fleet', async () => {
    const off = newCache({ namespace: 'fleet7', fleet: false });
    const on = newCache({ namespace: 'fleet7' });
    await off.wrap('k', 'x', async () => 1);
    expect(await off.flushFleet()).to.equal(false);
    expect(off.fleetId).to.equal(undefined);
    await on.flushFleet();
    const fleet = await off.fleetStats({ window: '1m' });
    expect(fleet.instances).to.equal(1);
    expect(fleet.misses).to.equal(0);
  });

  it('rejects bad fleet options at creation, naming the setting', () => {
    expect(() => newCache({ fleet: { interval: '1ms' } })).to.throw(ConfigError, /fleet\.interval/);
    expect(() => newCache({ fleet: { retention: 'soon' } })).to.throw(ConfigError, /fleet\.retention/);
    expect(() => newCache({ fleet: { sample: 3 } })).to.throw(ConfigError, /fleet\.sample/);
    expect(() => newCache({ fleet: 'yes' as never })).to.throw(ConfigError, /fleet/);
  });

  it('rejects a bad window, naming it', async () => {
    const a = newCache({ namespace: 'fleet8' });
    let error: unknown;
    await a.fleetStats({ window: 'forever' }).catch((e: unknown) => (error = e));
    expect(error)
      .to.be.instanceOf(ConfigError)
      .with.property('message')
      .that.matches(/window/);
  });
});

describe('hot keys', () => {
  it('merges sampled top keys of every instance, readable ids as they are, hashed keys named by their site', async () => {
    const t = clock();
    const options = { namespace: 'hot1', fleet: { clock: t.read, sample: 1 } };
    const a = newCache(options);
    const b = newCache(options);
    for (let i = 0; i < 5; i++) await a.wrap('price', 'CHG_001', async () => 1);
    for (let i = 0; i < 3; i++) await b.wrap('price', 'CHG_001', async () => 1);
    for (let i = 0; i < 4; i++) await b.wrap('price', 'CHG_002', async () => 1);
    for (let i = 0; i < 2; i++)
      await a.wrap('price', { region: 'eu' }, async () => 1, atSite({}, 'PriceService.predict'));
    await a.flushFleet();
    await b.flushFleet();
    const top = await a.hotKeys('price', 3);
    expect(top[0]).to.deep.equal({ key: 'CHG_001', calls: 8 });
    expect(top[1]).to.deep.equal({ key: 'CHG_002', calls: 4 });
    expect(top[2]!.key).to.match(/^PriceService\.predict #[A-Za-z0-9_-]{8}$/);
    expect(top[2]!.calls).to.equal(2);
    expect(await a.hotKeys('price', 1)).to.have.length(1);
    expect(await a.hotKeys('other', 5)).to.deep.equal([]);
  });

  it('keeps a bounded table per kind', async () => {
    const t = clock();
    const a = newCache({ namespace: 'hot2', fleet: { clock: t.read, sample: 1, hotKeys: { size: 4 } } });
    for (let i = 0; i < 50; i++) await a.wrap('k', `id${i}`, async () => 1);
    for (let i = 0; i < 10; i++) await a.wrap('k', 'hot', async () => 1);
    await a.flushFleet();
    const top = await a.hotKeys('k', 100);
    expect(top.length).to.be.at.most(4);
    expect(top[0]!.key).to.equal('hot');
  });
});
