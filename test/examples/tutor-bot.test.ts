/** examples/tutor-bot against the test Redis: cache-first profiles, cached LLM replies, a report until midnight. */
import { expect } from 'chai';
import request from 'supertest';
import { createTutorBot, type TutorBot } from '../../examples/tutor-bot/app.js';
import { TutorBackends } from '../../examples/tutor-bot/service.js';
import { adminClient, testRedisUrl } from '../setup/root-hooks.js';
import { eventually } from '../helpers.js';

describe('example: tutor-bot (Express)', () => {
  let bot: TutorBot;
  let backends: TutorBackends;
  beforeEach(() => {
    backends = new TutorBackends({ databaseMs: 2, llmMs: 20, analyticsMs: 5 });
    bot = createTutorBot({
      env: { REDIS_URL: testRedisUrl() },
      cache: { operationTimeout: '2s', logger: false },
      backends,
    });
  });
  afterEach(() => bot.close());

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
    expect((await ask('  what is   a MONAD? ')).body).to.deep.equal(first.body);
    expect(backends.calls.llm).to.equal(1);
    await ask('What is a monad?', { temperature: 0.7 });
    expect(backends.calls.llm).to.equal(2);
    await request(bot.app).put('/users/u1').send({ level: 'beginner' });
    const simpler = await ask('What is a monad?');
    expect(simpler.body.answer).to.contain('in simple words');
    expect(backends.calls.llm).to.equal(3);
    expect((await ask('')).status).to.equal(400);
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
