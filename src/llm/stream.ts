/**
 * Streams of the LLM mode: a live capture of an upstream stream that many readers follow as chunks arrive (one
 * upstream call for concurrent identical requests), and the stream object handed to callers, the same on a hit, a
 * miss or a joined request (`for await`, `controller`, `tee()`, `toReadableStream()`, like the `openai` client's).
 */

/** Chunks that readers follow: a live capture or a stored stream. */
export interface ChunkSource {
  readonly chunks: readonly unknown[];
  /** True once no chunk will be added. */
  readonly finished: boolean;
  /** Set when the stream failed (an upstream error, or aborted by its last reader). */
  readonly error: unknown;
  /** Resolves when a chunk is added or the stream ends. */
  changed(): Promise<void>;
  /** A reader starts following (`true`) or stops before the end (`false`). */
  follow?(on: boolean): void;
  /** Milliseconds to wait before each chunk after the first (stored streams replayed paced). */
  readonly pace?: number;
}

/** A stored (finished) stream; `pace` ms between its chunks when replayed. */
export function storedSource(chunks: readonly unknown[], pace = 0): ChunkSource {
  return { chunks, finished: true, error: undefined, changed: () => Promise.resolve(), pace };
}

/** Upstream stream to capture: its chunks, and how to stop it. */
export interface Upstream {
  iterable: AsyncIterable<unknown>;
  abort(): void;
}

/**
 * A live capture: pulls the upstream stream at its own pace (readers never slow it down), keeps every chunk, and
 * wakes readers as chunks arrive. When every reader stopped before the end, the upstream request is aborted and the
 * capture fails (so it is never stored). `done` resolves with the chunks when the stream ends normally, and rejects
 * when it fails.
 */
export class Capture implements ChunkSource {
  readonly chunks: unknown[] = [];
  finished = false;
  error: unknown = undefined;
  readonly done: Promise<unknown[]>;
  #wake: (() => void) | undefined;
  #signal: Promise<void>;
  #readers = 0;
  #everRead = false;
  readonly #upstream: Upstream;

  constructor(upstream: Upstream) {
    this.#upstream = upstream;
    this.#signal = new Promise((resolve) => (this.#wake = resolve));
    this.done = this.#pump();
    this.done.catch(() => {}); // the failure reaches readers through `error`
  }

  changed(): Promise<void> {
    return this.#signal;
  }

  follow(on: boolean): void {
    if (on) {
      this.#readers++;
      this.#everRead = true;
      return;
    }
    this.#readers--;
    if (this.#readers === 0 && this.#everRead && !this.finished) {
      this.#fail(new Error('infercache: stream aborted by its readers'));
      try {
        this.#upstream.abort();
      } catch {
        // already closed
      }
    }
  }

  async #pump(): Promise<unknown[]> {
    try {
      for await (const chunk of this.#upstream.iterable) {
        if (this.finished) break;
        this.chunks.push(chunk);
        this.#notify();
      }
    } catch (error) {
      if (!this.finished) this.#fail(error);
    }
    if (this.error !== undefined) throw this.error;
    this.finished = true;
    this.#notify();
    return this.chunks;
  }

  #fail(error: unknown): void {
    if (this.finished) return;
    this.error = error ?? new Error('infercache: stream failed');
    this.finished = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#signal = new Promise((resolve) => (this.#wake = resolve));
    wake?.();
  }
}

/** Options of a reader. */
export interface ReadOptions {
  /** Leave out chunks for which this returns true (e.g. the usage chunk the caller did not ask for). */
  skip?: (chunk: unknown) => boolean;
}

/**
 * The stream handed to callers: async-iterable once (like the `openai` client's `Stream`), with a `controller`
 * whose abort ends the iteration, `tee()` and `toReadableStream()`.
 */
export class ReplayStream<T = unknown> implements AsyncIterable<T> {
  /** Aborting it stops this reader (and the upstream request when no other reader is left). */
  readonly controller = new AbortController();
  readonly #source: ChunkSource;
  readonly #options: ReadOptions;
  #used = false;

  constructor(source: ChunkSource, options: ReadOptions = {}) {
    this.#source = source;
    this.#options = options;
    source.follow?.(true);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#used) throw new Error('Cannot iterate over a consumed stream, use `.tee()` to split the stream.');
    this.#used = true;
    const source = this.#source;
    const skip = this.#options.skip;
    const signal = this.controller.signal;
    let index = 0;
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      source.follow?.(false);
    };
    signal.addEventListener('abort', close, { once: true });
    return {
      next: async (): Promise<IteratorResult<T>> => {
        for (;;) {
          if (!open) return { done: true, value: undefined };
          if (index < source.chunks.length) {
            if (source.pace && index > 0) await new Promise((resolve) => setTimeout(resolve, source.pace));
            if (!open) return { done: true, value: undefined };
            const chunk = source.chunks[index++];
            if (skip && skip(chunk)) continue;
            return { done: false, value: chunk as T };
          }
          if (source.finished) {
            close();
            if (source.error !== undefined) throw source.error;
            return { done: true, value: undefined };
          }
          await source.changed();
        }
      },
      return: async (): Promise<IteratorResult<T>> => {
        close();
        return { done: true, value: undefined };
      },
    };
  }

  /** Two independent readers of the same chunks. */
  tee(): [ReplayStream<T>, ReplayStream<T>] {
    const pair: [ReplayStream<T>, ReplayStream<T>] = [
      new ReplayStream<T>(this.#source, this.#options),
      new ReplayStream<T>(this.#source, this.#options),
    ];
    this.#used = true;
    this.#source.follow?.(false);
    return pair;
  }

  /** Newline-separated JSON of the chunks, as bytes (like the `openai` client's). */
  toReadableStream(): ReadableStream<Uint8Array> {
    const iterator = this[Symbol.asyncIterator]();
    const encoder = new TextEncoder();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(encoder.encode(JSON.stringify(value) + '\n'));
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        await iterator.return?.();
      },
    });
  }
}
