/**
 * Redis memory (`used_memory` and `maxmemory` from INFO memory) for the observable gauges. Read by an unref'd timer
 * that starts only once a meter records (the gauges are created), never on the request path and never in a gauge
 * callback: the gauges report the last values read. Fail-open: a failed read keeps the last values.
 */
import type { RedisTier } from './tier.js';

/** Bytes of memory Redis uses, and its `maxmemory` (0: no limit). */
export interface RedisMemory {
  used: number;
  max: number;
}

/** `used_memory` and `maxmemory` of an INFO memory reply; undefined when either is missing. */
export function parseMemory(text: string): RedisMemory | undefined {
  const used = /^used_memory:(\d+)\r?$/m.exec(text)?.[1];
  const max = /^maxmemory:(\d+)\r?$/m.exec(text)?.[1];
  if (used === undefined || max === undefined) return undefined;
  return { used: Number(used), max: Number(max) };
}

/** Keeps the last Redis memory figures, refreshed every `intervalMs` once started. */
export class MemoryWatch {
  readonly #redis: RedisTier;
  readonly #intervalMs: number;
  #last: RedisMemory | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading = false;
  #stopped = false;

  constructor(redis: RedisTier, intervalMs: number) {
    this.#redis = redis;
    this.#intervalMs = intervalMs;
  }

  /** The last figures read, or undefined before the first successful read. */
  get last(): RedisMemory | undefined {
    return this.#last;
  }

  /** Reads now, then every interval (idempotent; the timer never keeps the process alive). */
  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.refresh(), this.#intervalMs);
    this.#timer.unref();
    void this.refresh();
  }

  /** Reads INFO memory once (one read at a time); never rejects. */
  async refresh(): Promise<void> {
    if (this.#reading || this.#stopped) return;
    this.#reading = true;
    try {
      const reply = await this.#redis.send(undefined, false, ['INFO', 'memory']);
      const read = reply === undefined ? undefined : parseMemory(String(reply));
      if (read) this.#last = read;
    } catch {
      // fail-open: keep the last figures
    } finally {
      this.#reading = false;
    }
  }

  /** Stops the timer for good. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
