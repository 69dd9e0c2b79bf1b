/**
 * A tutoring chatbot's slow parts, cached: student profiles (cache-first, invalidated on update), LLM replies
 * (24 h, keyed by the SHA-256 of the normalised question and the generation settings) and yesterday's usage
 * report (cached until midnight, when it changes). A fake LLM: no network, no cost.
 */
import { CachedPrediction, Invalidates, untilMidnight } from '../../src/index.js';

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

  async complete(question: string, settings: ReplySettings): Promise<Reply> {
    this.calls.llm++;
    await sleep(this.#delays.llmMs);
    const depth = { beginner: 'in simple words', intermediate: 'step by step', advanced: 'precisely' }[settings.level];
    const answer = `Let me explain ${depth}: "${question}" comes down to breaking the problem into smaller parts.`;
    return { answer, model: settings.model, tokens: answer.split(' ').length, generatedAt: new Date().toISOString() };
  }

  async report(day: string): Promise<DailyReport> {
    this.calls.analytics++;
    await sleep(this.#delays.analyticsMs);
    const seed = [...day].reduce((a, c) => a + c.charCodeAt(0), 0);
    return { day, questions: 200 + (seed % 97), students: 40 + (seed % 13), generatedAt: new Date().toISOString() };
  }
}

const userTag = (userId: string) => [`user:${userId}`];

/** The cached service. Uses the app's cache (the default cache: the first one created). */
export class Tutor {
  constructor(readonly backends: TutorBackends) {}

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

  /** 24 h: the key is the SHA-256 of the canonical [normalised question, settings]; no text appears in Redis. */
  @CachedPrediction({
    kind: 'llm',
    ttl: '24h',
    key: (question: string, settings: ReplySettings) => [normaliseQuestion(question), settings],
  })
  async reply(question: string, settings: ReplySettings): Promise<Reply> {
    return this.backends.complete(question, settings);
  }

  /** Yesterday's usage does not change during today: cached until midnight, then the next day's is computed. */
  @CachedPrediction({ kind: 'daily-stats', ttl: untilMidnight, key: (day: string) => day })
  async dailyReport(day: string): Promise<DailyReport> {
    return this.backends.report(day);
  }
}
