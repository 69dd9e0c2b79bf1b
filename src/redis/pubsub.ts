/**
 * Pub/sub connections for the invalidation bus, behind the `Backend` interface: a client subscribes on a duplicate
 * of itself, a cluster on the pub/sub client node-redis keeps for it (and resubscribes after failures and reshards).
 */
import { closeConnection, type EmitterLike } from './connection.js';

/** A subscription to one channel on a connection of its own. */
export interface Subscriber {
  /**
   * Connects (when needed) and subscribes `listener` to `channel`; `resubscribed` is told each time the
   * subscription is back after it was lost (messages may have been missed meanwhile), never for the first one.
   */
  subscribe(channel: string, listener: (message: string) => void, resubscribed: () => void): Promise<void>;
  /** True while connected: messages are arriving (once subscribed). */
  readonly up: boolean;
  /** Stops listening and closes what was opened for it; safe in any state. */
  close(): Promise<void>;
  /** Drops at once what a failed `subscribe` left open. */
  discard(): void;
}

/** What a client must offer to subscribe on a duplicate. */
export interface PubSubClient extends EmitterLike {
  duplicate(): PubSubClient;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
}

/** What a cluster must offer to subscribe. */
export interface PubSubCluster {
  readonly isReady: boolean;
  readonly pubSubNode?: { client: { readonly isReady: boolean } };
  on(event: string, listener: () => void): unknown;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  unsubscribe(channel: string, listener?: (message: string) => void): Promise<unknown>;
}

/** A subscriber on a new duplicate of `client`. */
export function clientSubscriber(client: PubSubClient): Subscriber {
  const sub = client.duplicate();
  sub.on('error', () => {}); // the cache's own connection reports Redis errors
  return {
    async subscribe(channel, listener, resubscribed) {
      let subscribed = false;
      // node-redis resubscribes before 'ready' on a reconnect: from here on no message is missed.
      sub.on('ready', () => subscribed && resubscribed());
      await sub.connect();
      await sub.subscribe(channel, listener);
      subscribed = true;
    },
    get up() {
      return sub.isReady;
    },
    close: () => closeConnection(sub),
    discard: () => void sub.destroy?.(),
  };
}

/** Clusters already telling a `resubscribed` listener of each node's readiness (added once, whatever the retries). */
const listening = new WeakMap<PubSubCluster, WeakSet<() => void>>();

/** A subscriber on `cluster`'s own pub/sub client. */
export function clusterSubscriber(cluster: PubSubCluster): Subscriber {
  let unsubscribe = async (): Promise<void> => {};
  return {
    async subscribe(channel, listener, resubscribed) {
      let told = listening.get(cluster);
      if (!told) listening.set(cluster, (told = new WeakSet()));
      if (!told.has(resubscribed)) cluster.on('node-ready', resubscribed);
      told.add(resubscribed);
      unsubscribe = () => cluster.unsubscribe(channel, listener).then(() => {});
      await cluster.subscribe(channel, listener);
    },
    get up() {
      return cluster.isReady && cluster.pubSubNode?.client.isReady === true;
    },
    close: () => unsubscribe().catch(() => {}),
    discard: () => {},
  };
}
