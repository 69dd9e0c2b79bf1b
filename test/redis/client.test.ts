/**
 * `redis: { client }`: only what the Redis tier can drive (a node-redis v5+ client or cluster) is taken, and
 * `health()` says `healthy` only once commands succeeded on a ready connection, and `close()` closes the connection
 * only if the cache opened it (or `closeClient` says so).
 */
import { expect } from 'chai';
import { createServer } from 'node:net';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { ConfigError, createCache, type RedisOptions } from '../../src/index.js';
import { testRedis, testRedisUrl } from '../setup/root-hooks.js';
import { newCache } from '../helpers.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The ConfigError creating a cache on `client` throws. */
function refused(client: unknown): ConfigError {
  try {
    createCache({ setDefault: false, logger: false, redis: { client } as RedisOptions }).close();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  expect.fail('expected a ConfigError');
}

describe('redis.client', () => {
  it('refuses an ioredis client, saying what is supported', async () => {
    const io = new Redis({ host: testRedis().host, port: testRedis().port, lazyConnect: true });
    try {
      const error = refused(io);
      expect(error.setting).to.equal('redis.client');
      expect(error.message).to.include('ioredis').and.to.include('createClient()').and.to.include('v5');
    } finally {
      io.disconnect();
    }
  });

  it('refuses a node-redis 4 client (quit and disconnect, no close), saying what is supported', () => {
    // node-redis 4 is not installed: an object of its shape stands for it (the methods the cache would call)
    const v4 = {
      isOpen: true,
      isReady: true,
      connect: async () => {},
      sendCommand: () => new Promise(() => {}),
      quit: async () => {},
      disconnect: async () => {},
      on() {
        return this;
      },
    };
    const error = refused(v4);
    expect(error.setting).to.equal('redis.client');
    expect(error.message).to.include('node-redis 4').and.to.include('createClient()');
  });

  it('refuses what is not a client at all, naming what it lacks', () => {
    expect(refused('redis://localhost:6379').message).to.include('got string');
    expect(refused({ sendCommand() {} }).message)
      .to.include('connect()')
      .and.to.include('isReady');
  });

  it('reports ready and healthy for a client connected before it was handed over', async () => {
    const client = createClient({ url: testRedisUrl() });
    client.on('error', () => {});
    await client.connect();
    try {
      const cache = newCache({ redis: { client } });
      const health = await cache.health();
      expect(health.redis.status).to.equal('ready');
      expect(health.status).to.equal('healthy');
      expect((await cache.info()).redis?.status).to.equal('ready');
    } finally {
      await client.close();
    }
  });

  it('waits for a client whose connection is under way, and caches from the first call', async () => {
    const client = createClient({ url: testRedisUrl() });
    client.on('error', () => {});
    const connecting = client.connect();
    try {
      const cache = newCache({ redis: { client } });
      const first = await cache.wrapDetailed('p', 'k', async () => 1);
      expect(first.result).to.equal('miss');
      expect((await cache.health()).status).to.equal('healthy');
    } finally {
      await connecting;
      await client.close();
    }
  });

  describe('closing a handed-over client', () => {
    it('closes on close() a client whose connection the cache opened, so no connection outlives the cache', async () => {
      const client = createClient({ url: testRedisUrl() });
      client.on('error', () => {});
      const cache = newCache({ redis: { client } });
      await cache.connect();
      expect(client.isOpen).to.equal(true);
      expect(await cache.wrap('p', 'k', async () => 'v')).to.equal('v');
      await cache.close();
      expect(client.isOpen).to.equal(false);
    });

    it('stops a client it opened that is still trying to reach Redis', async () => {
      const client = createClient({ url: `redis://127.0.0.1:${await closedPort()}` });
      client.on('error', () => {});
      const cache = newCache({ redis: { client } });
      await cache.connect().catch(() => {}); // refused: node-redis keeps reconnecting in the background
      expect(client.isOpen).to.equal(true);
      await cache.close();
      expect(client.isOpen).to.equal(false);
    });

    it('leaves open a client it opened when closeClient is false', async () => {
      const client = createClient({ url: testRedisUrl() });
      client.on('error', () => {});
      try {
        const cache = newCache({ redis: { client, closeClient: false } });
        await cache.connect();
        await cache.close();
        expect(client.isOpen).to.equal(true);
      } finally {
        await client.close();
      }
    });

    it('leaves open a client the user connected, even while its connection was under way', async () => {
      const client = createClient({ url: testRedisUrl() });
      client.on('error', () => {});
      const connecting = client.connect();
      try {
        const cache = newCache({ redis: { client } });
        await cache.connect();
        await cache.close();
        expect(client.isOpen).to.equal(true);
      } finally {
        await connecting;
        await client.close();
      }
    });
  });
});
