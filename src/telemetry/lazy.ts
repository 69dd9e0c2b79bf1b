/**
 * Instruments created on first use on the meter provider in use (the cache's and the LLM mode's alike): none while
 * that provider is the API's no-op, so a meter taken before the SDK registers is never kept, and created again when
 * the provider changes.
 */
import { diag, metrics, type Meter, type MeterProvider } from '@opentelemetry/api';
import { SCOPE_NAME } from './semconv.js';

/** Reports a telemetry failure to the OpenTelemetry diag logger; never throws. */
export function report(error: unknown): void {
  try {
    diag.error('infercache: telemetry failed', error as Error);
  } catch {
    // nothing left to tell
  }
}

/** Whether a provider is the API's no-op one (no SDK registered). */
export const isNoop = (provider: object): boolean => provider.constructor?.name.startsWith('Noop') ?? false;

/** What decides the meter provider: the cache's `telemetry` settings. */
export interface MeterSource {
  readonly enabled: boolean;
  readonly meterProvider: MeterProvider | undefined;
}

/** A set of instruments made by `create` on the current meter provider, at most once per provider. */
export class LazyInstruments<T> {
  readonly #source: MeterSource;
  readonly #create: (meter: Meter) => T;
  #provider: object | undefined;
  #instruments: T | undefined;

  constructor(source: MeterSource, create: (meter: Meter) => T) {
    this.#source = source;
    this.#create = create;
  }

  /** The instruments, created on first use with a recording meter provider; undefined while none is registered. */
  get(): T | undefined {
    if (!this.#source.enabled) return undefined;
    const provider = this.#source.meterProvider ?? metrics.getMeterProvider();
    if (provider !== this.#provider) {
      this.#provider = provider;
      try {
        this.#instruments = isNoop(provider) ? undefined : this.#create(provider.getMeter(SCOPE_NAME));
      } catch (error) {
        this.#instruments = undefined;
        report(error);
      }
    }
    return this.#instruments;
  }

  /** The instruments as last resolved, without looking at the provider again (hot paths call this). */
  get current(): T | undefined {
    return this.#instruments;
  }
}
