/** A TCP proxy in front of the test Redis, to cut and restore the network without losing Redis's data. */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A proxy that can be taken down (all connections cut, new ones refused) and brought back on the same port. */
export interface RedisProxy {
  readonly url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /** Hold every chunk Redis sends back for this long (a slow link): each round trip takes at least this. @default 0 */
  latencyMs?: number;
}

/** Starts a proxy on a free loopback port forwarding to `target` (host:port). */
export async function startProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
  options: ProxyOptions = {},
): Promise<RedisProxy> {
  const latency = options.latencyMs ?? 0;
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream);
        if (latency > 0) {
          // timers of one duration fire in the order they were set: chunks keep their order
          upstream.on(
            'data',
            (chunk: Buffer) => void setTimeout(() => client.destroyed || client.write(chunk), latency),
          );
        } else {
          upstream.pipe(client);
        }
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const down = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  };
  await listen();
  return { url: `redis://127.0.0.1:${port}`, down, up: listen, close: down };
}
