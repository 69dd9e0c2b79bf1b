/**
 * Mocha root hooks: one private Redis for the whole run (redis-memory-server, system binary), flushed before each
 * integration test. Tests reach it through `testRedisUrl()` and `adminClient()`.
 *
 * Unit test files (listed in suites.cjs) need no Redis: when a run loads only unit files, no server is started, and
 * their tests are never preceded by a FLUSHALL. A unit file that reaches for the Redis fails saying so.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { createClient, type RedisClientType } from 'redis';
import { startTestRedis, type TestRedis } from '../../src/testing.js';
import { stopSharedTestCluster } from './cluster.js';

const { unitFiles } = createRequire(import.meta.url)('./suites.cjs') as { unitFiles: string[] };
const unit = new Set(unitFiles.map((file) => resolve(file)));

/** True when `file` (as mocha reports it) is a unit test file. */
export function isUnitFile(file: string | undefined): boolean {
  return file !== undefined && unit.has(resolve(file));
}

let server: TestRedis | undefined;
let admin: RedisClientType | undefined;

function notStarted(): Error {
  return new Error('test Redis is not started: a unit test file (test/setup/suites.cjs) must not use Redis');
}

/** URL of the run's private Redis. */
export function testRedisUrl(): string {
  if (!server) throw notStarted();
  return server.url;
}

/** The run's private Redis server (port, pid). */
export function testRedis(): TestRedis {
  if (!server) throw notStarted();
  return server;
}

/** A plain node-redis client on the test Redis, for inspecting and corrupting what the cache stored. */
export function adminClient(): RedisClientType {
  if (!admin) throw notStarted();
  return admin;
}

/** The files of every suite under `suite`. */
function filesOf(suite: Mocha.Suite, into = new Set<string>()): Set<string> {
  if (suite.file) into.add(suite.file);
  for (const test of suite.tests) if (test.file) into.add(test.file);
  for (const child of suite.suites) filesOf(child, into);
  return into;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    const root = this.test?.parent;
    const files = root ? [...filesOf(root)] : [];
    if (files.length > 0 && files.every(isUnitFile)) return; // a unit-only run: no Redis
    this.timeout(30_000);
    server = await startTestRedis();
    process.env.INFERCACHE_TEST_REDIS_URL = server.url;
    admin = createClient({ url: server.url });
    admin.on('error', () => {});
    await admin.connect();
  },
  async beforeEach(this: Mocha.Context) {
    if (isUnitFile(this.currentTest?.file)) return;
    if (admin?.isReady) await admin.flushAll();
  },
  async afterAll() {
    await stopSharedTestCluster();
    await admin?.close().catch(() => {});
    await server?.stop();
  },
};
