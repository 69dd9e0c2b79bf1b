/**
 * The `infercache` CLI: watches and operates a cache from a terminal, against `REDIS_URL` (or `--url`) and
 * `--namespace`. Exit codes: 0 done, 1 the command failed (unhealthy, not found, a warm-up call failed, aborted),
 * 2 usage or configuration error, 3 Redis unavailable. No password is ever printed.
 */
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline/promises';
import { createCache, internalsOf, type Cache } from '../cache.js';
import { configFromEnv } from '../env.js';
import { redactMessage, redactUrl } from '../redis/connection.js';
import { isInfercacheError } from '../errors.js';
import { CliError, inspectEntry, inspectionText, keysText, listKeys } from './entries.js';
import { statsText, topText } from './view.js';
import { warm } from './warm.js';

const USAGE = `Usage: infercache <command> [options]

Commands:
  stats                      fleet-wide counters per kind (--window 1m, --json)
  health                     Redis health as this cache sees it (exit 1 unless healthy)
  info                       namespace, version, TTLs per kind, entries per kind, Redis memory
  top                        live view: hit rate, savings, hot keys (--interval 2s, --once)
  keys KIND                  stored keys of a kind with their TTL (--limit 50)
  inspect KIND KEY           one entry: age, TTL left, size, tags, value preview
  invalidate                 --kind KIND | --tag TAG (repeatable) | --all (asks unless --yes)
  warm FILE --module PATH    run a JSON or NDJSON list of {"call","args"} against a module's exports

Options:
  --url URL                  Redis URL (default: REDIS_URL)
  --namespace NAME           key prefix (default: CACHE_NAMESPACE or infercache)
  --cache-version V          version segment of keys, for inspect (default: CACHE_VERSION or v1)
  --json                     machine-readable output (stats, health, info, keys, inspect)
  -h, --help                 this help

Exit codes: 0 ok, 1 command failed, 2 usage error, 3 Redis unavailable.`;

const OPTIONS = {
  url: { type: 'string' },
  namespace: { type: 'string' },
  'cache-version': { type: 'string' },
  json: { type: 'boolean' },
  window: { type: 'string' },
  interval: { type: 'string' },
  once: { type: 'boolean' },
  limit: { type: 'string' },
  kind: { type: 'string' },
  tag: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  module: { type: 'string' },
  concurrency: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Streams and input the CLI uses (injectable for tests). */
export interface CliIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  input: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
}

/** Runs the CLI with `argv` (without node and the script); resolves the exit code. */
export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.err.write(`infercache: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    io.out.write(`${USAGE}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  let cache: Cache | undefined;
  let url: string | undefined;
  try {
    if (!COMMANDS.has(command)) throw new CliError(`unknown command ${JSON.stringify(command)}`, 2);
    const options = configFromEnv(values.url ? { ...io.env, REDIS_URL: values.url } : io.env);
    url = options.redis && 'url' in options.redis ? options.redis.url : undefined;
    if (!url) throw new CliError('no Redis: set REDIS_URL or pass --url', 2);
    cache = createCache({
      ...options,
      ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
      ...(values['cache-version'] !== undefined ? { version: values['cache-version'] } : {}),
      operationTimeout: options.operationTimeout ?? '2s',
      fleet: false,
      bus: false,
      logger: false,
      setDefault: false,
      telemetry: { enabled: false },
    });
    await cache.connect();
    return await run(command, rest, values, cache, io);
  } catch (error) {
    return failure(error, io, url, cache ? internalsOf(cache).settings.secrets : []);
  } finally {
    await cache?.close();
  }
}

const COMMANDS = new Set(['stats', 'health', 'info', 'top', 'keys', 'inspect', 'invalidate', 'warm']);

function failure(error: unknown, io: CliIO, url: string | undefined, secrets: readonly string[]): number {
  const message = redactMessage((error as Error)?.message ?? String(error), secrets).replace(/^infercache: /, '');
  if (error instanceof CliError) {
    io.err.write(`infercache: ${message}\n${error.exitCode === 2 ? 'Run infercache --help for usage.\n' : ''}`);
    return error.exitCode;
  }
  if (isInfercacheError(error, 'E_CACHE_CONFIG')) {
    io.err.write(`infercache: ${message}\n`);
    return 2;
  }
  if (isInfercacheError(error, 'E_CACHE_UNAVAILABLE') || isInfercacheError(error, 'E_CACHE_TIMEOUT')) {
    io.err.write(`infercache: Redis unavailable at ${url ? redactUrl(url) : 'its URL'}: ${message}\n`);
    return 3;
  }
  io.err.write(`infercache: ${message}\n`);
  return 1;
}

async function run(command: string, rest: string[], v: Values, cache: Cache, io: CliIO): Promise<number> {
  const print = (text: string) => void io.out.write(`${text}\n`);
  const json = (value: unknown) => print(JSON.stringify(value, null, 2));
  const show = (value: unknown, text: () => string) => (v.json ? json(value) : print(text()));
  const args = (n: number, usage: string) => {
    if (rest.length !== n) throw new CliError(`usage: infercache ${command} ${usage}`, 2);
    return rest;
  };
  switch (command) {
    case 'stats': {
      args(0, '[--window 1m] [--json]');
      const fleet = await cache.fleetStats({ window: v.window ?? '1m' });
      show(fleet, () => statsText(fleet));
      return 0;
    }
    case 'health': {
      args(0, '[--json]');
      const health = await cache.health();
      show(health, () => `${health.status} (probe ${health.redis.probe}, ${health.redis.latencyMs ?? '-'} ms)`);
      return health.status === 'healthy' ? 0 : 1;
    }
    case 'info': {
      args(0, '[--json]');
      const info = await cache.info();
      show(info, () => infoText(info));
      return 0;
    }
    case 'top':
      args(0, '[--window 1m] [--interval 2s] [--once]');
      return top(cache, v, io);
    case 'keys': {
      const [kind] = args(1, 'KIND [--limit 50]');
      const keys = await listKeys(cache, kind!, count(v.limit, 50, '--limit'));
      show(keys, () => keysText(keys));
      return 0;
    }
    case 'inspect': {
      const [kind, key] = args(2, 'KIND KEY');
      const found = await inspectEntry(cache, kind!, key!);
      show(found, () => inspectionText(found));
      return 0;
    }
    case 'invalidate':
      args(0, '--kind KIND | --tag TAG ... | --all [--yes]');
      return invalidate(cache, v, io);
    case 'warm': {
      const [file] = args(1, 'FILE --module PATH [--concurrency 4]');
      if (!v.module) throw new CliError('warm needs --module PATH (the module whose exports the calls name)', 2);
      const report = await warm(file!, v.module, count(v.concurrency, 4, '--concurrency'), io.err);
      print(`${report.done - report.failed.length} of ${report.done} calls done`);
      for (const f of report.failed.slice(0, 20)) io.err.write(`failed: ${f.call}: ${f.error}\n`);
      return report.failed.length ? 1 : 0;
    }
  }
  return 2;
}

function count(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${name} must be a positive integer`, 2);
  return n;
}

function infoText(info: Awaited<ReturnType<Cache['info']>>): string {
  const lines = [
    `namespace  ${info.namespace}`,
    `version    ${info.version}`,
    `redis      ${info.redis?.url ?? '-'} (${info.redis?.status ?? '-'}, ${info.redis?.usedMemory ?? '?'} used)`,
    `ttl        ${JSON.stringify(info.ttl)}`,
  ];
  if (info.entries) {
    const kinds = Object.entries(info.entries.byKind).map(([k, n]) => `${k} ${n}`);
    lines.push(`entries    ${kinds.join(', ') || 'none'}${info.entries.truncated ? ' (truncated)' : ''}`);
  }
  return lines.join('\n');
}

async function top(cache: Cache, v: Values, io: CliIO): Promise<number> {
  const window = v.window ?? '1m';
  if (v.once) {
    io.out.write(`${await topText(cache, window, 5)}\n`);
    return 0;
  }
  const every = v.interval === undefined ? 2000 : Math.max(500, parseSeconds(v.interval));
  let stop = false;
  const onSignal = () => (stop = true);
  process.once('SIGINT', onSignal);
  try {
    while (!stop) {
      const text = await topText(cache, window, 5);
      io.out.write(`\x1b[2J\x1b[H${text}\n\n(refreshing every ${every / 1000}s, Ctrl-C to quit)\n`);
      await new Promise((resolve) => setTimeout(resolve, every));
    }
  } finally {
    process.off('SIGINT', onSignal);
  }
  return 0;
}

function parseSeconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!m) throw new CliError('--interval must look like 2s or 500ms', 2);
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
}

async function invalidate(cache: Cache, v: Values, io: CliIO): Promise<number> {
  const targets = [v.kind !== undefined, (v.tag?.length ?? 0) > 0, v.all === true].filter(Boolean).length;
  if (targets !== 1) throw new CliError('give exactly one of --kind KIND, --tag TAG (repeatable) or --all', 2);
  if (v.kind !== undefined) {
    await cache.invalidateKind(v.kind);
    io.out.write(`invalidated kind ${v.kind}\n`);
  } else if (v.tag?.length) {
    await cache.invalidateTags(...v.tag);
    io.out.write(`invalidated tag(s) ${v.tag.join(', ')}\n`);
  } else {
    const ns = cache.settings.namespace;
    if (!v.yes && !(await confirm(io, `Invalidate EVERY entry of namespace ${ns}? Type "yes" to confirm: `))) {
      io.err.write('infercache: aborted, nothing invalidated\n');
      return 1;
    }
    await cache.invalidateAll();
    io.out.write(`invalidated every entry of namespace ${ns}\n`);
  }
  return 0;
}

async function confirm(io: CliIO, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.input, output: io.err, terminal: false });
  try {
    io.err.write(question);
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return ['y', 'yes'].includes(answer.trim().toLowerCase());
  } finally {
    rl.close();
  }
}

function defaultIO(): CliIO {
  return { out: process.stdout, err: process.stderr, input: process.stdin, env: process.env };
}
