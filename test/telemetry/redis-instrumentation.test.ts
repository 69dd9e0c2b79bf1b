import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { testRedisUrl } from '../setup/root-hooks.js';

interface PrintedSpan {
  name: string;
  id: string;
  parent: string | undefined;
  attributes: Record<string, unknown>;
}

/** The spans of a miss and a hit, each in a `request` span, with the Redis client instrumented (a child process). */
async function spansOf(
  traceRedisHits: boolean,
): Promise<{ spans: PrintedSpan[]; parentOf: (s: PrintedSpan) => string }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'test/telemetry/fixtures/redis-nesting.ts'],
    { env: { ...process.env, REDIS_URL: testRedisUrl(), TRACE_REDIS_HITS: traceRedisHits ? '1' : '0' } },
  );
  const spans = JSON.parse(stdout) as PrintedSpan[];
  const byId = new Map(spans.map((s) => [s.id, s]));
  return { spans, parentOf: (s) => (s.parent === undefined ? '(root)' : (byId.get(s.parent)?.name ?? '(unknown)')) };
}

const names = (spans: PrintedSpan[]) => JSON.stringify(spans.map((s) => s.name));
const isMget = (s: PrintedSpan) => /mget/i.test(s.name);

describe('telemetry: with @opentelemetry/instrumentation-redis', function () {
  this.timeout(60_000);

  it('nests the Redis client spans under the call’s span and the store span, with traceRedisHits (node-redis 6)', async () => {
    const { spans, parentOf } = await spansOf(true);
    const calls = spans.filter((s) => s.name === 'infercache wrap');
    expect(
      calls.map((s) => s.attributes['infercache.result']),
      names(spans),
    ).to.deep.equal(['miss', 'hit']);
    const underCall = spans.filter((s) => parentOf(s) === 'infercache wrap');
    // one MGET per call (entry and invalidation counters), the miss's and the hit's
    expect(underCall.filter(isMget).length, names(spans)).to.equal(2);
    // besides the MGETs: the first read of a kind creates its invalidation counters (SET NX, GET); and the miss's
    // computation and write have their spans
    const redisUnderCall = underCall.filter((s) => !s.name.startsWith('infercache '));
    expect(redisUnderCall.every((s) => /(mget|set|get)$/i.test(s.name))).to.equal(true);
    expect(underCall.map((s) => s.name)).to.include.members(['infercache compute', 'infercache store']);
    // the SET of the entry after the miss runs under our store span
    const set = spans.find((s) => /(^|-)set$/i.test(s.name) && parentOf(s) === 'infercache store');
    expect(set, names(spans)).to.not.equal(undefined);
  });

  it('by default spans the miss only: its reads are the caller’s children, its computation and write are its own', async () => {
    const { spans, parentOf } = await spansOf(false);
    const calls = spans.filter((s) => s.name === 'infercache wrap');
    expect(
      calls.map((s) => s.attributes['infercache.result']),
      names(spans),
    ).to.deep.equal(['miss']);
    // the miss's span starts once its read found nothing; both calls' MGETs are their request's children
    expect(spans.filter(isMget).map(parentOf), names(spans)).to.deep.equal(['request', 'request']);
    expect(spans.filter((s) => parentOf(s) === 'infercache wrap').map((s) => s.name)).to.include.members([
      'infercache compute',
      'infercache store',
    ]);
    const set = spans.find((s) => /(^|-)set$/i.test(s.name) && parentOf(s) === 'infercache store');
    expect(set, names(spans)).to.not.equal(undefined);
  });
});
