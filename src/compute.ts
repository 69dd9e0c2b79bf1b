/**
 * One computation of a `wrap` call and its write: runs the user's function, stores its value (or, with `cacheErrors`,
 * its failure), and releases the cross-instance lease once the write has reached Redis.
 */
import type { Writer } from './write.js';
import type { Leases } from './lease.js';
import type { Stats } from './stats.js';
import type { Instrumentation } from './telemetry/instrumentation.js';
import type { ResolvedEntry } from './entry.js';

/** How `compute` runs and stores one computation. */
export interface ComputeOptions {
  /** The call's arguments, for `ttl`, `tags` and `when` functions. */
  args: readonly unknown[];
  /** Generations read before the computation; without them (Redis failed) nothing goes to Redis. */
  gens: number[] | undefined;
  /** The entry's tags. */
  tags: readonly string[];
  /** The lease this call holds on the key, released once the value is stored. */
  lease?: string;
  /** The memory epoch the computation began in. */
  epoch?: number;
  /** Cache a failure as an error when the entry asks for it (`cacheErrors`). @default true */
  negative?: boolean;
}

/** A computed value and the milliseconds it took. */
export interface Computed {
  value: unknown;
  ms: number;
}

/** The parts of the cache a `Computer` uses. */
export interface ComputerParts {
  writer: Writer;
  stats: Stats;
  telemetry: Instrumentation;
  leases: Leases | undefined;
  warnOnce: (id: string, message: string) => void;
}

/** Runs and stores computations for one cache. */
export class Computer {
  readonly #writer: Writer;
  readonly #stats: Stats;
  readonly #telemetry: Instrumentation;
  readonly #leases: Leases | undefined;
  readonly #warnOnce: (id: string, message: string) => void;

  constructor(parts: ComputerParts) {
    this.#writer = parts.writer;
    this.#stats = parts.stats;
    this.#telemetry = parts.telemetry;
    this.#leases = parts.leases;
    this.#warnOnce = parts.warnOnce;
  }

  /** Runs `fn` and stores what it gives (or its failure, as the entry says); rethrows its failure. */
  async compute(key: string, entry: ResolvedEntry, fn: () => unknown, how: ComputeOptions): Promise<Computed> {
    const { args, gens, tags, lease, epoch } = how;
    const started = performance.now();
    let value: unknown;
    try {
      value = await this.#telemetry.compute(entry.kind, fn);
    } catch (error) {
      let written: Promise<boolean> | undefined;
      if (entry.negative && how.negative !== false && (!entry.negative.when || entry.negative.when(error))) {
        const stored = {
          name: (error as Error)?.name,
          message: (error as Error)?.message,
          code: (error as { code?: unknown })?.code,
        };
        const computeMs = performance.now() - started;
        written = this.#telemetry.store(entry.kind, (report) =>
          this.#writer.write(key, entry, stored, { args, computeMs, gens, error: true, tags, epoch, report }),
        );
      }
      this.#release(key, lease, written);
      throw error;
    }
    const ms = performance.now() - started;
    this.#stats.compute(entry.kind, ms);
    const store = !entry.when || entry.when(value, args);
    const written = store
      ? this.#telemetry.store(entry.kind, (report) =>
          this.#writer.write(key, entry, value, { args, computeMs: ms, gens, tags, epoch, report }),
        )
      : undefined;
    this.#release(key, lease, written);
    return { value, ms };
  }

  /** A computation nobody waits for any more (timed out): its failure is warned about, once per kind. */
  background(computing: Promise<unknown>, entry: ResolvedEntry): void {
    computing.catch((error: unknown) =>
      this.#warnOnce(
        `late:${entry.kind}`,
        `infercache: a computation of kind '${entry.kind}' failed after its timeout: ${(error as Error)?.message}`,
      ),
    );
  }

  /** Releases a lease once the holder's write has reached Redis, so that the instances polling for it find it. */
  #release(key: string, lease: string | undefined, written: Promise<boolean> | undefined): void {
    if (!lease) return;
    const release = () => this.#leases!.release(key, lease);
    if (written) void written.then(release, release);
    else release();
  }
}
