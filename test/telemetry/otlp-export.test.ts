import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { newCache } from '../helpers.js';
import { useContextManager, ready } from './otel.js';

interface OtlpSpan {
  name: string;
  spanId: string;
  parentSpanId?: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}
interface OtlpBody {
  resourceSpans: Array<{ scopeSpans: Array<{ scope: { name: string }; spans: OtlpSpan[] }> }>;
}

describe('telemetry: OTLP/HTTP export (what Jaeger receives)', () => {
  useContextManager();
  let server: Server;
  const received: Array<{ path: string; type: string | undefined; body: OtlpBody }> = [];
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          path: req.url ?? '',
          type: req.headers['content-type'],
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('exports our spans with their attributes and parent links as OTLP JSON', async () => {
    const { port } = server.address() as AddressInfo;
    const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces` });
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const cache = await ready(newCache({ telemetry: { tracerProvider } }));
    await cache.wrap('prediction', 'exported', async () => ({ score: 0.5 }));
    await tracerProvider.forceFlush();
    await tracerProvider.shutdown();

    expect(received.length).to.be.greaterThan(0);
    expect(received[0]!.path).to.equal('/v1/traces');
    expect(received[0]!.type).to.match(/application\/json/);
    const scopes = received.flatMap((r) => r.body.resourceSpans.flatMap((rs) => rs.scopeSpans));
    expect(scopes.every((s) => s.scope.name === 'infercache')).to.equal(true);
    const spans = scopes.flatMap((s) => s.spans);
    const byName = new Map(spans.map((s) => [s.name, s]));
    const call = byName.get('infercache wrap')!;
    expect(call, JSON.stringify(spans.map((s) => s.name))).to.not.equal(undefined);
    expect(byName.get('infercache compute')!.parentSpanId).to.equal(call.spanId);
    expect(call.attributes).to.deep.include({ key: 'infercache.result', value: { stringValue: 'miss' } });
    expect(call.attributes).to.deep.include({ key: 'infercache.kind', value: { stringValue: 'prediction' } });
    expect(byName.get('infercache store')!.attributes).to.deep.include({
      key: 'db.system.name',
      value: { stringValue: 'redis' },
    });
  });
});
