/**
 * Runs tutor-bot: `REDIS_URL=redis://localhost:6379 npx tsx examples/tutor-bot/server.ts`
 *
 *   curl -s localhost:3000/ask -H 'content-type: application/json' \
 *     -d '{"userId":"u2","question":"What is recursion?"}' -w ' %{time_total}s\n'     # 0.7 s, then ~1 ms
 */
import { createTutorBot } from './app.js';

const { app, close } = createTutorBot();
const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, process.env.HOST ?? '127.0.0.1', () => console.log(`tutor-bot on :${port}`));
const stop = () => server.close(() => void close().then(() => process.exit(0)));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
