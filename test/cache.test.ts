import { expect } from 'chai';
import { atSite } from '../src/site.js';
import { newCache, counted, sleep, warnings, eventually, watchReads } from './helpers.js';
import { adminClient } from './setup/root-hooks.js';
import { CachedError, CachedPrediction } from '../src/index.js';

describe('Cache.wrap', () => {
  it('computes on a miss and serves the stored value on the next call', async () => {
    const cache = newCache();
    const fn = counted((x: number) => ({ doubled: x * 2 }));
    expect(await cache.wrap('prediction', [21], () => fn(21))).to.deep.equal({ doubled: 42 });
    expect(await cache.wrap('prediction', [21], () => fn(21))).to.deep.equal({ doubled: 42 });
    expect(fn.calls).to.equal(1);
    const s = cache.stats();
    expect(s.hits).to.equal(1);
    expect(s.misses).to.equal(1);
    expect(s.kinds.prediction!.hitRate).to.equal(0.5);
  });

  it('stores under {namespace}:{kind}:{version}:{id} for explicit ids', async () => {
    const cache = newCache({ namespace: 'charger', version: 'v1' });
    await cache.wrap('failure', 'CHG_001', async () => 0.3);
    expect(await adminClient().exists('charger:failure:v1:CHG_001')).to.equal(1);
  });

  it('sets the TTL of the kind on the Redis entry', async () => {
    const cache = newCache({ ttl: { prediction: '5m' } });
    await cache.wrap('prediction', 'a', async () => 1);
    const pttl = await adminClient().pTTL('infercache:prediction:v1:a');
    expect(pttl).to.be.within(299_000, 300_000);
  });

  it('returns a value that another instance stored (shared Redis)', async () => {
    const a = newCache();
    const b = newCache();
    await a.wrap('prediction', 'shared', async () => ({ at: new Date(5), n: 7n }));
    const fn = counted(async () => 'recomputed');
    const value = await b.wrap('prediction', 'shared', fn as () => Promise<unknown>);
    expect(value).to.deep.equal({ at: new Date(5), n: 7n });
    expect(fn.calls).to.equal(0);
  });

  it('round-trips Date, BigInt, Map, Set, Buffer, typed arrays, nested undefined and null through Redis', async () => {
    const value = {
      when: new Date('2026-01-02T03:04:05.678Z'),
      big: 12345678901234567890123n,
      map: new Map<unknown, unknown>([
        [1, 'one'],
        ['k', { deep: true }],
      ]),
      set: new Set(['a', 'b']),
      buf: Buffer.from([1, 2, 3]),
      f32: new Float32Array([0.5, -1.25]),
      nothing: undefined,
      empty: null,
      list: [1, undefined, 'x'],
    };
    const writer = newCache();
    await writer.wrap('prediction', 'types', async () => value);
    const reader = newCache();
    const read = await reader.wrap('prediction', 'types', async () => 'miss' as unknown);
    expect(read).to.deep.equal(value);
    expect((read as typeof value).f32).to.be.instanceOf(Float32Array);
    expect(Object.keys(read as object)).to.include('nothing');
    expect(await reader.wrap('prediction', 'null', async () => null)).to.equal(null);
    expect(await newCache().wrap('prediction', 'null', async () => 'miss' as unknown)).to.equal(null);
  });

  it('runs a cold key once for 100 concurrent callers and gives all of them the result', async () => {
    const cache = newCache();
    const fn = counted(() => Math.random(), 30);
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.wrap('prediction', 'cold', fn)));
    expect(fn.calls).to.equal(1);
    expect(new Set(results).size).to.equal(1);
  });

  it('lets a later call join a computation already running, once its own read found nothing', async () => {
    const cache = newCache();
    await cache.connect();
    const watched = watchReads(cache);
    let release!: () => void;
    let began!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const computing = new Promise<void>((resolve) => (began = resolve));
    let runs = 0;
    const fn = async () => {
      runs++;
      began();
      await gate;
      return 'shared';
    };
    const first = cache.wrapDetailed('prediction', 'later', fn);
    await computing; // the first call's read found nothing and its computation runs
    const second = cache.wrapDetailed('prediction', 'later', fn);
    const reads = watched.replies.filter((_, i) => watched.sent[i]!.includes('infercache:prediction:v1:later'));
    expect(reads).to.have.length(2); // the later call reads Redis first...
    await reads[1];
    await new Promise((resolve) => setImmediate(resolve)); // ...finds nothing there, and joins
    release();
    const outcomes = await Promise.all([first, second]);
    expect(runs).to.equal(1);
    expect(outcomes.map((o) => [o.value, o.result])).to.deep.equal([
      ['shared', 'miss'],
      ['shared', 'miss'],
    ]);
    expect(cache.stats().kinds.prediction).to.include({ misses: 2, joined: 1 });
  });

  it('does not let a call made after an invalidation join a computation that began before it', async () => {
    const cache = newCache();
    let release!: () => void;
    let began!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const computing = new Promise<void>((resolve) => (began = resolve));
    const before = cache.wrap('prediction', 'k', async () => {
      began();
      await gate;
      return 'old model';
    });
    await computing; // the computation began before the invalidation, whatever the machine's load
    await cache.invalidateKind('prediction');
    const after = cache.wrap('prediction', 'k', async () => 'new model');
    release();
    expect(await before).to.equal('old model');
    expect(await after).to.equal('new model');
    expect(await cache.wrap('prediction', 'k', async () => 'unexpected')).to.equal('new model');
  });

  it('counts every caller of a shared computation, and the computations the joiners skipped as time saved', async () => {
    const cache = newCache({ costPerCall: { prediction: 0.01 } });
    const fn = counted(() => 'answer', 50);
    await Promise.all(Array.from({ length: 10 }, () => cache.wrap('prediction', 'cold', fn)));
    const s = cache.stats().kinds.prediction!;
    expect(s).to.include({ total: 10, misses: 10, joined: 9, hits: 0 });
    expect(s.timeSavedSeconds).to.be.closeTo(9 * s.computeSeconds, 0.001);
    expect(s.costSaved).to.be.closeTo(9 * 0.01, 1e-9);
  });

  it('counts calls whose computation threw as failures, every caller of a shared one included', async () => {
    const cache = newCache();
    const fn = counted(() => {
      throw new Error('model crashed');
    }, 20);
    await Promise.allSettled(Array.from({ length: 4 }, () => cache.wrap('prediction', 'bad', fn)));
    expect(cache.stats().kinds.prediction).to.include({ total: 4, failures: 4, joined: 3, errors: 0 });
  });

  it('shares an error with every concurrent caller and caches nothing', async () => {
    const cache = newCache();
    const fn = counted(() => {
      throw new Error('model crashed');
    }, 20);
    const settled = await Promise.allSettled(Array.from({ length: 10 }, () => cache.wrap('prediction', 'bad', fn)));
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as Error).message === 'model crashed')).to.equal(
      true,
    );
    expect(fn.calls).to.equal(1);
    expect(await adminClient().exists('infercache:prediction:v1:bad')).to.equal(0);
    const ok = counted(() => 'fine');
    expect(await cache.wrap('prediction', 'bad', ok)).to.equal('fine');
  });

  it('caches errors only when asked, for their own TTL', async () => {
    const cache = newCache();
    const fn = counted(() => {
      throw Object.assign(new Error('not found'), { code: 'E404' });
    });
    const options = { cacheErrors: { ttl: '1s' } };
    await cache.wrap('prediction', 'neg', fn, options).catch(() => {});
    await sleep(20);
    const second = await cache.wrap('prediction', 'neg', fn, options).catch((e: unknown) => e);
    expect(fn.calls).to.equal(1);
    expect(second).to.be.instanceOf(CachedError);
    expect((second as CachedError).message).to.equal('not found');
    expect((second as CachedError).code).to.equal('E404');
    const pttl = await adminClient().pTTL('infercache:prediction:v1:neg');
    expect(pttl).to.be.within(1, 1000);
  });

  it('stores only results accepted by `when`', async () => {
    const cache = newCache();
    const fn = counted((x: number) => x);
    const when = (r: number) => r > 0;
    await cache.wrap('score', 'neg', () => fn(-1), { when });
    await cache.wrap('score', 'neg', () => fn(-1), { when });
    await cache.wrap('score', 'pos', () => fn(1), { when });
    await cache.wrap('score', 'pos', () => fn(1), { when });
    expect(fn.calls).to.equal(3);
  });

  it('serves the stale value while one background refresh runs', async () => {
    const cache = newCache();
    let version = 0;
    const fn = counted(() => ++version, 40);
    // the first value expires after 100 ms; the refreshed one lives a minute, so that a loaded machine still reads it
    // back fresh
    const opts = { ttl: (_args: unknown, value: unknown) => (value === 1 ? 0.1 : 60), staleWhileRevalidate: '5s' };
    expect(await cache.wrap('prediction', 'swr', fn, opts)).to.equal(1);
    await sleep(150); // a lower bound: the first value has expired
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => cache.wrapDetailed('prediction', 'swr', fn, opts)),
    );
    expect(outcomes.map((o) => o.value)).to.deep.equal([1, 1, 1, 1, 1]);
    expect(outcomes.every((o) => o.result === 'stale')).to.equal(true);
    await eventually(async () => (await adminClient().pTTL('infercache:prediction:v1:swr')) > 10_000); // refreshed
    expect(fn.calls).to.equal(2);
    const fresh = await cache.wrapDetailed('prediction', 'swr', fn, opts);
    expect(fresh).to.include({ value: 2, result: 'hit' });
  });

  it('uses a dynamic TTL computed from the arguments and the result', async () => {
    const cache = newCache();
    await cache.wrap('daily', ['stats'], async () => ({ ttl: 42 }), {
      ttl: (_args, result) => (result as { ttl: number }).ttl,
    });
    const pttl = await adminClient().pTTL('infercache:daily:v1:' + (await keyOf(cache)));
    expect(pttl).to.be.within(41_000, 42_000);
  });

  it('does not store entries above maxEntryBytes, counts them and warns once', async () => {
    const cache = newCache({ maxEntryBytes: 1000 });
    const big = 'x'.repeat(5000);
    const fn = counted(() => big + Math.random());
    await cache.wrap('blob', 'a', fn);
    await cache.wrap('blob', 'b', fn);
    expect(await adminClient().keys('infercache:blob:*')).to.deep.equal([]);
    expect(cache.stats().kinds.blob!.oversize).to.equal(2);
    expect(warnings.filter((w) => w.includes('maxEntryBytes'))).to.have.length(1);
  });

  it('bypasses the cache for arguments that cannot be keyed, and warns once', async () => {
    const cache = newCache();
    const fn = counted(() => 'ran');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(await cache.wrap('prediction', [circular], fn)).to.equal('ran');
    expect(await cache.wrap('prediction', [() => 1], fn)).to.equal('ran');
    expect(fn.calls).to.equal(2);
    expect(cache.stats().bypasses).to.equal(2);
    expect(warnings.filter((w) => w.includes('cannot be keyed'))).to.have.length(1);
  });

  it('throws on unkeyable arguments in strict mode', async () => {
    const cache = newCache({ strict: true });
    let error: unknown;
    await cache.wrap('prediction', [() => 1], async () => 1).catch((e: unknown) => (error = e));
    expect((error as { code?: string }).code).to.equal('E_CACHE_UNKEYABLE');
  });

  it('runs everything uncached when disabled', async () => {
    const cache = newCache({ enabled: false });
    const fn = counted(() => 1);
    await cache.wrap('prediction', 'x', fn);
    await cache.wrap('prediction', 'x', fn);
    expect(fn.calls).to.equal(2);
    expect((await cache.health()).status).to.equal('disabled');
  });

  it('keeps values that cannot be serialised in a shared memory tier only', async () => {
    const cache = newCache();
    class InferenceSession {
      run() {
        return 1;
      }
    }
    const fn = counted(() => new InferenceSession());
    const first = await cache.wrap('model', 'onnx', fn, { memory: { shared: true } });
    const second = await cache.wrap('model', 'onnx', fn, { memory: { shared: true } });
    expect(second).to.equal(first);
    expect(fn.calls).to.equal(1);
    expect(await adminClient().keys('infercache:model:*')).to.deep.equal([]);
    expect(cache.stats().unstorable).to.equal(1);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.include('class instance InferenceSession').and.include('kept in memory only');
  });

  it('does not keep values that cannot be serialised in a memory tier that hands out copies', async () => {
    const cache = newCache();
    class InferenceSession {}
    const fn = counted(() => new InferenceSession());
    await cache.wrap('model', 'onnx', fn, { memory: true });
    await cache.wrap('model', 'onnx', fn, { memory: true });
    expect(fn.calls).to.equal(2);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.include('not cached').and.include('memory: { shared: true }');
  });

  it('stores a model through user serialize/deserialize', async () => {
    class Weights {
      constructor(readonly w: number[]) {}
    }
    const options = {
      serialize: (m: Weights) => Buffer.from(JSON.stringify(m.w)),
      deserialize: (b: Buffer) => new Weights(JSON.parse(b.toString()) as number[]),
    };
    await newCache().wrap('model', 'w', async () => new Weights([1, 2]), options);
    const read = await newCache().wrap('model', 'w', async () => new Weights([9]), options);
    expect(read).to.be.instanceOf(Weights);
    expect(read.w).to.deep.equal([1, 2]);
  });

  it('rejects, never throws, for options it refuses, and for a tags function that throws', async () => {
    const cache = newCache();
    let call: Promise<unknown> | undefined;
    expect(() => (call = cache.wrap('prediction', 'x', async () => 1, { ttl: 'soon' as never }))).not.to.throw();
    await expectRejected(call!, /ttl/);
    const tags = () => {
      throw new Error('no tags today');
    };
    expect(() => (call = cache.wrap('prediction', 'x', async () => 1, { tags }))).not.to.throw();
    await expectRejected(call!, /no tags today/);
  });

  it('serves a key again after a call of it failed before reading Redis (its flight ended with it)', async () => {
    const cache = newCache();
    const fn = counted(async () => 'fresh');
    const failing = cache.wrap('prediction', 'k', fn, {
      tags: () => {
        throw new Error('bad tags');
      },
    });
    // started in the same tick as the failing call: it joins that call's flight if it is still running
    const next = cache.wrap('prediction', 'k', fn);
    await expectRejected(failing, /bad tags/);
    expect(await next).to.equal('fresh');
    expect(await cache.wrap('prediction', 'k', fn)).to.equal('fresh');
    expect(fn.calls).to.equal(1);
    expect(cache.stats().hits).to.equal(1);
  });
});

/** Awaits `promise`, which must reject with a message matching `message`. */
async function expectRejected(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => expect.fail('resolved'),
    (e: unknown) => e,
  );
  expect((error as Error).message).to.match(message);
}

describe('results that cannot be stored', () => {
  class Session {}
  const circular = () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  };
  const cases: Array<[string, () => unknown, string]> = [
    ['a class instance', () => ({ model: new Session() }), 'class instance Session'],
    ['a function', () => function score() {}, 'function score'],
    ['a circular object', circular, 'circular reference'],
    ['a symbol', () => [Symbol('s')], 'symbol'],
  ];
  for (const [what, make, reason] of cases) {
    it(`leaves ${what} uncached, counts it as unstorable (not an error) and warns once with the reason`, async () => {
      const cache = newCache();
      const fn = counted(make);
      await cache.wrap('p', 'k', fn);
      await cache.wrap('p', 'k', fn);
      expect(fn.calls).to.equal(2);
      expect(await adminClient().keys('infercache:p:*')).to.deep.equal([]);
      const s = cache.stats();
      expect(s.unstorable).to.equal(2);
      expect(s.kinds.p!.unstorable).to.equal(2);
      expect(s.errors).to.equal(0);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include(`cannot serialise ${reason}`).and.include("kind 'p'").and.include('not cached');
      expect(warnings[0]!.match(/infercache:/g), "one prefix, not the codec error's too").to.have.length(1);
    });
  }

  it('warns once per method or route and reason, naming them', async () => {
    const cache = newCache();
    const method = atSite({}, 'Scorer.score');
    const route = atSite({}, 'route GET /score/:id');
    await cache.wrap('p', 'a', async () => new Session(), method);
    await cache.wrap('p', 'b', async () => new Session(), method); // same method, same reason: said already
    await cache.wrap('p', 'c', async () => circular(), method); // another reason
    await cache.wrap('p', 'd', async () => new Session(), route); // another owner
    expect(warnings).to.have.length(3);
    expect(warnings[0]).to.include("Scorer.score (kind 'p')").and.include('class instance Session');
    expect(warnings[1]).to.include("Scorer.score (kind 'p')").and.include('circular reference');
    expect(warnings[2]).to.include("route GET /score/:id (kind 'p')").and.include('class instance Session');
    expect(cache.stats().unstorable).to.equal(4);
  });

  it('names the decorated method whose results cannot be stored', async () => {
    const cache = newCache();
    class Scorer {
      @CachedPrediction({ cache, kind: 'score' })
      async score(id: string) {
        return { id, session: new Session() };
      }
    }
    await new Scorer().score('x');
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.include("Scorer.score (kind 'score')").and.include('class instance Session at $.session');
  });
});

describe('Cache get, set, delete', () => {
  it('sets, reads and deletes one entry', async () => {
    const cache = newCache();
    expect(await cache.get('prediction', 'k')).to.equal(undefined);
    expect(await cache.set('prediction', 'k', { v: 1 })).to.equal(true);
    expect(await cache.get('prediction', 'k')).to.deep.equal({ v: 1 });
    await cache.delete('prediction', 'k');
    expect(await cache.get('prediction', 'k')).to.equal(undefined);
  });

  it('reads an entry stored with tags, and not once one of its tags is invalidated', async () => {
    const writer = newCache();
    await writer.wrap('reply', 'q1', async () => 'a1', { tags: ['user:1', 'lang:en'] });
    await writer.set('reply', 'q2', 'a2', { tags: ['user:2'] });
    const reader = newCache(); // another instance: nothing in memory, no tags known
    expect(await reader.get('reply', 'q1')).to.equal('a1');
    expect(await reader.get('reply', 'q2')).to.equal('a2');
    await writer.invalidateTags('lang:en');
    expect(await reader.get('reply', 'q1')).to.equal(undefined);
    expect(await reader.get('reply', 'q2')).to.equal('a2');
  });
});

describe('Cache.warmUp', () => {
  it('fills the cache with bounded concurrency and reports progress and failures', async () => {
    const cache = newCache();
    let running = 0;
    let peak = 0;
    const job = (i: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(10);
      running--;
      if (i === 3) throw new Error('no model for 3');
      return i;
    };
    const progress: number[] = [];
    const report = await cache.warmUp(
      Array.from({ length: 8 }, (_, i) => ({ kind: 'forecast', key: `p${i}`, fn: job(i) })),
      { concurrency: 2, onProgress: (done) => progress.push(done) },
    );
    expect(report).to.include({ total: 8, succeeded: 7, failed: 1 });
    expect(report.errors[0]).to.deep.equal({ index: 3, message: 'no model for 3' });
    expect(peak).to.equal(2);
    expect(progress).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await cache.get('forecast', 'p5')).to.equal(5);
  });
});

async function keyOf(_cache: unknown): Promise<string> {
  const keys = await adminClient().keys('infercache:daily:v1:*');
  return keys[0]!.slice('infercache:daily:v1:'.length);
}

describe('entries stored with a custom serialize', () => {
  it('are neither served as raw bytes nor deleted when read without deserialize', async () => {
    const options = {
      serialize: (m: number[]) => Buffer.from(JSON.stringify(m)),
      deserialize: (b: Buffer) => JSON.parse(b.toString()) as number[],
    };
    await newCache().wrap('model', 'w', async () => [1, 2], options);
    await sleep(20);
    const plain = newCache();
    expect(await plain.get('model', 'w')).to.equal(undefined);
    await sleep(20);
    expect(await newCache().wrap('model', 'w', async () => [9], options)).to.deep.equal([1, 2]);
    expect(await plain.wrap('model', 'w', async () => 'computed' as unknown)).to.equal('computed');
  });
});
