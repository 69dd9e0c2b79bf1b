/**
 * redis-server processes started directly (not through redis-memory-server), for the fixtures that need
 * control over the process: restart on the same port after kill -9, cluster nodes, TLS-only servers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRedisServer } from '../../src/testing.js';

/** A running redis-server. */
export interface RedisProcess {
  readonly port: number;
  readonly pid: number;
  /** Sends a signal to the process (SIGSTOP, SIGCONT, SIGKILL). */
  signal(signal: NodeJS.Signals): void;
  /** Kills it (SIGKILL) and waits for it to exit; safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link spawnRedis}. */
export interface SpawnOptions {
  /** Port for `--port` (`0` disables the plain port, e.g. with `--tls-port`). @default a free port */
  port?: number;
  /** Working directory (cluster config files land here). @default a fresh temp dir, removed on stop */
  dir?: string;
  /** Extra arguments. */
  args?: string[];
}

/** A free loopback TCP port (and, with `busOffset`, one whose port + offset is free too, for cluster buses). */
export async function freePort(busOffset = 0): Promise<number> {
  for (;;) {
    const port = await listenFree(0);
    if (!busOffset) return port;
    if (port + busOffset < 65536 && (await listenFree(port + busOffset).catch(() => 0))) return port;
  }
}

function listenFree(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const got = (srv.address() as { port: number }).port;
      srv.close(() => resolve(got));
    });
  });
}

/** Starts redis-server (nothing persisted) and resolves once it accepts connections. */
export async function spawnRedis(options: SpawnOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'infercache-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn(findRedisServer(), [...args, ...(options.args ?? [])], { cwd: dir, stdio: 'pipe' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitReady(child, port);
  let stopped = false;
  return {
    port,
    pid: child.pid!,
    signal: (signal) => void child.kill(signal),
    async stop() {
      if (!stopped) {
        stopped = true;
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
      await exited;
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function waitReady(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => fail('did not become ready in 10 s'), 10_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} ${why}:\n${log.slice(-2000)}`));
    };
    const onExit = (code: number | null) => fail(`exited with code ${code}`);
    child.once('exit', onExit);
    child.stdout!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (/Ready to accept connections/.test(log)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => void (log += chunk.toString()));
  });
}
