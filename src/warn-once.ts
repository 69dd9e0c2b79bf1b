/** Warnings that would otherwise repeat on every call: each is logged the first time its id is seen. */
import type { Logger } from './options.js';

/** Logs `message` (or what it returns) as a warning the first time `id` is given; later calls with `id` do nothing. */
export type WarnOnce = (id: string, message: string | (() => string)) => void;

/**
 * Makes a {@link WarnOnce} writing to `logger()`, read at each first warning (so it may be set after this is made).
 * A logger that throws is ignored. Ids are kept for the owner's lifetime: use a bounded set of them (a reason, a
 * method, a route), never a key.
 */
export function warnOnce(logger: () => Logger | undefined): WarnOnce {
  const warned = new Set<string>();
  return (id, message) => {
    if (warned.has(id)) return;
    warned.add(id);
    try {
      logger()?.warn(typeof message === 'function' ? message() : message);
    } catch {
      // a logger never breaks the call that warns
    }
  };
}
