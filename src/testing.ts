/**
 * Helpers for testing an application that uses infercache: a private Redis per test run,
 * started from the `redis-server` on PATH through redis-memory-server (an optional peer dependency), never downloaded.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A private Redis server started for tests. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** PID of the redis-server process (for fault injection: SIGSTOP, SIGKILL). */
  readonly pid: number | undefined;
  /** Stops the server; safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startTestRedis}. */
export interface TestRedisOptions {
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '2mb']`. @default [] */
  args?: string[];
  /** Path of the redis-server binary. @default `REDISMS_SYSTEM_BINARY`, else `redis-server` found on PATH */
  binary?: string;
  /** Port to listen on; rejects when it cannot be had (redis-memory-server would quietly pick another). @default a free port */
  port?: number;
}

/** Finds the `redis-server` binary, or throws an error that says how to install one. */
export function findRedisServer(): string {
  const fromEnv = process.env.REDISMS_SYSTEM_BINARY;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`infercache/testing: REDISMS_SYSTEM_BINARY=${fromEnv} does not exist`);
    return fromEnv;
  }
  try {
    const found = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    // fall through to the error below
  }
  throw new Error(
    'infercache/testing: no redis-server found on PATH. Install one (Debian/Ubuntu: `apt-get install redis-server`, ' +
      'macOS: `brew install redis`) or set REDISMS_SYSTEM_BINARY to its path.',
  );
}

/** How to install the optional peer dependency without its postinstall download of Redis (quoted in errors). */
const REDIS_MEMORY_SERVER_INSTALL = 'REDISMS_DISABLE_POSTINSTALL=1 npm install --save-dev redis-memory-server';

type RedisMemoryServerModule = typeof import('redis-memory-server');

/** Whether `error` says that `name` itself (not one of its own dependencies) cannot be found. */
function isMissingModule(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes(`'${name}'`)
  );
}

/** Loads redis-memory-server, or throws an error that says how to install it. */
async function loadRedisMemoryServer(): Promise<RedisMemoryServerModule> {
  try {
    return await import('redis-memory-server');
  } catch (error) {
    if (!isMissingModule(error, 'redis-memory-server')) throw error;
    throw new Error(
      'infercache/testing needs redis-memory-server, an optional peer dependency that is not installed. ' +
        `Install it without its download of Redis (infercache/testing uses your redis-server): ${REDIS_MEMORY_SERVER_INSTALL}`,
      { cause: error },
    );
  }
}

/** Starts a private Redis on a free port (nothing persisted) and returns its URL and a `stop()`. */
export async function startTestRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const { RedisMemoryServer } = await loadRedisMemoryServer();
  const systemBinary = options.binary ?? findRedisServer();
  const server = await RedisMemoryServer.create({
    binary: { systemBinary },
    instance: { port: options.port ?? null, args: ['--save', '', '--appendonly', 'no', ...(options.args ?? [])] },
  });
  const host = await server.getHost();
  const port = await server.getPort();
  if (options.port !== undefined && port !== options.port) {
    await server.stop();
    throw new Error(
      `infercache/testing: port ${options.port} is not available for a test Redis (it is in use or was used recently)`,
    );
  }
  const info = server.getInstanceInfo();
  let stopped = false;
  return {
    url: `redis://${host}:${port}`,
    host,
    port,
    pid: info ? info.childProcess?.pid : undefined,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
