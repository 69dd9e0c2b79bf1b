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

describe('telemetry: with @opentelemetry/instrumentation-redis', function () {
  this.timeout(60_000);

  it('nests the Redis client spans under the call’s span and the store span (node-redis 6, @redis/client)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'test/telemetry/fixtures/redis-nesting.ts'],
      { env: { ...process.env, REDIS_URL: testRedisUrl() } },
    );
    const spans = JSON.parse(stdout) as PrintedSpan[];
    const byId = new Map(spans.map((s) => [s.id, s]));
    const calls = spans.filter((s) => s.name === 'infercache wrap');
    expect(calls).to.have.length(2);
    const underCall = spans.filter((s) => s.parent && byId.get(s.parent)?.name === 'infercache wrap');
    // one MGET per call (entry and invalidation counters), the miss's and the hit's
    expect(underCall.filter((s) => /mget/i.test(s.name)).length, JSON.stringify(spans.map((s) => s.name))).to.equal(2);
    // besides the MGETs: the first read of a kind creates its invalidation counters (SET NX, GET); and the miss's
    // computation and write have their spans
    const redisUnderCall = underCall.filter((s) => !s.name.startsWith('infercache '));
    expect(redisUnderCall.every((s) => /(mget|set|get)$/i.test(s.name))).to.equal(true);
    expect(underCall.map((s) => s.name)).to.include.members(['infercache compute', 'infercache store']);
    // the SET of the entry after the miss runs under our store span
    const set = spans.find((s) => /(^|-)set$/i.test(s.name) && byId.get(s.parent!)?.name === 'infercache store');
    expect(set, JSON.stringify(spans.map((s) => s.name))).to.not.equal(undefined);
  });
});
