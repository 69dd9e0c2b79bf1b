/**
 * Runs charger-api: `REDIS_URL=redis://localhost:6379 CACHE_ADMIN_TOKEN=... npx tsx examples/charger-api/server.ts`
 *
 *   curl -s localhost:3000/chargers/CHG_001/predictions/failure -D - | head   # then: redis-cli keys 'prediction:*'
 */
import { createChargerApi } from './app.js';

const { app, close } = createChargerApi();
const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, process.env.HOST ?? '127.0.0.1', () => console.log(`charger-api on :${port}`));
const stop = () => server.close(() => void close().then(() => process.exit(0)));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
