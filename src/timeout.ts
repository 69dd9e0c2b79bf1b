/**
 * One-off waits bounded by a timeout (connecting, a graceful close, an admin SCAN), and a delay that keeps no
 * process alive. Redis operations on the request path share one timer instead: `Deadlines` (src/redis/deadline.ts).
 */

/** What {@link waitAtMost} resolves to when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * Waits for `promise` for at most `ms`: resolves to its value, or to {@link TIMED_OUT} once `ms` have passed; a
 * rejection passes through. The promise is not cancelled. The timer is cleared as soon as either settles, so nothing
 * is left to hold the process open.
 */
export function waitAtMost<T>(promise: PromiseLike<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms, TIMED_OUT);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Resolves after `ms` (at once if not positive) without keeping the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (!(ms > 0)) return resolve();
    setTimeout(resolve, Math.min(ms, 2 ** 31 - 1)).unref();
  });
}
