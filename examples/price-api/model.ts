/** A stand-in property price model: deterministic prices, an inference delay like a real model's, a version. */

/** What the model prices. */
export interface Property {
  city: string;
  area: number;
  rooms: number;
  yearBuilt?: number;
  floor?: number;
}

/** What the model answers. */
export interface Prediction {
  price: number;
  currency: 'EUR';
  pricePerSqm: number;
  modelVersion: string;
}

/** Options of {@link PriceModel}. */
export interface PriceModelOptions {
  /** Inference time per call, in ms: a number, or a function of the input. @default 80..140 ms, by input */
  delayMs?: number | ((input: Property) => number);
  /** Version of the first trained model. @default 'm1' */
  version?: string;
}

const BASE_PER_SQM: Record<string, number> = { warsaw: 16_500, krakow: 15_200, gdansk: 14_100, poznan: 11_300 };

/** Small deterministic hash of a string, for per-input delays and noise. */
function hashOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A fake gradient-boosted price model: ~100 ms per inference, retrainable. */
export class PriceModel {
  #version: string;
  #generation: number;
  readonly #delay: (input: Property) => number;
  /** Inferences run (cache misses reach the model; hits do not). */
  inferences = 0;

  constructor(options: PriceModelOptions = {}) {
    this.#version = options.version ?? 'm1';
    this.#generation = Number(/\d+$/.exec(this.#version)?.[0] ?? 1);
    const delay = options.delayMs;
    this.#delay =
      typeof delay === 'function'
        ? delay
        : typeof delay === 'number'
          ? () => delay
          : (input) => 80 + (hashOf(JSON.stringify(input)) % 61);
  }

  /** Version of the trained model; part of every cache key, so a retrain makes old predictions unreachable. */
  get version(): string {
    return this.#version;
  }

  /** Prices a property (takes the model's inference time). */
  async predict(input: Property): Promise<Prediction> {
    this.inferences++;
    await new Promise((resolve) => setTimeout(resolve, this.#delay(input)));
    const base = BASE_PER_SQM[input.city.toLowerCase()] ?? 9_800;
    const age = input.yearBuilt ? Math.max(0, 2025 - input.yearBuilt) : 20;
    const ageFactor = 1.12 - Math.min(age, 80) * 0.003;
    const roomFactor = 1 + (input.rooms - input.area / 25) * 0.015;
    const floorFactor = input.floor === 0 ? 0.96 : 1;
    const noise = 1 + ((hashOf(`${this.#version}:${input.city}:${input.area}`) % 21) - 10) / 1000;
    const perSqm = Math.round(base * ageFactor * roomFactor * floorFactor * noise);
    return { price: perSqm * input.area, currency: 'EUR', pricePerSqm: perSqm, modelVersion: this.#version };
  }

  /** Retrains the model: a new version. */
  async retrain(): Promise<string> {
    this.#generation++;
    this.#version = `m${this.#generation}`;
    return this.#version;
  }
}
