/** The built `infercache` CLI, spawned against the test Redis (builds dist/ first when it is missing or older). */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { newCache } from '../helpers.js';
import { testRedisUrl } from '../setup/root-hooks.js';
import { ensureBuilt } from '../setup/build.js';

const BIN = 'dist/bin/infercache.mjs';

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI; `env` is added to (or, with undefined values, removed from) the test's environment. */
function cli(args: string[], options: { env?: Record<string, string | undefined>; input?: string } = {}) {
  const env: Record<string, string | undefined> = { ...process.env, REDIS_URL: testRedisUrl(), ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise<Run>((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env, timeout: 30_000 }, (error, out, err) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out, err }),
    );
    child.stdin!.end(options.input ?? '');
  });
}

describe('infercache CLI', function () {
  this.timeout(120_000);
  before(ensureBuilt);

  const ns = ['--namespace', 'clitest'];

  async function traffic() {
    const a = newCache({ namespace: 'clitest', fleet: { sample: 1 } });
    const b = newCache({ namespace: 'clitest', fleet: { sample: 1 } });
    const tagged = { tags: ['region:eu'] };
    await a.wrap('price', 'CHG_001', async () => ({ price: 42, at: new Date(0) }), tagged);
    await b.wrap('price', 'CHG_001', async () => ({ price: 42 }), tagged);
    await b.wrap('price', 'CHG_001', async () => ({ price: 42 }), tagged);
    await a.wrap('score', 7, async () => 0.5);
    await a.flushFleet();
    await b.flushFleet();
    return { a, b };
  }

  it('stats --json prints the fleet-wide counters per kind', async () => {
    await traffic();
    const run = await cli(['stats', '--json', ...ns]);
    expect(run.code, run.err).to.equal(0);
    const stats = JSON.parse(run.out);
    expect(stats.instances).to.equal(2);
    expect(stats.kinds.price).to.include({ hits: 2, misses: 1 });
    expect(stats.kinds.score).to.include({ misses: 1 });
  });

  it('stats prints a table with a line per kind and a total', async () => {
    await traffic();
    const run = await cli(['stats', ...ns]);
    expect(run.code, run.err).to.equal(0);
    expect(run.out).to.match(/2 live instance/);
    expect(run.out).to.match(/^price\s+3\s+2\s+1\s/m);
    expect(run.out).to.match(/^TOTAL\s+4\s+2\s+2\s/m);
  });

  it('top --once shows the stats and the hot keys of each kind', async () => {
    await traffic();
    const run = await cli(['top', '--once', ...ns]);
    expect(run.code, run.err).to.equal(0);
    expect(run.out).to.match(/hot keys of price:\n\s+3\s+CHG_001/);
  });

  it('health exits 0 on a healthy Redis; info names the namespace and the entries per kind', async () => {
    await traffic();
    const health = await cli(['health', ...ns]);
    expect(health.code, health.err).to.equal(0);
    expect(health.out).to.match(/^healthy/);
    const info = await cli(['info', '--json', ...ns]);
    expect(info.code, info.err).to.equal(0);
    const parsed = JSON.parse(info.out);
    expect(parsed.namespace).to.equal('clitest');
    expect(parsed.entries.byKind).to.include({ price: 1, score: 1 });
  });

  it('exits 3 when Redis is unreachable, without printing its password', async () => {
    const run = await cli(['health'], { env: { REDIS_URL: 'redis://user:s3cr3t-pw@127.0.0.1:1' } });
    expect(run.code).to.equal(3);
    expect(run.err).to.match(/Redis unavailable at redis:\/\/user:\*\*\*@127\.0\.0\.1:1/);
    expect(run.out + run.err).not.to.include('s3cr3t-pw');
  });

  it('exits 2 on usage errors: no Redis, an unknown command or option, missing arguments', async () => {
    expect((await cli(['stats'], { env: { REDIS_URL: undefined } })).err).to.match(/set REDIS_URL or pass --url/);
    expect((await cli(['stats'], { env: { REDIS_URL: undefined } })).code).to.equal(2);
    expect((await cli(['frobnicate'])).code).to.equal(2);
    expect((await cli(['stats', '--bogus'])).code).to.equal(2);
    const inspect = await cli(['inspect', 'price']);
    expect(inspect.code).to.equal(2);
    expect(inspect.err).to.match(/usage: infercache inspect KIND KEY/);
    expect((await cli(['invalidate', '--kind', 'a', '--all'])).code).to.equal(2);
    const help = await cli(['--help']);
    expect(help.code).to.equal(0);
    expect(help.out).to.match(/Commands:/);
  });

  it('keys lists the entries of a kind; inspect decodes one with its age, TTL, size and tags', async () => {
    await traffic();
    const keys = await cli(['keys', 'price', ...ns]);
    expect(keys.code, keys.err).to.equal(0);
    expect(keys.out).to.match(/clitest:price:v1:CHG_001\s+\d/);
    const run = await cli(['inspect', 'price', 'CHG_001', ...ns]);
    expect(run.code, run.err).to.equal(0);
    expect(run.out).to.match(/tags\s+region:eu/);
    expect(run.out).to.match(/ttl left\s+\d/);
    expect(run.out).to.match(/price: 42/);
    expect(run.out).to.include('1970-01-01T00:00:00.000Z'); // the Date came back as a Date
    const json = JSON.parse((await cli(['inspect', 'price', 'CHG_001', '--json', ...ns])).out);
    expect(json.sizeBytes).to.be.greaterThan(0);
    const missing = await cli(['inspect', 'price', 'NOPE', ...ns]);
    expect(missing.code).to.equal(1);
    expect(missing.err).to.match(/no entry at clitest:price:v1:NOPE/);
  });

  it('invalidate --kind and --tag make entries unreachable', async () => {
    const { a } = await traffic();
    expect((await cli(['invalidate', '--tag', 'region:eu', ...ns])).code).to.equal(0);
    expect(await a.get('price', 'CHG_001')).to.equal(undefined);
    expect(await a.get('score', 7)).to.equal(0.5);
    expect((await cli(['invalidate', '--kind', 'score', ...ns])).code).to.equal(0);
    expect(await a.get('score', 7)).to.equal(undefined);
  });

  it('invalidate --all asks first, and does nothing unless the answer is yes (or --yes is given)', async () => {
    const { a } = await traffic();
    const refused = await cli(['invalidate', '--all', ...ns], { input: 'n\n' });
    expect(refused.code).to.equal(1);
    expect(refused.err).to.match(/Type "yes" to confirm/);
    expect(await a.get('score', 7)).to.equal(0.5);
    expect((await cli(['invalidate', '--all', ...ns], { input: 'yes\n' })).code).to.equal(0);
    expect(await a.get('score', 7)).to.equal(undefined);
    await a.set('score', 7, 0.5);
    expect((await cli(['invalidate', '--all', '--yes', ...ns])).code).to.equal(0);
    expect(await a.get('score', 7)).to.equal(undefined);
  });

  it('warm runs an NDJSON or JSON list of calls against a module, with a progress bar', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infercache-warm-'));
    const ndjson = join(dir, 'calls.ndjson');
    writeFileSync(ndjson, '{"call":"service.predict","args":["a"]}\n\n{"call":"service.predict","args":["bb"]}\n');
    const env = { CACHE_NAMESPACE: 'clitest' };
    const run = await cli(['warm', ndjson, '--module', 'test/cli/fixtures/warm-module.mjs', ...ns], { env });
    expect(run.code, run.err).to.equal(0);
    expect(run.err).to.include('[##############################] 2/2');
    expect(run.out).to.match(/2 of 2 calls done/);
    const a = newCache({ namespace: 'clitest' });
    expect(await a.get('price', 'bb')).to.deep.equal({ id: 'bb', price: 6 });
    const json = join(dir, 'calls.json');
    writeFileSync(json, JSON.stringify([{ call: 'service.predict', args: ['c'] }, { call: 'fail' }]));
    const failing = await cli(['warm', json, '--module', 'test/cli/fixtures/warm-module.mjs', ...ns], { env });
    expect(failing.code).to.equal(1);
    expect(failing.err).to.match(/failed: fail: model exploded/);
    expect(await a.get('price', 'c')).to.deep.equal({ id: 'c', price: 3 });
    writeFileSync(json, '{"call": ');
    expect((await cli(['warm', json, '--module', 'test/cli/fixtures/warm-module.mjs'])).code).to.equal(2);
  });
});
