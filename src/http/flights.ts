/**
 * Who computes a route's response. An HTTP handler can only run inside a request, so the computation the cache
 * asks for (`wrapDetailed`'s function, on a miss or a stale-while-revalidate refresh) is handed to a request for
 * the same key that is still waiting, one macrotask later (so a request whose lookup found a value is served that
 * value); with no request waiting, it goes to the next one that arrives, or resolves NOT_SHARED after `pendingMs`.
 * The request that gets it runs its handler and completes it with its response, which every request that asked
 * for that computation then receives. A computation asked for after another one started gets its own.
 */
import { NOT_SHARED } from './response.js';

/**
 * The cache lookup that asked for a computation (`outcome` set once `wrapDetailed` returned): how it ends says
 * whether the response computed for it went through the cache (`miss`) or not (`bypass`: Redis could not be read).
 */
export interface Asker {
  outcome: Promise<{ result: string }> | undefined;
}

/** One computation the cache asked for, waiting for (or assigned to) a request. */
export interface Asked {
  readonly id: string;
  /** The lookup that asked first. */
  readonly asker: Asker | undefined;
  readonly resolvers: Array<(value: unknown) => void>;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

/** A request looking a key up: it may be assigned a computation while it waits. */
export class Waiter {
  readonly id: string;
  /** The computation this request must run, once assigned. */
  asked: Asked | undefined;
  /** Told once a computation is assigned (set by the request while it waits; no promise per request). */
  onAssign: (() => void) | undefined;

  constructor(id: string) {
    this.id = id;
  }

  /** Gives this request a computation to run. */
  assign(asked: Asked): void {
    this.asked = asked;
    this.onAssign?.();
  }
}

/** Computations asked for by the cache and the requests that can run them, per key id. */
export class Flights {
  /** Requests looking each id up: one alone (the usual case, no Set made), or several. */
  readonly #waiting = new Map<string, Waiter | Set<Waiter>>();
  /** Computations not yet assigned to a request (at most one per id). */
  readonly #open = new Map<string, Asked>();
  readonly #pendingMs: number;
  #closed = false;

  /** `pendingMs`: how long a computation waits for a request before it is given up. */
  constructor(pendingMs: number) {
    this.#pendingMs = pendingMs;
  }

  /** Registers a request about to look `id` up; if a computation of `id` is waiting for a request, it gets it. */
  enter(id: string): Waiter {
    const waiter = new Waiter(id);
    const open = this.#open.size === 0 ? undefined : this.#open.get(id);
    if (open) {
      this.#assign(open, waiter);
      return waiter;
    }
    const there = this.#waiting.get(id);
    if (there === undefined) this.#waiting.set(id, waiter);
    else if (there instanceof Set) there.add(waiter);
    else this.#waiting.set(id, new Set([there, waiter]));
    return waiter;
  }

  /** Unregisters a request (it was served, or it is computing). */
  leave(waiter: Waiter): void {
    const id = waiter.id;
    const there = this.#waiting.get(id);
    if (there === waiter) this.#waiting.delete(id);
    else if (there instanceof Set && there.delete(waiter) && there.size === 0) this.#waiting.delete(id);
  }

  /**
   * The computation function given to the cache (by the lookup `asker`): resolves with the response of the request
   * that runs it.
   */
  ask(id: string, asker?: Asker): Promise<unknown> {
    if (this.#closed) return Promise.resolve(NOT_SHARED);
    let open = this.#open.get(id);
    if (!open) {
      const created: Asked = { id, asker, resolvers: [], timer: undefined, done: false };
      this.#open.set(id, (open = created));
      setImmediate(() => this.#handOut(created));
    }
    const asked = open;
    return new Promise((resolve) => asked.resolvers.push(resolve));
  }

  /** Completes a computation with the response to share (or NOT_SHARED); later calls are ignored. */
  complete(asked: Asked, value: unknown): void {
    if (asked.done) return;
    asked.done = true;
    clearTimeout(asked.timer);
    if (this.#open.get(asked.id) === asked) this.#open.delete(asked.id);
    for (const resolve of asked.resolvers.splice(0)) resolve(value);
  }

  /** Gives up every computation no request has taken yet (on close). */
  close(): void {
    this.#closed = true;
    for (const asked of [...this.#open.values()]) this.complete(asked, NOT_SHARED);
  }

  #handOut(asked: Asked): void {
    if (asked.done || this.#open.get(asked.id) !== asked) return;
    const there = this.#waiting.get(asked.id);
    const first = there instanceof Set ? there.values().next().value : there;
    if (first) {
      this.leave(first);
      this.#assign(asked, first);
      return;
    }
    asked.timer = setTimeout(() => this.complete(asked, NOT_SHARED), this.#pendingMs);
    asked.timer.unref();
  }

  #assign(asked: Asked, waiter: Waiter): void {
    this.#open.delete(asked.id);
    clearTimeout(asked.timer);
    asked.timer = undefined;
    waiter.assign(asked);
  }
}
