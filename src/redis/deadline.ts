/**
 * Bounds Redis operations by one fixed timeout with a single timer, not one timer per command:
 * all operations share the same timeout, so a FIFO queue is already ordered by deadline.
 */
import { TimeoutError } from '../errors.js';

/** One operation under watch: `settled` once it finished or timed out, whichever came first. */
export interface Pending {
  at: number;
  op: string;
  settled: boolean;
  reject: (error: Error) => void;
}

const NOOP = (): void => {};

/** Races promises against a shared, fixed timeout. */
export class Deadlines {
  readonly #ms: number;
  #queue: Pending[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Resolves or rejects like `promise`, or rejects with a TimeoutError after the timeout. */
  race<T>(promise: Promise<T>, op: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { at: Date.now() + this.#ms, op, settled: false, reject };
      promise.then(
        (value) => {
          if (!this.settle(pending)) return;
          resolve(value);
        },
        (error: unknown) => {
          if (!this.settle(pending)) return;
          reject(error);
        },
      );
      this.#queue.push(pending);
      if (this.#timer === undefined) this.#arm(this.#ms);
    });
  }

  /**
   * Watches an operation without wrapping it in a promise: `onTimeout` is called with a TimeoutError unless
   * `settle(pending)` was called first (the hit path's reads use this; `race` costs two more promises).
   */
  watch(op: string, onTimeout: (error: Error) => void): Pending {
    const pending: Pending = { at: Date.now() + this.#ms, op, settled: false, reject: onTimeout };
    this.#queue.push(pending);
    if (this.#timer === undefined) this.#arm(this.#ms);
    return pending;
  }

  /** Marks a watched operation finished; false when it had already timed out (or been settled). */
  settle(pending: Pending): boolean {
    if (pending.settled) return false;
    pending.settled = true;
    // It stays queued until the timer next fires: let go of what its callback holds (replies, promises) now.
    pending.reject = NOOP;
    return true;
  }

  /** Rejects everything pending now (on close). */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let i = this.#head; i < this.#queue.length; i++) this.#expire(this.#queue[i]!);
    this.#queue = [];
    this.#head = 0;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(this.#sweep, Math.max(1, delay));
    this.#timer.unref();
  }

  #expire(pending: Pending): void {
    if (pending.settled) return;
    pending.settled = true;
    pending.reject(new TimeoutError(pending.op, this.#ms));
  }

  #sweep = (): void => {
    this.#timer = undefined;
    const now = Date.now();
    const queue = this.#queue;
    let head = this.#head;
    while (head < queue.length) {
      const pending = queue[head]!;
      if (!pending.settled && pending.at > now) break;
      this.#expire(pending);
      head++;
    }
    if (head === queue.length) {
      this.#queue = [];
      this.#head = 0;
      return;
    }
    if (head > 1024 && head * 2 > queue.length) {
      this.#queue = queue.slice(head);
      head = 0;
    }
    this.#head = head;
    this.#arm(this.#queue[head]!.at - now);
  };
}
