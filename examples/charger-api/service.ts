/**
 * Predictions for EV chargers, three kinds with their own TTLs (CACHE_TTL_FAILURE, _MAINTENANCE, _ANOMALY), keyed
 * by charger id: `prediction:failure:v1:CHG_001` in redis-cli. Every entry is tagged with its charger, so a
 * maintenance event makes all of that charger's predictions unreachable, of every kind and every version.
 */
import { CachedPrediction, Invalidates } from '../../src/index.js';

/** Probability that the charger fails within 30 days. */
export interface FailurePrediction {
  chargerId: string;
  probability: number;
  topCause: 'connector wear' | 'cooling' | 'power module' | 'firmware';
  computedAt: string;
}

/** When the charger should next be serviced. */
export interface MaintenancePrediction {
  chargerId: string;
  serviceWithinDays: number;
  urgency: 'low' | 'medium' | 'high';
  computedAt: string;
}

/** How unusual the last hour of sessions looked. */
export interface AnomalyPrediction {
  chargerId: string;
  score: number;
  anomalous: boolean;
  computedAt: string;
}

/** A maintenance event reported by a technician. */
export interface MaintenanceEvent {
  type: 'inspection' | 'repair' | 'replacement';
  note?: string;
}

/** The three prediction kinds. */
export const KINDS = ['failure', 'maintenance', 'anomaly'] as const;

/** A prediction kind. */
export type Kind = (typeof KINDS)[number];

/** Stand-in models: deterministic per charger and per service history, with inference delays. */
export class ChargerModels {
  /** Inferences run, by kind. */
  readonly calls: Record<Kind, number> = { failure: 0, maintenance: 0, anomaly: 0 };
  readonly #serviced = new Map<string, number>();
  readonly #delayMs: Record<Kind, number>;

  constructor(delayMs: Partial<Record<Kind, number>> = {}) {
    this.#delayMs = { failure: 150, maintenance: 90, anomaly: 40, ...delayMs };
  }

  async #run(kind: Kind, chargerId: string): Promise<number> {
    this.calls[kind]++;
    await new Promise((resolve) => setTimeout(resolve, this.#delayMs[kind]));
    let h = 7;
    for (const c of `${chargerId}:${this.#serviced.get(chargerId) ?? 0}`) h = (h * 31 + c.charCodeAt(0)) % 9973;
    return h / 9973;
  }

  async failure(chargerId: string): Promise<FailurePrediction> {
    const x = await this.#run('failure', chargerId);
    const causes = ['connector wear', 'cooling', 'power module', 'firmware'] as const;
    const probability = Math.round(x * (this.#serviced.has(chargerId) ? 0.3 : 0.9) * 1000) / 1000;
    return { chargerId, probability, topCause: causes[Math.floor(x * 4)]!, computedAt: new Date().toISOString() };
  }

  async maintenance(chargerId: string): Promise<MaintenancePrediction> {
    const x = await this.#run('maintenance', chargerId);
    const serviceWithinDays = Math.round(5 + (1 - x) * 85);
    const urgency = serviceWithinDays < 20 ? 'high' : serviceWithinDays < 45 ? 'medium' : 'low';
    return { chargerId, serviceWithinDays, urgency, computedAt: new Date().toISOString() };
  }

  async anomaly(chargerId: string): Promise<AnomalyPrediction> {
    const score = Math.round((await this.#run('anomaly', chargerId)) * 1000) / 1000;
    return { chargerId, score, anomalous: score > 0.8, computedAt: new Date().toISOString() };
  }

  /** Records a service: the next predictions for this charger change. */
  record(chargerId: string): void {
    this.#serviced.set(chargerId, (this.#serviced.get(chargerId) ?? 0) + 1);
  }
}

const byCharger = (chargerId: string) => chargerId;
const chargerTags = (chargerId: string) => [`charger:${chargerId}`];

/** The cached prediction service. Uses the app's cache (the default cache: the first one created). */
export class ChargerPredictions {
  constructor(readonly models: ChargerModels) {}

  @CachedPrediction({ kind: 'failure', key: byCharger, tags: chargerTags })
  async failure(chargerId: string): Promise<FailurePrediction> {
    return this.models.failure(chargerId);
  }

  @CachedPrediction({ kind: 'maintenance', key: byCharger, tags: chargerTags })
  async maintenance(chargerId: string): Promise<MaintenancePrediction> {
    return this.models.maintenance(chargerId);
  }

  @CachedPrediction({ kind: 'anomaly', key: byCharger, tags: chargerTags })
  async anomaly(chargerId: string): Promise<AnomalyPrediction> {
    return this.models.anomaly(chargerId);
  }

  /** One kind by name. */
  predict(kind: Kind, chargerId: string): Promise<FailurePrediction | MaintenancePrediction | AnomalyPrediction> {
    return this[kind](chargerId);
  }

  /** After a service, every cached prediction of the charger is stale: invalidate its tag (all kinds, all versions). */
  @Invalidates({ tags: (chargerId: string) => chargerTags(chargerId) })
  async recordMaintenance(chargerId: string, event: MaintenanceEvent): Promise<{ chargerId: string; event: string }> {
    this.models.record(chargerId);
    return { chargerId, event: event.type };
  }
}
