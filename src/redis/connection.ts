/**
 * Builds the node-redis client (or cluster) for the Redis tier from options, with the settings
 * a fail-open cache needs: no offline queue, no per-command timer, reconnect forever in the background.
 */
import { createClient, createCluster, RESP_TYPES } from 'redis';
import type { RedisOptions } from '../options.js';
import { ConfigError } from '../errors.js';
import { clientOptionsFromUrl } from './url.js';
import { TIMED_OUT, waitAtMost } from '../timeout.js';
import {
  clientSubscriber,
  clusterSubscriber,
  type PubSubClient,
  type PubSubCluster,
  type Subscriber,
} from './pubsub.js';

/** Replies as Buffers for bulk strings: entries are binary. */
export const BINARY = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as const;

/** The few raw commands the Redis tier needs, over a client or a cluster. */
export interface Backend {
  readonly kind: 'client' | 'cluster';
  /** Ready to take commands (connected, authenticated). */
  isReady(): boolean;
  /** Sends one command; `key` routes it on a cluster. Bulk strings come back as Buffers. */
  send(key: string | undefined, readonly: boolean, args: Array<string | Buffer>): Promise<unknown>;
  /** Reads several keys in one round trip (one MGET, or parallel GETs across cluster slots). */
  mget(keys: string[]): Promise<Array<Buffer | null>>;
  /** Starts connecting (no-op when already open). */
  connect(): Promise<unknown>;
  /**
   * Closes the connection: always for a client the cache made; for a client the user handed over, when
   * `closeClient` is true, or when it is not given and the cache opened that client's connection itself.
   */
  close(): Promise<void>;
  /** Connects or reports a connection error. */
  on(event: 'error' | 'ready' | 'end', listener: (arg?: unknown) => void): void;
  /** A new subscription on a connection of its own, for the invalidation bus. */
  subscriber(): Subscriber;
  /** One sender per server (the client, or each master of a cluster): for commands such as SCAN. */
  servers(): Promise<Array<(args: string[]) => Promise<unknown>>>;
  /** The node-redis client or cluster, for telemetry and advanced use. */
  readonly raw: unknown;
}

const SUPPORTED_CLIENT =
  "expected a node-redis client or cluster, v5 or later, made with createClient() or createCluster() from 'redis'";

/**
 * Refuses, when the cache is created, a `redis.client` the Redis tier cannot drive, by the shape of what it calls:
 * `sendCommand`, `connect`, `close`, `on`, and the `isOpen`/`isReady` flags. An ioredis client (a `status`, no
 * `isOpen`) would make every call bypass; a node-redis 4 client (`quit`/`disconnect`, no `close`) would time every
 * call out and fail to close. Throws a ConfigError naming `setting` and saying what is supported.
 */
export function checkClient(client: unknown, setting: string): void {
  if (typeof client !== 'object' || client === null) {
    throw new ConfigError(setting, `${SUPPORTED_CLIENT}, got ${client === null ? 'null' : typeof client}`);
  }
  const c = client as Record<string, unknown>;
  const fn = (name: string) => typeof c[name] === 'function';
  if (typeof c.status === 'string' && c.isOpen === undefined) {
    throw new ConfigError(
      setting,
      `${SUPPORTED_CLIENT}; this looks like an ioredis client, which infercache does not drive: give { url } instead`,
    );
  }
  if (!fn('close') && (fn('quit') || fn('disconnect'))) {
    throw new ConfigError(
      setting,
      `${SUPPORTED_CLIENT}; this looks like a node-redis 4 client (quit() and disconnect(), no close()): ` +
        'upgrade redis to v5 or later, or give { url } instead',
    );
  }
  const missing = [
    ...['sendCommand', 'connect', 'close', 'on'].filter((name) => !fn(name)).map((name) => `${name}()`),
    ...['isOpen', 'isReady'].filter((name) => typeof c[name] !== 'boolean'),
  ];
  if (missing.length) throw new ConfigError(setting, `${SUPPORTED_CLIENT}; it has no ${missing.join(', ')}`);
}

/** Replaces the password in a Redis URL with `***` (for logs, errors, `info()`). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

/** Removes any password-looking text from an error message before it is logged or reported. */
export function redactMessage(message: string, secrets: readonly string[]): string {
  let out = message.replace(/(rediss?:\/\/[^:@/\s]*):[^@/\s]*@/g, '$1:***@');
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}

/** Reconnects forever with capped exponential back-off and jitter, also after a socket timeout. */
export function reconnectStrategy(retries: number): number {
  const base = Math.min(50 * 2 ** Math.min(retries, 10), 2000);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

interface Timeouts {
  connectTimeout: number;
  socketTimeout: number | undefined;
}

/** Creates the backend for `options` (an owned client, a user client, or a cluster). */
export function createBackend(options: RedisOptions, timeouts: Timeouts): Backend {
  const socket = {
    connectTimeout: timeouts.connectTimeout,
    ...(timeouts.socketTimeout ? { socketTimeout: timeouts.socketTimeout } : {}),
    reconnectStrategy,
  };
  const commandOptions = { timeout: 0 };
  if (options.cluster) {
    const extra = (options.clientOptions ?? {}) as { socket?: object };
    const defaults = (options.cluster.defaults ?? {}) as { socket?: object };
    const cluster = createCluster({
      rootNodes: options.cluster.rootNodes,
      defaults: {
        ...extra,
        ...defaults,
        disableOfflineQueue: true,
        socket: { ...extra.socket, ...defaults.socket, ...socket },
      } as never,
      commandOptions,
    } as never) as unknown as ClusterLike;
    return clusterBackend(cluster, true);
  }
  if (options.client) {
    const client = options.client as unknown as ClientLike | ClusterLike;
    if ('masters' in client) return clusterBackend(client, options.closeClient);
    return clientBackend(client, options.closeClient);
  }
  const extra = (options.clientOptions ?? {}) as { socket?: object };
  // host, port and credentials rather than the URL itself: node-redis mishandles an IPv6 literal in a URL
  const { socket: urlSocket, ...fromUrl } = options.url
    ? clientOptionsFromUrl(options.url, 'redis.url')
    : { socket: {} };
  const client = createClient({
    ...extra,
    ...fromUrl,
    ...(options.password ? { password: options.password } : {}),
    ...(options.db !== undefined ? { database: options.db } : {}),
    disableOfflineQueue: true,
    socket: { ...extra.socket, ...urlSocket, ...socket },
    commandOptions,
  } as never) as unknown as ClientLike;
  return clientBackend(client, true);
}

/**
 * Whether the cache closes a connection: `closeClient` when given (true for a client the cache made), else only if
 * the cache opened it (a handed-over client the user had not connected), so that nothing the user never opened
 * outlives the cache and keeps the process alive.
 */
function closing(closeClient: boolean | undefined) {
  let opened = false;
  return {
    /** Opens the connection through `open`, remembering that the cache did. */
    open<T>(open: () => Promise<T>): Promise<T> {
      opened = true;
      return open();
    },
    get closes(): boolean {
      return closeClient ?? opened;
    },
  };
}

export interface EmitterLike {
  on(event: string, listener: (arg?: unknown) => void): unknown;
  once?(event: string, listener: (arg?: unknown) => void): unknown;
  readonly isReady: boolean;
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy?(): unknown;
}

/** How long a graceful close may wait for replies to commands already sent (and `Cache.close` for work in flight). */
export const CLOSE_GRACE_MS = 1000;

/**
 * Closes a connection without ever hanging: gracefully (pending replies arrive) when it is ready, for at most
 * CLOSE_GRACE_MS; at once when it is still connecting or reconnecting, or Redis stopped answering (a partition,
 * SIGSTOP), where node-redis's `close()` would wait for replies that never come.
 */
export async function closeConnection(client: EmitterLike): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) {
    client.destroy?.();
    return;
  }
  const how = await waitAtMost(
    client.close().catch(() => {}),
    CLOSE_GRACE_MS,
  );
  if (how === TIMED_OUT && client.isOpen) client.destroy?.();
}
interface ClientLike extends EmitterLike {
  sendCommand(args: Array<string | Buffer>, options?: object): Promise<unknown>;
  withTypeMapping?(typeMapping: object): ClientLike;
}
interface ClusterLike extends EmitterLike {
  readonly masters: unknown[];
  nodeClient(node: unknown): { sendCommand(args: string[]): Promise<unknown> } | Promise<never>;
  sendCommand(
    key: string | undefined,
    readonly: boolean,
    args: Array<string | Buffer>,
    options?: object,
  ): Promise<unknown>;
  withTypeMapping?(typeMapping: object): ClusterLike;
}

/**
 * The client's Buffer-replies view (`withTypeMapping`), made once, or undefined when it has none. Commands sent
 * through it skip a per-call options merge that costs ~3 µs per command on the hit path (measured, node-redis 6).
 */
function binaryView<C extends ClientLike | ClusterLike>(client: C): C | undefined {
  return typeof client.withTypeMapping === 'function' ? (client.withTypeMapping(BINARY.typeMapping) as C) : undefined;
}

function clientBackend(client: ClientLike, closeClient: boolean | undefined): Backend {
  const binary = binaryView(client);
  const ownership = closing(closeClient);
  const send = binary
    ? (args: Array<string | Buffer>) => binary.sendCommand(args)
    : (args: Array<string | Buffer>) => client.sendCommand(args, BINARY);
  return {
    kind: 'client',
    raw: client,
    isReady: () => client.isReady,
    send: (_key, _readonly, args) => send(args),
    mget: (keys) => send(['MGET', ...keys]) as Promise<Array<Buffer | null>>,
    connect: () => whenReady(client, ownership.open),
    close: async () => {
      if (ownership.closes) await closeConnection(client);
    },
    on: (event, listener) => void client.on(event, listener),
    subscriber: () => clientSubscriber(client as unknown as PubSubClient),
    servers: async () => [(args) => send(args)],
  };
}

/**
 * Connects, or waits for a connection already under way: a client the user opened without waiting for it would
 * refuse a second `connect()` ("Socket already opened"), and resolving at once would report it ready too early.
 */
function whenReady(client: ClientLike, open: (connect: () => Promise<unknown>) => Promise<unknown>): Promise<unknown> {
  if (client.isReady) return Promise.resolve();
  if (!client.isOpen) return open(() => client.connect());
  return new Promise((resolve, reject) => {
    const once = (client.once ?? client.on).bind(client);
    once('ready', resolve);
    once('error', reject);
  });
}

function clusterBackend(cluster: ClusterLike, closeClient: boolean | undefined): Backend {
  const binary = binaryView(cluster);
  const ownership = closing(closeClient);
  const send = binary
    ? (key: string | undefined, readonly: boolean, args: Array<string | Buffer>) =>
        binary.sendCommand(key, readonly, args)
    : (key: string | undefined, readonly: boolean, args: Array<string | Buffer>) =>
        cluster.sendCommand(key, readonly, args, BINARY);
  const get = (key: string) => send(key, true, ['GET', key]) as Promise<Buffer | null>;
  return {
    kind: 'cluster',
    raw: cluster,
    isReady: () => cluster.isReady,
    send,
    mget: (keys) => Promise.all(keys.map(get)),
    connect: () => (cluster.isOpen ? Promise.resolve() : ownership.open(() => cluster.connect())), // no 'ready'
    close: async () => {
      if (ownership.closes) await closeConnection(cluster);
    },
    on: (event, listener) => void cluster.on(event, listener),
    subscriber: () => clusterSubscriber(cluster as unknown as PubSubCluster),
    servers: async () => {
      const nodes = await Promise.all(cluster.masters.map((node) => cluster.nodeClient(node)));
      return nodes.map((node) => (args: string[]) => node.sendCommand(args));
    },
  };
}
