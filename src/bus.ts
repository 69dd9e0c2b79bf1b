/**
 * The invalidation bus: keeps the memory tiers of many instances coherent over Redis pub/sub.
 * Messages go out on the cache's own connection (fire-and-forget, replayed after an outage) and come in on a
 * dedicated subscriber connection. While that connection is down the cache bounds how long a memory entry is
 * served (`memory.busDownTtl`), and when it is back every memory tier is cleared (resync).
 */
import { randomBytes } from 'node:crypto';
import type { RedisTier } from './redis/tier.js';
import { closeConnection } from './redis/connection.js';
import type { Tiers } from './store.js';
import type { Logger } from './options.js';

/** What a bus message asks the other instances to drop from their memory tiers. */
export type BusMessage =
  | { key: string; kind: string }
  | { kind: string; key?: undefined }
  | { tags: string[] }
  | { all: true }
  | { semantic: { kind: string; id: string } };

/** Counters of the bus, for `info()` and tests. */
export interface BusCounters {
  /** Messages published by this instance. */
  sent: number;
  /** Messages that could not be published (replayed when Redis is back). */
  failed: number;
  /** Messages received from other instances. */
  received: number;
  /** Times the memory tiers were cleared because the subscriber (re)connected. */
  resyncs: number;
}

/** Most messages kept for replay after a failed publish; beyond it one "drop everything" is replayed instead. */
const MAX_PENDING = 100;
/** Wait before retrying a subscriber that could not be started. */
const RETRY_MS = 1000;

interface Subscriber {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  unsubscribe(channel: string, listener?: (message: string) => void): Promise<unknown>;
  duplicate(): Subscriber;
  destroy?(): void;
  close(): Promise<unknown>;
  readonly pubSubNode?: { client: { readonly isReady: boolean } };
}

/** Publishes this instance's changes and applies the other instances' changes to the memory tiers. */
export class Bus {
  /** Random id of this instance; its own messages are ignored. */
  readonly id = randomBytes(8).toString('hex');
  /** Pub/sub channel: `{namespace}:__bus`. */
  readonly channel: string;
  readonly counters: BusCounters = { sent: 0, failed: 0, received: 0, resyncs: 0 };
  readonly #redis: RedisTier;
  readonly #tiers: Tiers;
  readonly #logger: Logger | undefined;
  readonly #listener = (message: string) => this.#receive(message);
  readonly #watchers = new Set<(message: Record<string, unknown>) => void>();
  #pending: string[] = [];
  #started: Promise<void> | undefined;
  #sub: Subscriber | undefined;
  #up: () => boolean = () => false;
  #since = Infinity;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  #clusterListening = false;

  constructor(redis: RedisTier, tiers: Tiers, namespace: string, logger: Logger | undefined) {
    this.#redis = redis;
    this.#tiers = tiers;
    this.#logger = logger;
    this.channel = `${namespace}:__bus`;
    // After the invalidation replays of the store (queued on the same 'ready'), so receivers read the new generations.
    redis.onReady(() => void setTimeout(() => this.#replay(), 0));
  }

  /** True while the subscriber is connected and subscribed: messages from other instances are arriving. */
  get up(): boolean {
    return this.#up();
  }

  /**
   * When the bus first came up (ms since the epoch; `Infinity` before). Memory entries stored before it may have
   * missed a message: they are served only for `memory.busDownTtl`, like entries stored while the bus is down.
   */
  get since(): number {
    return this.#since;
  }

  /** Starts the subscriber (once; cheap to call on every memory-tier use). Resolves when subscribed or failed. */
  start(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (!this.#started) {
      this.#started = this.#subscribe().catch((error: unknown) => {
        if (this.#closed) return;
        this.#logger?.warn(`infercache: invalidation bus cannot subscribe: ${this.#redis.message(error)}`);
        this.#sub?.destroy?.();
        this.#sub = undefined;
        this.#retry = setTimeout(() => {
          this.#started = undefined;
          void this.start();
        }, RETRY_MS);
        this.#retry.unref();
      });
    }
    return this.#started;
  }

  /** Tells the other instances to drop memory copies; never throws, never waits. */
  publish(message: BusMessage): void {
    if (this.#closed) return;
    this.#send(JSON.stringify({ ...message, from: this.id }));
  }

  /**
   * Calls `watcher` with each message from another instance, after the memory tiers applied it, and with
   * `{ resync: true }` when the subscriber came back (messages may have been missed); returns an unsubscribe.
   */
  watch(watcher: (message: Record<string, unknown>) => void): () => void {
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  /** Unsubscribes and closes the subscriber connection. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const sub = this.#sub;
    this.#sub = undefined;
    this.#up = () => false;
    if (!sub) return;
    if (this.#redis.backend.kind === 'cluster') await sub.unsubscribe(this.channel, this.#listener).catch(() => {});
    else await closeConnection(sub);
  }

  #send(payload: string): void {
    // Sent synchronously after any write queued before it on the same connection, so receivers read the new value.
    void this.#redis.send(this.channel, false, ['PUBLISH', this.channel, payload]).then((reply) => {
      if (reply !== undefined) {
        this.counters.sent++;
        return;
      }
      this.counters.failed++;
      this.#pending.push(payload);
      if (this.#pending.length > MAX_PENDING) this.#pending = [JSON.stringify({ all: true, from: this.id })];
    });
  }

  #replay(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const payload of pending) this.#send(payload);
  }

  async #subscribe(): Promise<void> {
    const raw = this.#redis.backend.raw as Subscriber;
    if (this.#redis.backend.kind === 'cluster') {
      // node-redis keeps one dedicated pub/sub client per cluster and resubscribes it after failures and reshards.
      if (!this.#clusterListening) raw.on('node-ready', () => this.#resync());
      this.#clusterListening = true;
      await raw.subscribe(this.channel, this.#listener);
      this.#sub = raw;
      this.#up = () => raw.isReady && raw.pubSubNode?.client.isReady === true;
    } else {
      const sub = raw.duplicate();
      this.#sub = sub;
      sub.on('error', () => {}); // the cache's own connection reports Redis errors
      let subscribed = false;
      // node-redis resubscribes before 'ready' on a reconnect: from here on no message is missed.
      sub.on('ready', () => subscribed && this.#resync());
      await sub.connect();
      await sub.subscribe(this.channel, this.#listener);
      subscribed = true;
      this.#up = () => sub.isReady;
    }
    // The first subscription clears nothing (a model loaded at start-up stays); entries stored before it are bounded.
    this.#since = Date.now();
  }

  /** After a reconnect, entries stored while messages could be missed may be stale: drop them all. */
  #resync(): void {
    if (this.#closed || !this.#up()) return;
    this.counters.resyncs++;
    this.#tiers.clearMemory();
    this.#tell({ resync: true });
  }

  #receive(payload: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof m !== 'object' || m === null || m.from === this.id) return;
    this.counters.received++;
    const tiers = this.#tiers;
    if (m.all === true) tiers.clearMemory();
    else if (typeof m.key === 'string' && typeof m.kind === 'string') tiers.dropKey(m.key, m.kind);
    else if (typeof m.kind === 'string') {
      const kind = m.kind;
      tiers.dropMemory((e) => e.kind === kind);
    } else if (Array.isArray(m.tags)) {
      const tags = new Set(m.tags);
      tiers.dropMemory((e) => e.tags.some((t) => tags.has(t)));
    }
    this.#tell(m);
  }

  #tell(m: Record<string, unknown>): void {
    for (const watcher of this.#watchers) {
      try {
        watcher(m);
      } catch (error) {
        this.#logger?.warn(`infercache: a bus watcher failed: ${(error as Error)?.message}`);
      }
    }
  }
}
