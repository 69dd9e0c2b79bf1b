/**
 * examples/tutor-bot against the test Redis: cache-first profiles, LLM replies through the real `openai` client
 * wrapped by `cachedOpenAI` (against the fake OpenAI-compatible server), a report until midnight.
 */
import { expect } from 'chai';
import OpenAI from 'openai';
import request from 'supertest';
import { createTutorBot, type TutorBot } from '../../examples/tutor-bot/app.js';
import { TutorBackends } from '../../examples/tutor-bot/service.js';
import { adminClient, testRedisUrl } from '../setup/root-hooks.js';
import { eventually } from '../helpers.js';
import { startFakeOpenAI, type FakeOpenAI } from '../llm/fixtures/fake-openai.js';

describe('example: tutor-bot (Express)', () => {
  let bot: TutorBot;
  let backends: TutorBackends;
  let fake: FakeOpenAI;
  const llmCalls = () => fake.calls['chat/completions'] ?? 0;
  beforeEach(async () => {
    fake = await startFakeOpenAI();
    backends = new TutorBackends({ databaseMs: 2, llmMs: 20, analyticsMs: 5 });
    bot = createTutorBot({
      env: { REDIS_URL: testRedisUrl() },
      cache: { operationTimeout: '2s', logger: false },
      backends,
      openai: new OpenAI({ baseURL: fake.url, apiKey: 'sk-test', maxRetries: 0 }),
    });
  });
  afterEach(async () => {
    await bot.close();
    await fake.close();
  });

  it('reads profiles cache-first, and an update is visible at once', async () => {
    expect((await request(bot.app).get('/users/u2')).body.level).to.equal('beginner');
    await request(bot.app).get('/users/u2');
    expect(backends.calls.database).to.equal(1);
    const updated = await request(bot.app).put('/users/u2').send({ level: 'intermediate' });
    expect(updated.body.level).to.equal('intermediate');
    expect((await request(bot.app).get('/users/u2')).body.level).to.equal('intermediate');
    expect(backends.calls.database).to.equal(3);
    expect((await request(bot.app).put('/users/u2').send({ level: 'expert' })).status).to.equal(400);
    expect((await request(bot.app).get('/users/u404')).status).to.equal(404);
  });

  it('answers the same question once per settings, whatever its spacing and case', async () => {
    const ask = (question: string, extra: object = {}) =>
      request(bot.app)
        .post('/ask')
        .send({ userId: 'u1', question, ...extra });
    const first = await ask('What is a monad?');
    expect(first.status).to.equal(200);
    expect(first.headers['x-cache']).to.equal('MISS');
    const again = await ask('  what is   a MONAD? ');
    expect(again.body).to.deep.equal(first.body);
    expect(again.headers['x-cache']).to.equal('HIT');
    expect(llmCalls()).to.equal(1);
    await ask('What is a monad?', { temperature: 0.7 });
    expect(llmCalls()).to.equal(2);
    await request(bot.app).put('/users/u1').send({ level: 'beginner' });
    const simpler = await ask('What is a monad?');
    expect(simpler.body.answer).to.contain('in simple words');
    expect(llmCalls()).to.equal(3);
    expect((await ask('')).status).to.equal(400);
  });

  it('reports the tokens and money its LLM cache saved', async () => {
    const ask = () => request(bot.app).post('/ask').send({ userId: 'u2', question: 'What is recursion?' });
    const first = await ask();
    await ask();
    await ask();
    const stats = (await request(bot.app).get('/stats/llm')).body;
    expect(stats.kinds.llm).to.include({ hits: 2, misses: 1 });
    expect(stats.tokensSaved.output).to.be.greaterThan(0);
    expect(stats.tokensSaved.input + stats.tokensSaved.output).to.equal(2 * first.body.tokens);
    expect(stats.costSaved).to.be.greaterThan(0);
  });

  it('talks to its in-process stand-in LLM when no client is given', async () => {
    const local = createTutorBot({
      env: { REDIS_URL: testRedisUrl() },
      cache: { operationTimeout: '2s', logger: false, namespace: 'tutor-bot-local' },
      backends,
    });
    try {
      const ask = () => request(local.app).post('/ask').send({ userId: 'u2', question: 'Why is the sky blue?' });
      expect((await ask()).body.answer).to.contain('in simple words');
      expect((await ask()).headers['x-cache']).to.equal('HIT');
      expect(backends.calls.llm).to.equal(1);
    } finally {
      await local.close();
    }
  });

  it('keeps replies 24 h, and no student id or question text in any key', async () => {
    await request(bot.app).post('/ask').send({ userId: 'u3', question: 'Explain photosynthesis' });
    await eventually(async () => (await adminClient().keys('tutor-bot:llm:*')).length > 0); // the write landed
    const keys = await adminClient().keys('tutor-bot:*');
    expect(keys.join(' ')).not.to.match(/u3|photosynthesis/i);
    const llm = keys.filter((k) => k.startsWith('tutor-bot:llm:'));
    expect(llm).to.have.length(1);
    expect(await adminClient().pTTL(llm[0]!)).to.be.within(24 * 3600_000 - 60_000, 24 * 3600_000);
  });

  it("caches yesterday's report until midnight", async () => {
    const first = await request(bot.app).get('/stats/daily');
    expect(first.body.day).to.match(/^\d{4}-\d{2}-\d{2}$/);
    expect((await request(bot.app).get('/stats/daily')).body).to.deep.equal(first.body);
    expect(backends.calls.analytics).to.equal(1);
    await eventually(async () => (await adminClient().keys('tutor-bot:daily-stats:*')).length > 0);
    const [key] = await adminClient().keys('tutor-bot:daily-stats:*');
    const ttl = await adminClient().pTTL(key!);
    const now = new Date();
    const untilMidnight = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1).getTime() - now.getTime();
    // The entry ends at the next local midnight (a second or two taken by the calls above), not before.
    expect(ttl).to.be.within(untilMidnight - 2000, untilMidnight + 1000);
  });

  it('serves the cache endpoints; mutations need an admin, configured here by no one', async () => {
    expect((await request(bot.app).get('/cache/health')).body.status).to.equal('healthy');
    expect((await request(bot.app).post('/cache/invalidate').send({ all: true })).status).to.equal(403);
  });
});
