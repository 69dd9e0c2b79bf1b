/** A circuit breaker: after `threshold` consecutive failures, skip Redis and probe again after a growing cool-down. */

/** Breaker state, reported in health() and telemetry. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Consecutive-failure circuit breaker with exponential cool-down and a single probe. */
export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #openUntil = 0;
  #cooldown: number;
  readonly #threshold: number;
  readonly #baseCooldown: number;
  readonly #maxCooldown: number;
  readonly #onChange: (state: BreakerState) => void;

  constructor(threshold: number, cooldownMs: number, maxCooldownMs: number, onChange: (state: BreakerState) => void) {
    this.#threshold = threshold;
    this.#baseCooldown = cooldownMs;
    this.#cooldown = cooldownMs;
    this.#maxCooldown = maxCooldownMs;
    this.#onChange = onChange;
  }

  /** Current state. */
  get state(): BreakerState {
    return this.#state;
  }

  /** Whether an operation may go to Redis now; in half-open state only one probe is let through. */
  allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open' && Date.now() >= this.#openUntil) {
      this.#set('half-open');
      return true;
    }
    return false;
  }

  /** Records a successful operation. */
  success(): void {
    this.#failures = 0;
    if (this.#state !== 'closed') {
      this.#cooldown = this.#baseCooldown;
      this.#set('closed');
    }
  }

  /** Records a failed operation (timeout, connection error). */
  failure(): void {
    this.#failures++;
    if (this.#state === 'half-open') {
      this.#cooldown = Math.min(this.#cooldown * 2, this.#maxCooldown);
      this.#open();
    } else if (this.#state === 'closed' && this.#failures >= this.#threshold) {
      this.#open();
    }
  }

  /** Opens at once (e.g. the connection dropped). */
  trip(): void {
    if (this.#state !== 'open') this.#open();
  }

  #open(): void {
    this.#openUntil = Date.now() + this.#cooldown;
    this.#set('open');
  }

  #set(state: BreakerState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#onChange(state);
  }
}
