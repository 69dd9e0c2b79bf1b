/** Helpers of the plugin tests: Fastify apps and Express servers closed after each test, a stand-in model. */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { findRedisServer } from '../../src/testing.js';
import type { CacheOptions } from '../../src/index.js';
import { expect } from 'chai';
import { newCache, sleep } from '../helpers.js';
import { adminClient } from '../setup/root-hooks.js';

const apps: FastifyInstance[] = [];
const servers: Server[] = [];

/**
 * A cache on the test Redis, closed after the test, with a generous operation timeout: these tests check what is
 * served, not how fast, and must not turn a hit into a bypass on a loaded machine.
 */
export function testCache(options: CacheOptions = {}) {
  return newCache({ operationTimeout: '2s', ...options });
}

/** A Fastify app closed after the test. */
export function fastifyApp(options: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify(options);
  apps.push(app);
  return app;
}

/** Listens on a free loopback port and returns the base URL; the server is closed after the test. */
export async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A fake model: counts its calls, takes `delayMs`, and answers a price from the input. */
export function fakeModel(delayMs = 20) {
  const model = {
    calls: 0,
    async predict(input: unknown): Promise<{ price: number; input: unknown }> {
      model.calls++;
      await sleep(delayMs);
      return { price: JSON.stringify(input ?? null).length * 1000, input };
    },
  };
  return model;
}

/**
 * Starts `redis-server` on exactly `port` (a restart after an outage; redis-memory-server picks another port when
 * the one asked for was just used). Resolves once it accepts connections; `stop()` kills it.
 */
export async function redisOnPort(port: number): Promise<{ stop(): Promise<void> }> {
  const child = spawn(findRedisServer(), [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** Resolves once `key` exists in the test Redis (an entry is written after its response is sent); fails after 2 s. */
export async function storedKey(key: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await adminClient().exists(key)) === 1) return;
    await sleep(10);
  }
  expect.fail(`${key} was never stored; keys: ${(await adminClient().keys('*')).join(' ')}`);
}

/** Bytes that are not valid UTF-8, to check replays are byte-identical. */
export const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a, 0x0d, 0xf0, 0x9f, 0x98]);

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections?.();
          server.close(() => resolve());
        }),
    ),
  );
});
