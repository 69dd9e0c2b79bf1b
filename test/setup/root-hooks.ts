/**
 * Mocha root hooks: one private Redis for the whole run (redis-memory-server, system binary),
 * flushed before each test. Tests reach it through `testRedisUrl()` and `adminClient()`.
 */
import { createClient, type RedisClientType } from 'redis';
import { startTestRedis, type TestRedis } from '../../src/testing.js';
import { stopSharedTestCluster } from './cluster.js';

let server: TestRedis | undefined;
let admin: RedisClientType | undefined;

/** URL of the run's private Redis. */
export function testRedisUrl(): string {
  if (!server) throw new Error('test Redis is not started');
  return server.url;
}

/** The run's private Redis server (port, pid). */
export function testRedis(): TestRedis {
  if (!server) throw new Error('test Redis is not started');
  return server;
}

/** A plain node-redis client on the test Redis, for inspecting and corrupting what the cache stored. */
export function adminClient(): RedisClientType {
  if (!admin) throw new Error('test Redis is not started');
  return admin;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(30_000);
    server = await startTestRedis();
    process.env.INFERCACHE_TEST_REDIS_URL = server.url;
    admin = createClient({ url: server.url });
    admin.on('error', () => {});
    await admin.connect();
  },
  async beforeEach() {
    if (admin?.isReady) await admin.flushAll();
  },
  async afterAll() {
    await stopSharedTestCluster();
    await admin?.close().catch(() => {});
    await server?.stop();
  },
};
