/**
 * A 3-master Redis Cluster from the `redis-server` on PATH, on free ports in a temp dir, for the test files
 * that need one (started in their `before`, stopped in their `after`, not by the root hooks).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnRedis, type RedisProcess } from './redis-process.js';

const run = promisify(execFile);

/** A running test cluster. */
export interface TestCluster {
  /** Root nodes for `redis.cluster.rootNodes`. */
  readonly rootNodes: Array<{ url: string }>;
  readonly nodes: RedisProcess[];
  /** Runs a redis-cli command against one node (`-c` follows redirects). */
  cli(node: number, ...args: string[]): Promise<string>;
  /** Kills every node (by PID) and removes the temp dir. */
  stop(): Promise<void>;
}

/** Starts 3 cluster-enabled masters, joins them with `redis-cli --cluster create`, waits for cluster_state:ok. */
export async function startTestCluster(nodeTimeoutMs = 1000): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'infercache-cluster-'));
  for (const f of readdirSync(dir)) if (/^nodes-.*\.conf$/.test(f)) rmSync(join(dir, f));
  const nodes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort(10_000);
      const args = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`];
      args.push('--cluster-node-timeout', String(nodeTimeoutMs));
      nodes.push(await spawnRedis({ port, dir, args }));
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    const cli = async (node: number, ...args: string[]) =>
      (await run('redis-cli', ['-c', '-p', String(nodes[node]!.port), ...args])).stdout;
    await waitFor(async () => {
      const states = await Promise.all(nodes.map((_, i) => cli(i, 'CLUSTER', 'INFO')));
      return states.every((s) => s.includes('cluster_state:ok'));
    }, 10_000);
    return { rootNodes: addresses.map((a) => ({ url: `redis://${a}` })), nodes, cli, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitFor(test: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`cluster not ready after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
