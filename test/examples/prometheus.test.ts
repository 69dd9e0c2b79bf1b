/**
 * examples/observability with a real Prometheus (Debian's `prometheus` package, installed by .ci/run): the alert
 * rules pass `promtool check rules` and their unit tests (`promtool test rules`), and a Prometheus on loopback scrapes
 * the example's exporter (its own otel.ts, in the observability driver) and gives the hit rate back through its HTTP
 * API, equal to what the exporter serves.
 */
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testRedisUrl } from '../setup/root-hooks.js';
import { sleep } from '../helpers.js';

const RULES = 'examples/observability/prometheus/alerts.yml';
const RULE_TESTS = 'examples/observability/prometheus/alert-tests.yml';
const DRIVER = 'test/examples/fixtures/observability-driver.ts';

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Spawns `command` and resolves once `ready` matches its output; rejects if it exits first. */
function start(command: string, args: string[], ready: RegExp, env = process.env): Promise<ChildProcess> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const watch = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) resolve(child);
    };
    child.stdout!.on('data', watch);
    child.stderr!.on('data', watch);
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}) before ready:\n${output}`)));
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Sum of the samples of a counter in a Prometheus text exposition whose labels match `labels`. */
function sumOf(exposition: string, metric: string, labels: RegExp): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    if (labels.test(line.slice(0, close)))
      sum += Number(
        line
          .slice(close + 1)
          .trim()
          .split(' ')[0],
      );
  }
  return sum;
}

describe('example: observability with a real Prometheus', function () {
  this.timeout(120_000);
  before(() => {
    for (const tool of ['/usr/bin/promtool', '/usr/bin/prometheus']) {
      if (!existsSync(tool)) throw new Error(`${tool} is missing: apt-get install -y prometheus (.ci/run does)`);
    }
  });

  it('has alert rules that promtool accepts', async () => {
    const checked = await run('promtool', ['check', 'rules', RULES]);
    expect(checked.code, checked.output).to.equal(0);
    expect(checked.output).to.match(/SUCCESS: 5 rules found/);
  });

  it('fires each alert on the series that should fire it and not on healthy ones (promtool test rules)', async () => {
    const tested = await run('promtool', ['test', 'rules', RULE_TESTS]);
    expect(tested.code, tested.output).to.equal(0);
    expect(tested.output).to.match(/SUCCESS/);
  });

  it('scrapes the example exporter and gives its hit rate back through the HTTP API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infercache-prometheus-'));
    const metricsPort = await freePort();
    const webPort = await freePort();
    let driver: ChildProcess | undefined;
    let prometheus: ChildProcess | undefined;
    try {
      driver = await start(process.execPath, ['--import', 'tsx', DRIVER], /ready\n/, {
        ...process.env,
        REDIS_URL: testRedisUrl(),
        UNREACHABLE_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        METRICS_PORT: String(metricsPort),
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`, // nobody: spans are dropped
      });
      const config = join(dir, 'prometheus.yml');
      writeFileSync(
        config,
        [
          'global: { scrape_interval: 1s, evaluation_interval: 1s }',
          `rule_files: ['${join(process.cwd(), RULES)}']`,
          'scrape_configs:',
          '  - job_name: infercache-example',
          `    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }]`,
          '',
        ].join('\n'),
      );
      prometheus = await start(
        'prometheus',
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${webPort}`,
          '--log.level=info',
        ],
        /Server is ready to receive web requests/,
      );
      const query =
        'sum(infercache_requests_total{infercache_result=~"hit|stale"}) / sum(infercache_requests_total{infercache_result=~"hit|stale|miss"})';
      let value: number | undefined;
      for (let attempt = 0; attempt < 100 && value === undefined; attempt++) {
        const response = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(query)}`);
        const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
        if (body.data.result.length > 0) value = Number(body.data.result[0]!.value[1]);
        else await sleep(250);
      }
      expect(value, 'Prometheus never had the hit rate').not.to.equal(undefined);
      const exposition = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const served = sumOf(exposition, 'infercache_requests_total', /infercache_result="(hit|stale)"/);
      const looked = sumOf(exposition, 'infercache_requests_total', /infercache_result="(hit|stale|miss)"/);
      expect(looked).to.be.greaterThan(0);
      expect(value).to.be.closeTo(served / looked, 1e-9);
      expect(value).to.be.within(0.01, 0.99); // the driver made hits and misses
      const rules = await (await fetch(`http://127.0.0.1:${webPort}/api/v1/rules`)).json();
      expect(JSON.stringify(rules)).to.include('InfercacheHitRateLow');
    } finally {
      await stop(prometheus);
      await stop(driver);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
