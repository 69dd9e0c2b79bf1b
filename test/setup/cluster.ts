/**
 * A 3-master Redis Cluster from the `redis-server` on PATH, on free ports in a temp dir. `sharedTestCluster()` starts
 * it once per run, when the first test file needs it (about 2 s); the root hooks stop it by PID at the end. Files
 * that share it keep their data apart with their own namespaces.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
  const dir = mkdtempSync(join(tmpdir(), 'infercache-cluster-')); // new and empty: no old nodes-*.conf in it
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

let shared: Promise<TestCluster> | undefined;
const retired: Array<Promise<TestCluster>> = [];

/** The run's cluster, started on first use. */
export function sharedTestCluster(): Promise<TestCluster> {
  return (shared ??= startTestCluster());
}

/** For a test that breaks the cluster (kills a node): the next `sharedTestCluster()` starts a new one. */
export function retireSharedTestCluster(): void {
  if (shared) retired.push(shared);
  shared = undefined;
}

/** Stops every cluster started for the run (root hooks, after all tests). */
export async function stopSharedTestCluster(): Promise<void> {
  retireSharedTestCluster();
  const all = retired.splice(0);
  await Promise.all(all.map(async (started) => (await started.catch(() => undefined))?.stop()));
}
