/**
 * Runs forecast: `REDIS_URL=redis://localhost:6379 CACHE_AUTO_WARMUP=true npx tsx examples/forecast/server.ts`
 *
 *   curl -s 'localhost:3000/products/P001/forecast?days=7' -o /dev/null -w '%{time_total}s\n'   # 2 s, then ~1 ms
 *   curl -s localhost:3000/cache/info                                                          # entries per kind, TTLs
 */
import { buildForecastApp } from './app.js';

async function main(): Promise<void> {
  const app = await buildForecastApp({ logger: true });
  const close = () => void app.close().then(() => process.exit(0));
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
