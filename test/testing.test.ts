/** The `infercache/testing` helpers that applications use in their own tests. */
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { startTestRedis } from '../src/testing.js';

function listen(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('startTestRedis', () => {
  it('refuses a requested port that is taken instead of quietly starting on another one', async () => {
    const taken = await listen();
    const port = (taken.address() as { port: number }).port;
    try {
      const started = startTestRedis({ port });
      const error = await started.then(
        async (redis) => {
          await redis.stop();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      expect(error, 'startTestRedis should reject').to.be.instanceOf(Error);
      expect(error!.message).to.contain(String(port));
    } finally {
      taken.close();
    }
  });

  it('starts on the requested port when it is free', async () => {
    const probe = await listen();
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const redis = await startTestRedis({ port });
    try {
      expect(redis.port).to.equal(port);
      expect(redis.url).to.equal(`redis://127.0.0.1:${port}`);
    } finally {
      await redis.stop();
    }
  });
});
