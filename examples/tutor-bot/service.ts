/**
 * A tutoring chatbot's slow parts, cached: student profiles (cache-first, invalidated on update), LLM replies
 * (through the official `openai` client wrapped by `cachedOpenAI`: 24 h, keyed by the canonical request, so the
 * normalised question and every generation setting) and yesterday's usage report (cached until midnight, when it
 * changes). The stand-in LLM answers in process: no network, no cost.
 */
import type OpenAI from 'openai';
import { CachedPrediction, Invalidates, untilMidnight } from '../../src/index.js';
import { cacheInfo } from '../../src/llm/index.js';

/** A student. */
export interface Profile {
  userId: string;
  name: string;
  level: 'beginner' | 'intermediate' | 'advanced';
  language: string;
}

/** What shapes an answer: part of the LLM cache key. */
export interface ReplySettings {
  model: string;
  temperature: number;
  level: Profile['level'];
  language: string;
}

/** An LLM answer. */
export interface Reply {
  answer: string;
  model: string;
  tokens: number;
  generatedAt: string;
}

/** A reply and whether it came from the cache (for the `X-Cache` header). */
export interface ServedReply {
  reply: Reply;
  hit: boolean;
}

/** Usage of one day. */
export interface DailyReport {
  day: string;
  questions: number;
  students: number;
  generatedAt: string;
}

/** Delays of the stand-in backends, in ms. */
export interface TutorDelays {
  /** @default 25 */
  databaseMs?: number;
  /** @default 700 */
  llmMs?: number;
  /** @default 250 */
  analyticsMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The day before `date`, as YYYY-MM-DD (local time). */
export function previousDay(date = new Date()): string {
  const d = new Date(date.getFullYear(), date.getMonth(), date.getDate() - 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Whitespace and case do not change the question: "What is  a Monad?" and "what is a monad?" share a reply. */
export function normaliseQuestion(question: string): string {
  return question.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** A profile database, an LLM and an analytics store, counting their calls. */
export class TutorBackends {
  readonly calls = { database: 0, llm: 0, analytics: 0 };
  readonly #profiles = new Map<string, Profile>();
  readonly #delays: Required<TutorDelays>;

  constructor(delays: TutorDelays = {}) {
    this.#delays = { databaseMs: 25, llmMs: 700, analyticsMs: 250, ...delays };
    for (const [id, name, level] of [
      ['u1', 'Ada', 'advanced'],
      ['u2', 'Ben', 'beginner'],
      ['u3', 'Chloé', 'intermediate'],
    ] as const) {
      this.#profiles.set(id, { userId: id, name, level, language: 'en' });
    }
  }

  async loadProfile(userId: string): Promise<Profile | null> {
    this.calls.database++;
    await sleep(this.#delays.databaseMs);
    const found = this.#profiles.get(userId);
    return found ? { ...found } : null;
  }

  async saveProfile(userId: string, patch: Partial<Omit<Profile, 'userId'>>): Promise<Profile | null> {
    this.calls.database++;
    await sleep(this.#delays.databaseMs);
    const found = this.#profiles.get(userId);
    if (!found) return null;
    Object.assign(found, patch);
    return { ...found };
  }

  /**
   * The stand-in LLM, as a `fetch` for the `openai` client: answers `POST .../chat/completions` in process after
   * `llmMs`, with usage, like an OpenAI-compatible server would.
   */
  readonly fetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const path = String(url instanceof Request ? url.url : url);
    if (!path.endsWith('/chat/completions')) return new Response('{"error":{"message":"not found"}}', { status: 404 });
    this.calls.llm++;
    await sleep(this.#delays.llmMs);
    const body = JSON.parse(String(init?.body ?? '{}')) as { model: string; messages: Array<{ content: string }> };
    const question = body.messages.at(-1)?.content ?? '';
    const answer = `Let me explain ${question.replace(/^Explain (.*?): /, '$1: ')} comes down to breaking the problem into smaller parts.`;
    const prompt = Math.ceil(JSON.stringify(body.messages).length / 4);
    const completion = answer.split(' ').length;
    return Response.json({
      id: `chatcmpl-${this.calls.llm}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: answer, refusal: null }, finish_reason: 'stop' }],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    });
  };

  async report(day: string): Promise<DailyReport> {
    this.calls.analytics++;
    await sleep(this.#delays.analyticsMs);
    const seed = [...day].reduce((a, c) => a + c.charCodeAt(0), 0);
    return { day, questions: 200 + (seed % 97), students: 40 + (seed % 13), generatedAt: new Date().toISOString() };
  }
}

const userTag = (userId: string) => [`user:${userId}`];

const STYLE = { beginner: 'in simple words', intermediate: 'step by step', advanced: 'precisely' } as const;

/**
 * The cached service. Profiles and reports use the app's cache (the default cache: the first one created) through
 * decorators; replies go through `llm`, an `openai` client wrapped by `cachedOpenAI` (see app.ts).
 */
export class Tutor {
  constructor(
    readonly backends: TutorBackends,
    readonly llm: OpenAI,
  ) {}

  /** Cache-first profile read; `null` (unknown student) is cached too, so a bad id does not hit the database twice. */
  @CachedPrediction({ kind: 'profile', ttl: '1h', key: (userId: string) => userId, tags: userTag })
  async profile(userId: string): Promise<Profile | null> {
    return this.backends.loadProfile(userId);
  }

  /** Saves, then invalidates the student's cached profile (only when the save succeeded). */
  @Invalidates({ tags: (userId: string) => userTag(userId) })
  async updateProfile(userId: string, patch: Partial<Omit<Profile, 'userId'>>): Promise<Profile | null> {
    return this.backends.saveProfile(userId, patch);
  }

  /**
   * Asks the LLM. The request carries the normalised question, the student's level and language and the sampling
   * settings, so the cached answer is shared exactly by the requests that would get the same answer.
   */
  async reply(question: string, settings: ReplySettings): Promise<ServedReply> {
    const completion = await this.llm.chat.completions.create({
      model: settings.model,
      temperature: settings.temperature,
      messages: [
        { role: 'system', content: `You are a patient tutor. Answer in the language '${settings.language}'.` },
        { role: 'user', content: `Explain ${STYLE[settings.level]}: ${normaliseQuestion(question)}` },
      ],
    });
    const reply: Reply = {
      answer: completion.choices[0]?.message.content ?? '',
      model: completion.model,
      tokens: completion.usage?.total_tokens ?? 0,
      generatedAt: new Date(completion.created * 1000).toISOString(),
    };
    return { reply, hit: cacheInfo(completion)?.hit ?? false };
  }

  /** Yesterday's usage does not change during today: cached until midnight, then the next day's is computed. */
  @CachedPrediction({ kind: 'daily-stats', ttl: untilMidnight, key: (day: string) => day })
  async dailyReport(day: string): Promise<DailyReport> {
    return this.backends.report(day);
  }
}
