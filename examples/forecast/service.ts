/**
 * Demand forecasts per product: loading a product's model takes seconds (cached with `@CachedModel`, in process
 * and in Redis, its `Float64Array` and `Date` intact), a forecast takes tens of ms (`@CachedPrediction`, 5 min),
 * the product list comes from a slow catalogue query (10 min). TTLs live in the cache's TTL registry.
 */
import { CachedModel, CachedPrediction } from '../../src/index.js';

/** A product of the catalogue. */
export interface Product {
  id: string;
  name: string;
  /** Orders per day, to pick the popular products to warm up. */
  popularity: number;
}

/** A trained per-product model. */
export interface ProductModel {
  productId: string;
  level: number;
  trend: number;
  /** Weekly seasonality, one factor per weekday. */
  weekly: Float64Array;
  trainedAt: Date;
}

/** A forecast of daily demand. */
export interface Forecast {
  productId: string;
  days: number;
  demand: number[];
  modelTrainedAt: string;
  computedAt: string;
}

/** Delays of the stand-in backend, in ms. */
export interface BackendDelays {
  /** @default 2000 */
  loadModelMs?: number;
  /** @default 60 */
  forecastMs?: number;
  /** @default 150 */
  catalogueMs?: number;
}

const NAMES = ['espresso beans', 'oat milk', 'croissant', 'green tea', 'dark chocolate', 'granola', 'honey'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The slow parts: a model store, an inference engine, a catalogue database. Counts what it is asked. */
export class ForecastBackend {
  readonly calls = { loadModel: 0, forecast: 0, catalogue: 0 };
  readonly catalogue: Product[] = Array.from({ length: 20 }, (_, i) => ({
    id: `P${String(i + 1).padStart(3, '0')}`,
    name: `${NAMES[i % NAMES.length]} ${Math.floor(i / NAMES.length) + 1}`,
    popularity: Math.round(1000 / (i + 1)),
  }));
  readonly #delays: Required<BackendDelays>;

  constructor(delays: BackendDelays = {}) {
    this.#delays = { loadModelMs: 2000, forecastMs: 60, catalogueMs: 150, ...delays };
  }

  async loadModel(productId: string): Promise<ProductModel> {
    this.calls.loadModel++;
    await sleep(this.#delays.loadModelMs);
    const seed = Number(productId.slice(1)) || 1;
    const weekly = Float64Array.from({ length: 7 }, (_, d) => 1 + 0.25 * Math.sin((d + seed) * 0.9));
    return { productId, level: 40 + seed * 7, trend: 0.2 + (seed % 5) * 0.1, weekly, trainedAt: new Date() };
  }

  async forecast(model: ProductModel, days: number): Promise<number[]> {
    this.calls.forecast++;
    await sleep(this.#delays.forecastMs);
    return Array.from({ length: days }, (_, d) => Math.round((model.level + model.trend * d) * model.weekly[d % 7]!));
  }

  async products(): Promise<Product[]> {
    this.calls.catalogue++;
    await sleep(this.#delays.catalogueMs);
    return this.catalogue.map((p) => ({ ...p }));
  }
}

const productTag = (productId: string) => [`product:${productId}`];

/** The cached service. Uses the app's cache (the default cache: the first one created). */
export class ForecastService {
  constructor(readonly backend: ForecastBackend) {}

  /** The product's model: loaded once, then served from memory (or Redis, on another instance). */
  @CachedModel({ name: 'forecast-model', key: (productId: string) => productId, tags: productTag })
  async model(productId: string): Promise<ProductModel> {
    return this.backend.loadModel(productId);
  }

  @CachedPrediction({
    kind: 'forecast',
    key: (productId: string, days: number) => `${productId}:${days}`,
    tags: productTag,
  })
  async forecast(productId: string, days: number): Promise<Forecast> {
    const model = await this.model(productId);
    const demand = await this.backend.forecast(model, days);
    return {
      productId,
      days,
      demand,
      modelTrainedAt: model.trainedAt.toISOString(),
      computedAt: new Date().toISOString(),
    };
  }

  @CachedPrediction({ kind: 'products', key: () => 'all' })
  async products(): Promise<Product[]> {
    return this.backend.products();
  }

  /** The `count` most popular products, from the (cached) product list. */
  async popular(count: number): Promise<string[]> {
    const products = await this.products();
    return [...products]
      .sort((a, b) => b.popularity - a.popularity)
      .slice(0, count)
      .map((p) => p.id);
  }
}
