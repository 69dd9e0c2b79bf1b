/**
 * The invalidation bus: carries memory drops between instances over Redis pub/sub (what a drop does is the
 * `Coherence`'s business: it publishes them and applies those received).
 * Messages go out on the cache's own connection (fire-and-forget, replayed after an outage) and come in on a
 * dedicated subscriber connection. While that connection is down the cache bounds how long a memory entry is
 * served (`memory.busDownTtl`), and when it is back every memory tier is cleared (resync).
 */
import { randomBytes } from 'node:crypto';
import type { RedisTier } from './redis/tier.js';
import type { Subscriber } from './redis/pubsub.js';
import type { Logger } from './options.js';

/** What a bus message asks the other instances to drop from their memory tiers. */
export type BusMessage =
  | { key: string; kind: string }
  | { kind: string; key?: undefined }
  | { tags: string[] }
  | { all: true }
  | { semantic: { kind: string; id: string } };

/** The messages that drop entries from the memory tiers (all but the semantic tier's vector notices). */
export type DropMessage = Exclude<BusMessage, { semantic: unknown }>;

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

/** Where the bus delivers what other instances say. */
export interface BusHandlers {
  /** A valid message from another instance. */
  receive(message: DropMessage): void;
  /** The subscriber is back after it was lost: messages may have been missed. */
  resync(): void;
}

/** Most messages kept for replay after a failed publish; beyond it one "drop everything" is replayed instead. */
const MAX_PENDING = 100;
/** Wait before retrying a subscriber that could not be started. */
const RETRY_MS = 1000;

/** Publishes this instance's drops and hands over the other instances' ones. */
export class Bus {
  /** Random id of this instance; its own messages are ignored. */
  readonly id = randomBytes(8).toString('hex');
  /** Pub/sub channel: `{namespace}:__bus`. */
  readonly channel: string;
  readonly counters: BusCounters = { sent: 0, failed: 0, received: 0, resyncs: 0 };
  readonly #redis: RedisTier;
  readonly #handlers: BusHandlers;
  readonly #logger: Logger | undefined;
  readonly #listener = (message: string) => this.#receive(message);
  /** How this instance's own messages begin (`from` comes first): they are recognised without being parsed. */
  readonly #own = `{"from":"${this.id}"`;
  readonly #watchers = new Set<(message: Record<string, unknown>) => void>();
  readonly #resubscribed = () => this.#resync();
  #pending: string[] = [];
  #started: Promise<void> | undefined;
  #sub: Subscriber | undefined;
  #up: () => boolean = () => false;
  #since = Infinity;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(redis: RedisTier, namespace: string, logger: Logger | undefined, handlers: BusHandlers) {
    this.#redis = redis;
    this.#handlers = handlers;
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
        this.#sub?.discard();
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
    this.#send(JSON.stringify({ from: this.id, ...message }));
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
    await sub?.close();
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
      if (this.#pending.length > MAX_PENDING) this.#pending = [JSON.stringify({ from: this.id, all: true })];
    });
  }

  #replay(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const payload of pending) this.#send(payload);
  }

  async #subscribe(): Promise<void> {
    const sub = (this.#sub = this.#redis.backend.subscriber());
    await sub.subscribe(this.channel, this.#listener, this.#resubscribed);
    this.#up = () => sub.up;
    // The first subscription clears nothing (a model loaded at start-up stays); entries stored before it are bounded.
    this.#since = Date.now();
  }

  /** After a reconnect, entries stored while messages could be missed may be stale: drop them all. */
  #resync(): void {
    if (this.#closed || !this.#up()) return;
    this.counters.resyncs++;
    this.#handlers.resync();
    this.#tell({ resync: true });
  }

  #receive(payload: string): void {
    // every instance hears its own messages (one per write of a memory-tier entry): the cheapest way out first
    if (payload.startsWith(this.#own)) return;
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof m !== 'object' || m === null || m.from === this.id) return;
    this.counters.received++;
    if (m.all === true) this.#handlers.receive({ all: true });
    else if (typeof m.key === 'string' && typeof m.kind === 'string')
      this.#handlers.receive({ key: m.key, kind: m.kind });
    else if (typeof m.kind === 'string') this.#handlers.receive({ kind: m.kind });
    else if (Array.isArray(m.tags)) this.#handlers.receive({ tags: m.tags as string[] });
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
