/**
 * Type tests: decorator callbacks (`key`, `tags`, `ttl`, `when`) are typed from the decorated method's parameters and
 * result, in both TypeScript decorator modes (tsconfig.standard.json and tsconfig.legacy.json compile this file), and
 * wrong types are refused. `typeOf` fails on `any`, so a callback left untyped would not compile.
 */
import { CachedModel, CachedPrediction, Invalidates, createCache } from '../../src/index.js';

type Exactly<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** `typeOf<T>()(value, true)` compiles only if `value` is exactly a T (not `any`, not a wider type). */
function typeOf<T>() {
  return <U>(value: U, proof: Exactly<U, T>): void => void [value, proof];
}

const cache = createCache({ setDefault: false });

interface Risk {
  risk: number;
}
interface Input {
  region: string;
  sqm: number;
}

export class ChargerService {
  @CachedPrediction({
    cache,
    key: (id) => {
      typeOf<string>()(id, true);
      return id;
    },
    tags: (id) => [`charger:${id}`],
    when: (result, args) => {
      typeOf<Risk>()(result, true);
      typeOf<readonly [id: string]>()(args, true);
      return result.risk < 1;
    },
    ttl: (args, result) => (result.risk > 0.5 ? '1m' : `${args[0].length}m`),
  })
  async failureRisk(id: string): Promise<Risk> {
    return { risk: id.length / 10 };
  }

  @CachedModel({
    name: 'price-model',
    key: (region, version) => {
      typeOf<string>()(region, true);
      typeOf<number | undefined>()(version, true);
      return `${region}:${version ?? 0}`;
    },
    serialize: (model) => {
      typeOf<{ weights: Float32Array }>()(model, true);
      return new Uint8Array(model.weights.buffer);
    },
    deserialize: (bytes) => ({ weights: new Float32Array(bytes.buffer) }),
  })
  async loadModel(region: string, version?: number): Promise<{ weights: Float32Array }> {
    return { weights: new Float32Array([region.length, version ?? 0]) };
  }

  // A callback may declare a wider parameter type than the method's: it is checked, not used for inference.
  @CachedPrediction({ cache, kind: 'price', tags: (input: { region: string }) => [`region:${input.region}`] })
  async predict(input: Input): Promise<number> {
    return input.sqm;
  }

  @Invalidates({
    cache,
    tags: (id, event, result) => {
      typeOf<string>()(id, true);
      typeOf<{ type: string }>()(event, true);
      typeOf<boolean>()(result, true);
      return [`charger:${id}`];
    },
  })
  async recordMaintenance(id: string, event: { type: string }): Promise<boolean> {
    return id.length > 0 && event.type !== '';
  }

  // Generic methods can be cached; their result is seen as `unknown`.
  @CachedPrediction({ cache, key: (id) => id })
  async lookup<T>(id: string): Promise<T> {
    return JSON.parse(id) as T;
  }

  @CachedPrediction({
    cache,
    // @ts-expect-error the method takes a string, not a number
    key: (id: number) => id,
  })
  async wrongKeyParameter(id: string): Promise<Risk> {
    return { risk: id.length };
  }

  @CachedPrediction({
    cache,
    // @ts-expect-error `id` is a string: it has no toFixed
    key: (id) => id.toFixed(),
  })
  async keyMisusesItsParameter(id: string): Promise<Risk> {
    return { risk: id.length };
  }

  @CachedPrediction({
    cache,
    // @ts-expect-error the result is a Risk: it has no `score`
    when: (result) => result.score > 0,
  })
  async whenMisreadsTheResult(id: string): Promise<Risk> {
    return { risk: id.length };
  }

  @CachedPrediction({
    cache,
    // @ts-expect-error the first argument is a string: it has no toFixed
    ttl: (args) => (args[0].toFixed() ? '1m' : '2m'),
  })
  async ttlMisreadsTheArguments(id: string): Promise<Risk> {
    return { risk: id.length };
  }

  @CachedPrediction({
    cache,
    // @ts-expect-error tags must be strings
    tags: (id) => [id.length],
  })
  async tagsAreNotStrings(id: string): Promise<Risk> {
    return { risk: id.length };
  }

  @Invalidates({
    cache,
    // @ts-expect-error the result is a number, not a string
    tags: (id: string, result: string) => [id, result],
  })
  async invalidatesMisreadsTheResult(id: string): Promise<number> {
    return id.length;
  }

  // @ts-expect-error only methods returning a Promise can be cached
  @CachedModel({ key: (id: string) => id })
  syncModel(id: string): number {
    return id.length;
  }
}

// A decorator made apart from its method cannot infer from it: give the parameters and the result explicitly.
const byCharger = CachedPrediction<[id: string], Risk>({
  cache,
  key: (id) => {
    typeOf<string>()(id, true);
    return id;
  },
  when: (result) => {
    typeOf<Risk>()(result, true);
    return true;
  },
});

export class Reused {
  @byCharger
  async failureRisk(id: string): Promise<Risk> {
    return { risk: id.length };
  }

  // @ts-expect-error byCharger caches methods of (id: string) => Promise<Risk>
  @byCharger
  async otherShape(id: number): Promise<Risk> {
    return { risk: id };
  }
}

// Without explicit types, such a decorator's callbacks see `any` (nothing to infer from).
export const untyped = CachedPrediction({ key: (id) => id });
