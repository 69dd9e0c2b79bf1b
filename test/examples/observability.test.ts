/**
 * examples/observability: the Grafana dashboard, the Prometheus alert rules and config, and the metric names the
 * READMEs give, checked against what the example's exporter really serves. The example's own `otel.ts` (NodeSDK,
 * Prometheus exporter) runs in a child process on the test Redis; we scrape its /metrics.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { testRedisUrl } from '../setup/root-hooks.js';
import { sleep } from '../helpers.js';
import { missingFrom, parseQuery, parseScrape, type Query, type Scrape } from './fixtures/promql.js';

const DIR = 'examples/observability';
const DASHBOARD = `${DIR}/grafana/dashboards/infercache.json`;
const PROMETHEUS = `${DIR}/prometheus/prometheus.yml`;
const COMPOSE = `${DIR}/docker-compose.yml`;
const DRIVER = 'test/examples/fixtures/observability-driver.ts';
const DOCS = ['README.md', `${DIR}/README.md`];

// ---- the files ----

interface Rule {
  alert?: unknown;
  record?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

const yamlFile = <T>(file: string): T => parse(readFileSync(file, 'utf8')) as T;

/** Every `expr` in the dashboard (panels, rows, any depth) and every templating query. */
function dashboardQueries(): Query[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Record<string, unknown>;
  const queries: Query[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((child, i) => walk(child, `${where}[${i}]`));
    if (!node || typeof node !== 'object') return;
    const object = node as Record<string, unknown>;
    const name = typeof object.title === 'string' ? `${where} "${object.title}"` : where;
    if (typeof object.expr === 'string') queries.push(parseQuery(`${name} ${String(object.refId)}`, object.expr));
    for (const [key, child] of Object.entries(object)) walk(child, `${name}.${key}`);
  };
  walk(dashboard.panels, 'panels');
  const variables = (dashboard.templating as { list?: Array<Record<string, unknown>> } | undefined)?.list ?? [];
  for (const variable of variables) {
    const query = variable.query as string | { query?: string } | undefined;
    const text = typeof query === 'string' ? query : query?.query;
    if (text) queries.push(parseQuery(`variable $${String(variable.name)}`, text));
  }
  return queries;
}

/** Where docker compose mounts each file Prometheus reads: container path → path in the repository. */
function prometheusMounts(): (containerPath: string) => string | undefined {
  const compose = yamlFile<{ services: Record<string, { volumes?: string[] }> }>(COMPOSE);
  const volumes = (compose.services.prometheus?.volumes ?? []).map((v) => v.split(':'));
  return (containerPath) => {
    for (const [host, container] of volumes) {
      if (!host || !container) continue;
      const relative = path.posix.relative(container, containerPath);
      if (!relative.startsWith('..') && !path.posix.isAbsolute(relative)) return path.join(DIR, host, relative);
    }
    return undefined;
  };
}

/** The rule files prometheus.yml loads, as paths in the repository (through the compose mounts). */
function loadedRuleFiles(): string[] {
  const config = yamlFile<{ rule_files?: string[] }>(PROMETHEUS);
  const toHost = prometheusMounts();
  return (config.rule_files ?? []).map((file) => {
    expect(file, `rule_files entry ${file} is a glob; this test reads exact paths`).to.not.match(/[*?[]/);
    const host = toHost(file);
    expect(host, `rule_files entry ${file} is not under a volume of the prometheus service`).to.be.a('string');
    expect(existsSync(host!), `rule_files entry ${file} is ${host}, which does not exist`).to.equal(true);
    return path.normalize(host!);
  });
}

function alertQueries(): Query[] {
  return loadedRuleFiles().flatMap((file) =>
    yamlFile<RuleFile>(file).groups.flatMap((g) =>
      g.rules.map((r) => parseQuery(`${file} ${String(r.alert ?? r.record)}`, String(r.expr))),
    ),
  );
}

// ---- process helpers ----

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts the driver; resolves once it has driven every result and printed `ready`. */
function startDriver(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', DRIVER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready\n')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`driver exited (${code}) before ready:\n${stdout}${stderr}`)));
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

async function scrape(port: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      if (response.ok) return await response.text();
      throw new Error(`GET /metrics: ${response.status}`);
    } catch (error) {
      if (attempt >= 50) throw error;
      await sleep(100);
    }
  }
}

// ---- the tests ----

describe('example: observability (dashboard, alert rules and Prometheus names)', function () {
  this.timeout(60_000);

  let sink: Server;
  let driver: ChildProcess | undefined;
  let metrics: Scrape;
  let exposition: string;

  before(async () => {
    // Spans go to this sink rather than to a Jaeger that may be running on :4318.
    sink = createServer((req, res) => {
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const metricsPort = await freePort();
    driver = await startDriver({
      REDIS_URL: testRedisUrl(),
      UNREACHABLE_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      METRICS_PORT: String(metricsPort),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    });
    exposition = await scrape(metricsPort);
    metrics = parseScrape(exposition);
  });
  after(async () => {
    await stop(driver);
    await new Promise<void>((resolve) => sink?.close(() => resolve()));
  });

  it('serves every metric family of the library once hits, misses, errors and bypasses happened', () => {
    for (const series of [
      'infercache_requests_total',
      'infercache_errors_total',
      'infercache_time_saved_total',
      'infercache_cost_saved_total',
      'infercache_operation_duration_bucket',
      'infercache_compute_duration_bucket',
      'infercache_entry_size_bucket',
      'infercache_memory_entries',
      'infercache_breaker_state',
      'infercache_redis_memory_used',
      'infercache_redis_memory_max',
    ])
      expect(metrics.series.has(series), `${series} in\n${exposition}`).to.equal(true);
    const results = metrics.series.get('infercache_requests_total')!.get('infercache_result')!;
    expect([...results]).to.include.members(['hit', 'miss', 'error', 'bypass']);
  });

  it('has every metric and label the Grafana dashboard queries in the scrape', () => {
    const queries = dashboardQueries();
    expect(queries.length).to.be.greaterThan(10);
    expect(missingFrom(metrics, queries)).to.deep.equal([]);
  });

  it('has every metric and label the alert rules query in the scrape', () => {
    const queries = alertQueries();
    expect(queries.length).to.be.greaterThan(3);
    expect(missingFrom(metrics, queries)).to.deep.equal([]);
  });

  it('gives only Prometheus names in the READMEs that the exporter serves', () => {
    const labels = new Set([...metrics.series.values()].flatMap((l) => [...l.keys()]));
    const served = (name: string) => metrics.series.has(name) || metrics.families.has(name) || labels.has(name);
    for (const doc of DOCS) {
      const names = new Set(readFileSync(doc, 'utf8').match(/\binfercache_[a-z0-9_]+/g) ?? []);
      expect(names.size, `${doc} names no Prometheus metric`).to.be.greaterThan(0);
      for (const name of names) expect(served(name), `${doc} names ${name}`).to.equal(true);
    }
  });

  it('wires every alert rule file into Prometheus through the compose mounts', () => {
    const compose = yamlFile<{ services: Record<string, { command?: string[] }> }>(COMPOSE);
    const configFlag = compose.services.prometheus?.command?.find((c) => c.startsWith('--config.file='));
    expect(configFlag, 'prometheus command sets --config.file').to.be.a('string');
    expect(prometheusMounts()(configFlag!.slice('--config.file='.length))).to.equal(path.normalize(PROMETHEUS));

    const loaded = loadedRuleFiles();
    const shipped = readdirSync(`${DIR}/prometheus`)
      .filter((f) => /^alerts.*\.ya?ml$/.test(f))
      .map((f) => path.normalize(`${DIR}/prometheus/${f}`));
    expect(shipped.length).to.be.greaterThan(0);
    expect(loaded).to.have.members(shipped);
  });

  it('gives each alert rule a name, an expression, a duration, a severity and a summary', () => {
    const names = new Set<string>();
    for (const file of loadedRuleFiles()) {
      const { groups } = yamlFile<RuleFile>(file);
      expect(groups, file).to.be.an('array').with.length.greaterThan(0);
      for (const group of groups) {
        expect(group.name, `${file}: group name`).to.be.a('string').and.not.equal('');
        for (const rule of group.rules) {
          const where = `${file} ${String(rule.alert)}`;
          expect(rule.alert, `${file}: a rule without alert`)
            .to.be.a('string')
            .and.match(/^[A-Z][A-Za-z0-9]+$/);
          expect(names.has(rule.alert as string), `${where} is defined twice`).to.equal(false);
          names.add(rule.alert as string);
          expect(rule.expr, `${where}: expr`).to.be.a('string').and.not.equal('');
          expect(rule.for, `${where}: for`)
            .to.be.a('string')
            .and.match(/^(\d+(ms|s|m|h|d|w|y))+$/);
          expect(rule.labels?.severity, `${where}: labels.severity`).to.be.oneOf(['critical', 'warning', 'info']);
          expect(rule.annotations?.summary, `${where}: annotations.summary`).to.be.a('string').and.not.equal('');
          // templated labels must be labels the expression keeps
          const kept = parseQuery(where, rule.expr as string).grouping;
          for (const [, label] of JSON.stringify(rule.annotations).matchAll(/\$labels\.(\w+)/g))
            expect(kept, `${where}: annotation uses $labels.${label}`).to.include(label);
        }
      }
    }
  });

  it('fires InfercacheRedisDown on a breaker that is not closed or on calls that mostly bypass Redis', () => {
    const rule = alertQueries().find((q) => q.source.endsWith(' InfercacheRedisDown'));
    expect(rule, 'InfercacheRedisDown').to.not.equal(undefined);
    const uses = (metric: string, label: string, value: string) =>
      rule!.selectors.some(
        (s) => s.metric === metric && s.matchers.some((m) => m.label === label && m.op === '=' && m.value === value),
      );
    expect(uses('infercache_breaker_state', 'infercache_breaker_state', 'closed'), rule!.expr).to.equal(true);
    expect(uses('infercache_requests_total', 'infercache_result', 'bypass'), rule!.expr).to.equal(true);
    expect(rule!.expr, 'the two conditions are alternatives').to.match(/\bor\b/);
  });
});
