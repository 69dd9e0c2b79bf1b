/**
 * OpenTelemetry set-up for the example: traces over OTLP/HTTP (to Jaeger v2 on :4318), metrics served for Prometheus
 * on :9464/metrics, and the Redis client instrumented. Import it first, before anything loads `redis`.
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { resourceFromAttributes } from '@opentelemetry/resources';

const otlp = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';

/** The running SDK; `sdk.shutdown()` flushes the last spans. */
export const sdk = new NodeSDK({
  resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME ?? 'infercache-example' }),
  traceExporter: new OTLPTraceExporter({ url: `${otlp}/v1/traces` }),
  metricReaders: [new PrometheusExporter({ port: Number(process.env.METRICS_PORT ?? 9464) })],
  instrumentations: [new RedisInstrumentation()],
});
sdk.start();
