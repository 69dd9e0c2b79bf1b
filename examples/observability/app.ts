/**
 * A price-prediction service traced in Jaeger and watched in Prometheus/Grafana.
 *
 *   docker compose -f examples/observability/docker-compose.yml up -d
 *   npx tsx examples/observability/app.ts
 *   curl 'localhost:3001/price?area=80'     # miss, then hit on the next call
 *   curl localhost:3001/stats               # hits, time and cost saved per kind
 *   open http://localhost:16686             # Jaeger: service infercache-example
 *   open http://localhost:3000              # Grafana: dashboard "infercache"
 */
import { sdk } from './otel.js'; // first: the Redis instrumentation must patch the client before it loads
import { createServer } from 'node:http';
import { SpanKind, trace } from '@opentelemetry/api';
import { createCache, CachedPrediction, Invalidates } from '../../src/index.js';

const cache = createCache({
  redis: { url: process.env.REDIS_URL ?? 'redis://localhost:6379' },
  namespace: 'observability-example',
  ttl: { price: '5m' },
  costPerCall: { price: 0.002 }, // what one model call costs you, for infercache.cost_saved
});

class PriceService {
  @CachedPrediction({ kind: 'price', key: (area: number) => String(area) })
  async predict(area: number): Promise<{ price: number }> {
    await new Promise((resolve) => setTimeout(resolve, 80 + Math.random() * 40)); // the model
    return { price: Math.round(area * 4100) };
  }

  @Invalidates({ kinds: ['price'] })
  async retrain(): Promise<void> {}
}

const service = new PriceService();
const port = Number(process.env.PORT ?? 3001);
// Each request gets a span (an HTTP server instrumentation would make it): a miss's `infercache PriceService.predict`
// span lands under it, and a hit, which gets no span of its own, is an event on it.
const tracer = trace.getTracer('observability-example');

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', `http://localhost:${port}`);
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const route = async () => {
    if (url.pathname === '/price') return send(200, await service.predict(Number(url.searchParams.get('area') ?? 50)));
    if (url.pathname === '/stats') return send(200, cache.stats());
    if (url.pathname === '/retrain' && req.method === 'POST') return send(200, await service.retrain());
    send(404, { error: 'not found' });
  };
  const name = `${req.method ?? 'GET'} ${url.pathname}`;
  void tracer.startActiveSpan(name, { kind: SpanKind.SERVER }, (span) =>
    route()
      .catch((error: unknown) => send(500, { error: String(error) }))
      .finally(() => span.end()),
  );
});

server.listen(port, () => console.log(`http://localhost:${port}/price?area=80 — metrics on :9464/metrics`));

process.once('SIGINT', () => {
  server.close();
  void cache.close().then(() => sdk.shutdown());
});
