/**
 * Runs price-api: `REDIS_URL=redis://localhost:6379 npx tsx examples/price-api/server.ts`
 *
 *   curl -s localhost:3000/predict -H 'content-type: application/json' \
 *     -d '{"city":"warsaw","area":54,"rooms":3}' -D - | grep -i -E 'x-cache|age'
 */
import { buildPriceApi } from './app.js';

async function main(): Promise<void> {
  const app = await buildPriceApi({ logger: true });
  const close = () => void app.close().then(() => process.exit(0));
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
