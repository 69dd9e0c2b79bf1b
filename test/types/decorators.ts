/** Type tests: the public decorators compile in both TypeScript decorator modes and reject non-async methods. */
import { CachedModel, CachedPrediction, Invalidates, UseCache, createCache } from '../../src/index.js';

const cache = createCache({ setDefault: false });

@UseCache(cache)
export class PriceService {
  @CachedModel({ name: 'price-model' })
  async loadModel(region: string): Promise<{ region: string }> {
    return { region };
  }

  @CachedPrediction({ kind: 'price', ttl: '5m', tags: (input: { region: string }) => [`region:${input.region}`] })
  async predict(input: { region: string }): Promise<number> {
    return input.region.length;
  }

  @Invalidates({ kinds: ['price'] })
  async retrain(): Promise<void> {}

  // @ts-expect-error only methods returning a Promise can be cached
  @CachedPrediction()
  syncMethod(): number {
    return 1;
  }
}

export async function typesArePreserved(s: PriceService): Promise<void> {
  const n: number = await s.predict({ region: 'eu' });
  const m: { region: string } = await s.loadModel('eu');
  // @ts-expect-error the cached method keeps its return type
  const wrong: string = await s.predict({ region: 'eu' });
  void n;
  void m;
  void wrong;
  const wrapped: Date = await cache.wrap('k', 'id', async () => new Date());
  void wrapped;
}
