/**
 * The fail-open Redis tier: every operation is bounded by the operation timeout, skipped while
 * disconnected or while the circuit breaker is open, and reports failure as `undefined`, never as an error (but
 * `sendOrThrow`, for admin operations that must report it, throws UnavailableError).
 */
import { ErrorReply } from 'redis';
import { CircuitBreaker } from './breaker.js';
import { Deadlines } from './deadline.js';
import { redactMessage, type Backend } from './connection.js';
import { UnavailableError, isInfercacheError } from '../errors.js';
import type { Logger } from '../options.js';

/** Filled by `send` when the command was sent and failed (not when Redis was skipped): the scrubbed message. */
export interface SendReport {
  failed?: string;
}

/** Whether `error` is (or was caused by) an error reply: Redis answered, but refused the command (WRONGTYPE, OOM…). */
export function isErrorReply(error: unknown): boolean {
  return error instanceof ErrorReply || (error instanceof Error && error.cause instanceof ErrorReply);
}

/** Connection status of the Redis tier. */
export type RedisStatus = 'connecting' | 'ready' | 'reconnecting' | 'closed';

/** Settings of the Redis tier. */
export interface RedisTierSettings {
  operationTimeout: number;
  breaker: { threshold: number; cooldown: number; maxCooldown: number };
  logger: Logger | undefined;
  /** Secrets to scrub from every message (passwords). */
  secrets: string[];
}

/** Counters of the Redis tier, for stats() and health(). */
export interface RedisTierCounters {
  errors: number;
  timeouts: number;
  skipped: number;
  lastError: string | undefined;
}

interface PendingRead {
  keys: string[];
  resolve: (replies: Array<Buffer | null> | undefined) => void;
}

/** Redis operations that never throw because Redis is down, slow or gone. */
export class RedisTier {
  readonly backend: Backend;
  readonly counters: RedisTierCounters = { errors: 0, timeouts: 0, skipped: 0, lastError: undefined };
  readonly breaker: CircuitBreaker;
  readonly #deadlines: Deadlines;
  readonly #settings: RedisTierSettings;
  #status: RedisStatus = 'connecting';
  #firstConnect: Promise<void> | undefined;
  #wasReady = false;
  #firstAttemptFailed: ((error: unknown) => void) | undefined;
  /** Reads sent and not answered yet: while there are any, a new read waits for the end of its tick (`#reads`). */
  #readsOut = 0;
  /** Reads waiting for the end of the tick, to go together in one MGET; undefined when none wait. */
  #reads: PendingRead[] | undefined;
  /** Commands sent and not settled, plus work holding the connection open (`hold`): what `close()` waits for. */
  #busy = 0;
  /** Told when `#busy` falls to 0 (`drain`). */
  #idle: (() => void) | undefined;

  constructor(backend: Backend, settings: RedisTierSettings) {
    this.backend = backend;
    this.#settings = settings;
    this.#deadlines = new Deadlines(settings.operationTimeout);
    this.breaker = new CircuitBreaker(
      settings.breaker.threshold,
      settings.breaker.cooldown,
      settings.breaker.maxCooldown,
      (state) => settings.logger?.warn(`infercache: Redis circuit breaker ${state}`),
    );
    backend.on('error', (error) => {
      this.#record(error);
      this.#firstAttemptFailed?.(error);
      if (!backend.isReady()) this.breaker.trip(); // a failed (re)connect: Redis is down, say so
    });
    backend.on('ready', () => {
      this.#status = 'ready';
      if (this.#wasReady) settings.logger?.info?.('infercache: Redis reconnected');
      this.#wasReady = true;
      this.breaker.success();
    });
    backend.on('end', () => {
      if (this.#status === 'closed') return;
      this.#status = 'reconnecting';
      this.breaker.trip(); // the connection dropped: open until 'ready' closes it (for health, metrics, alerts)
    });
  }

  /** Calls `listener` each time the connection becomes ready (first connect and every reconnect). */
  onReady(listener: () => void): void {
    this.backend.on('ready', () => listener());
  }

  /** Connection status. */
  get status(): RedisStatus {
    if (this.#status === 'ready' && !this.backend.isReady()) return 'reconnecting';
    return this.#status;
  }

  /** Starts connecting in the background; resolves when connected, rejects if the first attempt fails. */
  connect(): Promise<void> {
    if (this.backend.isReady()) {
      // a client the user connected before handing it over: its 'ready' came before our listener
      if (this.#status === 'connecting') this.#status = 'ready';
      this.#wasReady = true;
      return Promise.resolve();
    }
    if (!this.#firstConnect) {
      // node-redis keeps retrying a failed first connection in the background and its connect() promise waits
      // for that; ours settles with the first attempt, so nothing ever waits on an outage.
      this.#firstConnect = new Promise<void>((resolve, reject) => {
        this.#firstAttemptFailed = (error: unknown) => {
          this.#firstAttemptFailed = undefined;
          if (this.#status === 'connecting') this.#status = 'reconnecting';
          reject(new UnavailableError(`infercache: cannot connect to Redis: ${this.#message(error)}`));
        };
        this.backend.connect().then(
          () => {
            this.#firstAttemptFailed = undefined;
            this.#status = 'ready';
            this.#wasReady = true;
            resolve();
          },
          (error: unknown) => {
            this.#record(error);
            this.#firstAttemptFailed?.(error);
          },
        );
      });
      this.#firstConnect.catch(() => {});
    }
    return this.#firstConnect;
  }

  /** True when an operation would be sent now. */
  get available(): boolean {
    return this.backend.isReady() && this.breaker.state !== 'open';
  }

  /**
   * Reads keys in one round trip: `deliver` is called once, with the replies, or undefined when Redis was skipped (then
   * at once) or failed; it must not throw. A read is sent at once when no other read is waiting for its replies;
   * otherwise it waits for the end of the tick, and the reads issued in that tick (concurrent calls) share one MGET
   * of the union of their keys, so that 64 calls in flight cost Redis and the client a few commands, not 64, and the
   * generation counters they all read are sent once. A sequential caller never waits and schedules nothing (a tick
   * callback per read cost about 0.5 µs of a hit, measured). A callback, not a promise: the hit path's read costs one
   * promise, the reader's.
   */
  read(keys: string[], deliver: (replies: Array<Buffer | null> | undefined) => void): void {
    const waiting = this.#reads;
    if (waiting !== undefined) waiting.push({ keys, resolve: deliver });
    else if (this.#readsOut === 0) this.#read(keys, 1, deliver);
    else {
      this.#reads = [{ keys, resolve: deliver }];
      process.nextTick(this.#flushReads);
    }
  }

  /** End of the tick: sends the reads that waited, alone or together as one MGET whose replies are handed back. */
  #flushReads = (): void => {
    const reads = this.#reads!;
    this.#reads = undefined;
    if (reads.length === 1) return this.#read(reads[0]!.keys, 1, reads[0]!.resolve);
    const slot = new Map<string, number>();
    const union: string[] = [];
    const where = reads.map((read) =>
      read.keys.map((key) => {
        let i = slot.get(key);
        if (i === undefined) slot.set(key, (i = union.push(key) - 1));
        return i;
      }),
    );
    this.#read(union, reads.length, (replies) => {
      for (let r = 0; r < reads.length; r++) reads[r]!.resolve(replies && where[r]!.map((i) => replies[i] ?? null));
    });
  };

  /**
   * One MGET, fail-open, for `operations` callers: `deliver` gets the replies, or undefined when Redis was skipped or
   * failed.
   */
  #read(keys: string[], operations: number, deliver: (replies: Array<Buffer | null> | undefined) => void): void {
    const mget = () => this.backend.mget(keys);
    this.#readsOut++;
    const answered = (replies: Array<Buffer | null> | undefined): void => {
      this.#readsOut--;
      deliver(replies);
    };
    if (this.backend.isReady()) this.#watched('mget', mget, operations, answered);
    else void this.#whenReady('mget', mget, operations).then(answered);
  }

  /**
   * Sends one command when connected, fail-open: `deliver` gets its reply, or undefined when it was skipped (circuit
   * open) or failed (then `report.failed` says why). Watched by the shared deadline rather than raced in promises: a
   * write or a read costs one promise, the client's.
   */
  #watched<T>(
    op: string,
    call: () => Promise<T>,
    operations: number,
    deliver: (reply: T | undefined) => void,
    report?: SendReport,
  ): void {
    if (!this.breaker.allow()) {
      this.counters.skipped += operations;
      return deliver(undefined);
    }
    this.#busy++;
    const failed = (error: unknown): void => {
      this.#done();
      this.#failed(error);
      if (report) report.failed = this.#message(error);
      deliver(undefined);
    };
    const watch = this.#deadlines.watch(op, failed);
    let sent: Promise<T>;
    try {
      sent = call();
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (reply) => {
        if (!this.#deadlines.settle(watch)) return;
        this.#done();
        this.breaker.success();
        deliver(reply);
      },
      (error: unknown) => {
        if (this.#deadlines.settle(watch)) failed(error);
      },
    );
  }

  /** Sends a command; `undefined` when Redis was skipped or failed. */
  send(
    key: string | undefined,
    readonly: boolean,
    args: Array<string | Buffer>,
    report?: SendReport,
  ): Promise<unknown> {
    return this.#run(String(args[0]).toLowerCase(), () => this.backend.send(key, readonly, args), 1, report);
  }

  /** Sends a command and throws on failure, for admin operations that must report it (invalidate, health). */
  async sendOrThrow(key: string | undefined, readonly: boolean, args: Array<string | Buffer>): Promise<unknown> {
    this.#busy++;
    try {
      if (!(await this.#ready())) throw new UnavailableError('infercache: Redis is not connected');
      const reply = await this.#deadlines.race(this.backend.send(key, readonly, args), String(args[0]));
      this.breaker.success();
      return reply;
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      this.#failed(error);
      throw new UnavailableError(`infercache: Redis ${String(args[0])} failed: ${this.#message(error)}`, {
        cause: error instanceof ErrorReply ? error : undefined, // Redis's answer (no secret in it)
      });
    } finally {
      this.#done();
    }
  }

  /**
   * Marks work that will send commands (a write waiting for a user `serialize`) so that `drain` waits for it too;
   * call the returned function once it is done.
   */
  hold(): () => void {
    this.#busy++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#done();
    };
  }

  /**
   * Waits until no command is in flight (writes, publishes and invalidations sent just before), including those that
   * a reply sends next (the publish that follows a write), for at most `ms`. Commands keep running meanwhile.
   */
  async drain(ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      // the follow-ups of a reply (a publish after a write) are sent from promise callbacks: let them run first
      if (this.#busy === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#busy === 0) return;
      const left = until - Date.now();
      if (left <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#idle = undefined;
    }
  }

  /**
   * Stops everything: what is still pending (only after a `drain` that ran out of time) resolves as skipped, and
   * nothing is logged from here on.
   */
  async close(): Promise<void> {
    this.#status = 'closed';
    this.#deadlines.clear();
    await this.backend.close().catch((error: unknown) => this.#record(error));
  }

  /** Scrubs secrets from an error's message. */
  message(error: unknown): string {
    return this.#message(error);
  }

  /** Runs one command fail-open; `operations` is how many callers it serves (for the skipped counter). */
  #run<T>(op: string, call: () => Promise<T>, operations = 1, report?: SendReport): Promise<T | undefined> {
    if (!this.backend.isReady()) return this.#whenReady(op, call, operations, report);
    return new Promise((resolve) => this.#watched(op, call, operations, resolve, report));
  }

  /** {@link #run} before the first connection (waits for it, within the timeout) or while disconnected (skips). */
  async #whenReady<T>(
    op: string,
    call: () => Promise<T>,
    operations: number,
    report?: SendReport,
  ): Promise<T | undefined> {
    this.#busy++;
    try {
      if (!(await this.#ready())) {
        this.counters.skipped += operations;
        return undefined;
      }
      return await new Promise<T | undefined>((resolve) => this.#watched(op, call, operations, resolve, report));
    } finally {
      this.#done();
    }
  }

  /** One command (or held piece of work) fewer in flight; wakes `drain` at zero. */
  #done(): void {
    if (--this.#busy === 0) this.#idle?.();
  }

  /** Waits for the first connection attempt (bounded by the operation timeout); later, never waits. */
  async #ready(): Promise<boolean> {
    if (this.backend.isReady()) return true;
    if (this.#status !== 'connecting' || !this.#firstConnect) return false;
    try {
      await this.#deadlines.race(this.#firstConnect, 'connect');
    } catch {
      return false;
    }
    return this.backend.isReady();
  }

  #failed(error: unknown): void {
    // An error reply (OOM, WRONGTYPE…) is Redis answering: it says nothing against the connection.
    if (error instanceof ErrorReply) this.breaker.success();
    else this.breaker.failure();
    if (isInfercacheError(error, 'E_CACHE_TIMEOUT')) this.counters.timeouts++;
    this.#record(error);
  }

  #record(error: unknown): void {
    this.counters.errors++;
    const message = this.#message(error);
    // after close, what fails is what closing cut short (reported by nobody's call): say nothing
    if (message !== this.counters.lastError && this.#status !== 'closed')
      this.#settings.logger?.warn(`infercache: Redis error: ${message}`);
    this.counters.lastError = message;
  }

  #message(error: unknown): string {
    const raw = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return redactMessage(raw, this.#settings.secrets);
  }
}
