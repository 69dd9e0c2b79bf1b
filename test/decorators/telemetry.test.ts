/**
 * Decorated calls are named `infercache <Class>.<method>` in both decorator modes (`npm test` runs this folder in
 * TC39 standard mode and again in legacy `experimentalDecorators` mode).
 */
import 'reflect-metadata';
import { expect } from 'chai';
import { CachedModel, CachedPrediction } from '../../src/index.js';
import { newCache } from '../helpers.js';
import { otel, ready, useContextManager } from '../telemetry/otel.js';

const mode = process.env.TSX_TSCONFIG_PATH?.includes('legacy') ? 'legacy' : 'standard';

describe(`decorators (${mode} mode): span names`, () => {
  useContextManager();
  let o: ReturnType<typeof otel>;
  beforeEach(() => {
    o = otel();
  });
  afterEach(() => o.close());

  it('names each decorated call after its class and method, whatever the model name or kind', async () => {
    const cache = await ready(newCache({ telemetry: o.telemetry }));
    class Forecaster {
      @CachedModel({ cache, name: 'arima' })
      async loadModel(product: string) {
        return { product };
      }

      @CachedPrediction({ cache, kind: 'forecast' })
      async forecast(product: string, days: number) {
        return { product, days };
      }
    }
    const f = new Forecaster();
    await f.loadModel('p1');
    await f.forecast('p1', 7);
    const names = o.spans().map((s) => s.name);
    expect(names).to.include('infercache Forecaster.loadModel');
    expect(names).to.include('infercache Forecaster.forecast');
    expect(o.span('infercache Forecaster.forecast').attributes['infercache.kind']).to.equal('forecast');
    expect(o.span('infercache Forecaster.loadModel').attributes['infercache.kind']).to.equal('model');
  });
});
