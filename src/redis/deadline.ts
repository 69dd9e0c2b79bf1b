/**
 * Bounds Redis operations by one fixed timeout with a single timer, not one timer per command:
 * all operations share the same timeout, so the order they started in is already the order of their deadlines.
 */
import { TimeoutError } from '../errors.js';

/** One operation under watch; it is settled (finished or timed out) once it has left `Deadlines`' list. */
export interface Pending {
  at: number;
  op: string;
  reject: (error: Error) => void;
}

/** A {@link Pending} linked into the list of operations not yet settled (see `Deadlines.#linked`). */
interface Watched extends Pending {
  prev: Watched | undefined;
  next: Watched | undefined;
}

const NOOP = (): void => {};

/** Races promises against a shared, fixed timeout. */
export class Deadlines {
  readonly #ms: number;
  /**
   * The operations not yet settled, oldest first, as a list linked through them: with one timeout for all, the order
   * they started in is deadline order. A settled operation leaves at once (a constant-time unlink, where a Set of
   * fresh objects hashed each one: measured on the hit path) and lets go of its callback: a queue swept by the timer
   * kept each one alive for up to the timeout, long enough to outlive young-generation collections (measured on the
   * 64-in-flight hit path: hundreds of KB promoted per collection).
   */
  #head: Watched | undefined;
  #tail: Watched | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Resolves or rejects like `promise`, or rejects with a TimeoutError after the timeout. */
  race<T>(promise: Promise<T>, op: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending = this.watch(op, reject);
      promise.then(
        (value) => {
          if (this.settle(pending)) resolve(value);
        },
        (error: unknown) => {
          if (this.settle(pending)) reject(error);
        },
      );
    });
  }

  /**
   * Watches an operation without wrapping it in a promise: `onTimeout` is called with a TimeoutError unless
   * `settle(pending)` was called first (the hit path's reads use this; `race` costs two more promises).
   */
  watch(op: string, onTimeout: (error: Error) => void): Pending {
    const tail = this.#tail;
    const watched: Watched = {
      at: Date.now() + this.#ms,
      op,
      reject: onTimeout,
      prev: tail,
      next: undefined,
    };
    if (tail) tail.next = watched;
    else this.#head = watched;
    this.#tail = watched;
    if (this.#timer === undefined) this.#arm(this.#ms);
    return watched;
  }

  /** Marks a watched operation finished; false when it had already timed out (or been settled). */
  settle(pending: Pending): boolean {
    const watched = pending as Watched;
    if (!this.#linked(watched)) return false;
    this.#unlink(watched);
    watched.reject = NOOP;
    return true;
  }

  /** Rejects everything pending now (on close). */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const all: Watched[] = [];
    for (let watched = this.#head; watched; watched = this.#head) {
      this.#unlink(watched);
      all.push(watched);
    }
    for (const watched of all) this.#expire(watched);
  }

  /** Still in the list (not finished, not timed out): every linked operation but the head has one before it. */
  #linked(watched: Watched): boolean {
    return watched.prev !== undefined || this.#head === watched;
  }

  #unlink(watched: Watched): void {
    const { prev, next } = watched;
    if (prev) prev.next = next;
    else this.#head = next;
    if (next) next.prev = prev;
    else this.#tail = prev;
    watched.prev = watched.next = undefined;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(this.#sweep, Math.max(1, delay));
    this.#timer.unref();
  }

  /** Times out an operation already taken out of the list. */
  #expire(pending: Pending): void {
    pending.reject(new TimeoutError(pending.op, this.#ms));
  }

  #sweep = (): void => {
    this.#timer = undefined;
    const now = Date.now();
    let watched: Watched | undefined;
    while ((watched = this.#head)) {
      if (watched.at > now) {
        if (this.#timer === undefined) this.#arm(watched.at - now); // an expiry's callback may have armed it
        return;
      }
      this.#unlink(watched);
      this.#expire(watched);
    }
  };
}
