/**
 * tutor-bot (Express): a tutoring chatbot in front of an LLM.
 *
 *   GET  /users/:id      the student's profile (cache-first)
 *   PUT  /users/:id      { name?, level?, language? } — invalidates the cached profile
 *   POST /ask            { userId, question, temperature? } — the reply is cached 24 h per question and settings
 *                        (the `openai` client through `cachedOpenAI`; `X-Cache: HIT | MISS`)
 *   GET  /stats/daily    yesterday's usage, cached until midnight
 *   GET  /stats/llm      tokens and money the LLM cache saved
 *   GET  /health, /cache/*
 *
 * Keys are hashed (`hashKeys: true`): no student id and no question text ever appears in Redis.
 * In your own app, import from 'infercache' and 'infercache/express' instead of the relative paths below.
 */
import express, { type ErrorRequestHandler, type Express, type Request } from 'express';
import OpenAI from 'openai';
import { configFromEnv, createCache, type Cache, type CacheOptions } from '../../src/index.js';
import { cachedOpenAI, llmStats } from '../../src/llm/index.js';
import { cacheRouter, type AdminOptions } from '../../plugins/express.js';
import { previousDay, Tutor, TutorBackends, type Profile, type ReplySettings } from './service.js';

/** Options of {@link createTutorBot}. */
export interface TutorBotOptions {
  /** Environment (REDIS_URL, CACHE_TTL_*, CACHE_ADMIN_TOKEN...). @default process.env */
  env?: Record<string, string | undefined>;
  /** Cache options over those read from the environment. */
  cache?: CacheOptions;
  /** The backends. @default TutorBackends with a 700 ms LLM */
  backends?: TutorBackends;
  /**
   * The OpenAI(-compatible) client to ask. @default with `OPENAI_BASE_URL` in `env`: a client for it (and
   * `OPENAI_API_KEY`); otherwise one talking to the in-process stand-in LLM of `backends`
   */
  openai?: OpenAI;
}

/** The app and what it owns. */
export interface TutorBot {
  app: Express;
  cache: Cache;
  tutor: Tutor;
  /** Closes the cache. */
  close(): Promise<void>;
}

const LEVELS = new Set(['beginner', 'intermediate', 'advanced']);
const USER_ID = /^u[0-9]{1,9}$/;
/** The model the bot asks. */
export const MODEL = 'tutor-llm-1';

/** What the stand-in model would cost, per 1M tokens (for `GET /stats/llm`); put your provider's prices here. */
export const PRICES = { [MODEL]: { input: 0.15, output: 0.6, cachedInput: 0.075 } };

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { status: 400 });
}

/** Validates a profile update; throws a 400 error. */
function profilePatch(body: unknown): Partial<Omit<Profile, 'userId'>> {
  const b = (body ?? {}) as Record<string, unknown>;
  const patch: Partial<Omit<Profile, 'userId'>> = {};
  for (const key of Object.keys(b))
    if (!['name', 'level', 'language'].includes(key)) throw badRequest(`unknown ${key}`);
  if (b.name !== undefined) {
    if (typeof b.name !== 'string' || !b.name.trim()) throw badRequest('name must be a non-empty string');
    patch.name = b.name.trim();
  }
  if (b.level !== undefined) {
    if (!LEVELS.has(b.level as string)) throw badRequest('level: beginner | intermediate | advanced');
    patch.level = b.level as Profile['level'];
  }
  if (b.language !== undefined) {
    if (typeof b.language !== 'string' || !/^[a-z]{2}$/.test(b.language)) throw badRequest('language: two letters');
    patch.language = b.language;
  }
  return patch;
}

/** Builds the app (not listening). */
export function createTutorBot(options: TutorBotOptions = {}): TutorBot {
  const env = options.env ?? process.env;
  const cache = createCache({
    redis: { url: 'redis://127.0.0.1:6379' },
    namespace: 'tutor-bot',
    hashKeys: true,
    ...configFromEnv(env),
    setDefault: true, // the decorators of Tutor use this app's cache
    ...options.cache,
  });
  const backends = options.backends ?? new TutorBackends();
  const openai =
    options.openai ??
    (env.OPENAI_BASE_URL
      ? new OpenAI({ baseURL: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY ?? '' })
      : new OpenAI({ baseURL: 'http://stand-in.invalid/v1', apiKey: 'stand-in', fetch: backends.fetch }));
  // Answers are not personal (the prompt holds the question, the level and the language, not the student), so every
  // student shares them: scope 'global'. A bot whose prompts hold personal data would scope by user instead.
  const llm = cachedOpenAI(openai, { cache, scope: 'global', kind: 'llm', ttl: '24h', prices: PRICES });
  const tutor = new Tutor(backends, llm);
  const admin: AdminOptions<Request> = env.CACHE_ADMIN_TOKEN
    ? { token: env.CACHE_ADMIN_TOKEN }
    : { authorize: () => false };

  const app = express();
  app.disable('x-powered-by');
  app.use(cacheRouter(cache, { admin }));
  app.use(express.json({ limit: '32kb' }));
  app.param('id', (_req, _res, next, id: string) => next(USER_ID.test(id) ? undefined : badRequest('bad user id')));

  app.get('/users/:id', async (req, res) => {
    const profile = await tutor.profile(req.params.id as string);
    if (!profile) res.status(404).json({ message: 'no such student' });
    else res.json(profile);
  });

  app.put('/users/:id', async (req, res) => {
    const profile = await tutor.updateProfile(req.params.id as string, profilePatch(req.body));
    if (!profile) res.status(404).json({ message: 'no such student' });
    else res.json(profile);
  });

  app.post('/ask', async (req, res) => {
    const { userId, question, temperature = 0 } = (req.body ?? {}) as Record<string, unknown>;
    if (typeof userId !== 'string' || !USER_ID.test(userId)) throw badRequest('userId: like u1');
    if (typeof question !== 'string' || !question.trim() || question.length > 2000) {
      throw badRequest('question: 1 to 2000 characters');
    }
    if (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= 1)) {
      throw badRequest('temperature: 0 to 1');
    }
    const profile = await tutor.profile(userId);
    if (!profile) {
      res.status(404).json({ message: 'no such student' });
      return;
    }
    const settings: ReplySettings = { model: MODEL, temperature, level: profile.level, language: profile.language };
    const { reply, hit } = await tutor.reply(question, settings);
    res.set('x-cache', hit ? 'HIT' : 'MISS').json(reply);
  });

  app.get('/stats/llm', (_req, res) => {
    res.json(llmStats(cache));
  });

  app.get('/stats/daily', async (_req, res) => {
    res.json(await tutor.dailyReport(previousDay()));
  });

  app.get('/health', async (_req, res) => {
    const health = await cache.health();
    res.json({ status: health.status === 'unavailable' ? 'degraded' : 'ok', cache: health });
  });

  app.use(((error, _req, res, _next) => {
    const status = (error as { status?: number }).status ?? 500;
    res.status(status).json({ message: status === 500 ? 'internal error' : (error as Error).message });
  }) as ErrorRequestHandler);

  return { app, cache, tutor, close: () => cache.close() };
}
