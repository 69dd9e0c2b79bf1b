/** cachedOpenAI: the real `openai` client against the fake OpenAI-compatible server, through the cache. */
import { expect } from 'chai';
import OpenAI from 'openai';
import { cachedOpenAI, cacheControl, cacheInfo, llmStats } from '../../src/llm/index.js';
import { ConfigError, type Cache } from '../../src/index.js';
import { newCache } from '../helpers.js';
import { startFakeOpenAI, type FakeOpenAI } from './fixtures/fake-openai.js';
import { otel } from '../telemetry/otel.js';

const MODEL = 'gpt-4o-mini';
const ask = <E extends object = Record<never, never>>(content: string, extra?: E) => ({
  model: MODEL,
  messages: [{ role: 'user' as const, content }],
  temperature: 0,
  ...(extra as E),
});

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

const textOf = (chunks: any[]) => chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');

describe('llm: cachedOpenAI with the openai client', () => {
  let fake: FakeOpenAI;
  let cache: Cache;
  let raw: OpenAI;
  let client: OpenAI;

  beforeEach(async () => {
    fake = await startFakeOpenAI();
    cache = newCache();
    await cache.connect();
    raw = new OpenAI({ apiKey: 'sk-test-tenant-a', baseURL: fake.url, maxRetries: 0 });
    client = cachedOpenAI(raw, { cache, scope: 'global' });
  });
  afterEach(() => fake.close());

  it('answers an identical chat request from the cache, whatever the key order, and says so', async () => {
    const first = await client.chat.completions.create(ask('What is a monad?'));
    expect(cacheInfo(first)).to.include({ hit: false, result: 'miss', age: 0 });
    const reordered = {
      temperature: 0,
      messages: [{ content: 'What is a monad?', role: 'user' as const }],
      model: MODEL,
    };
    const second = await client.chat.completions.create(reordered);
    expect(second).to.deep.equal(JSON.parse(JSON.stringify(first)));
    expect(cacheInfo(second)).to.include({ hit: true, result: 'hit' });
    expect(fake.calls['chat/completions']).to.equal(1);
    expect(cacheInfo({})).to.equal(undefined);
  });

  it('asks upstream again when any output-affecting field changes', async () => {
    await client.chat.completions.create(ask('q'));
    await client.chat.completions.create(ask('q', { temperature: 0.5 }));
    await client.chat.completions.create(ask('q', { seed: 7 }));
    await client.chat.completions.create(ask('q', { max_tokens: 10 }));
    await client.chat.completions.create({ ...ask('q'), model: 'gpt-4o' });
    expect(fake.calls['chat/completions']).to.equal(5);
    await client.chat.completions.create(ask('q', { user: 'someone', metadata: { a: '1' }, store: false }));
    expect(fake.calls['chat/completions']).to.equal(5);
  });

  it('never shares entries between two scopes, and requires a scope', async () => {
    const tenant = cachedOpenAI(raw, { cache, scope: (r) => String(r.body.user) });
    await tenant.chat.completions.create(ask('hello', { user: 'alice' }));
    await tenant.chat.completions.create(ask('hello', { user: 'bob' }));
    await tenant.chat.completions.create(ask('hello', { user: 'alice' }));
    expect(fake.calls['chat/completions']).to.equal(2);
    expect(() => cachedOpenAI(raw, { cache } as never)).to.throw(ConfigError, /scope/);
    expect(() => cachedOpenAI(raw, { cache, scope: 'global', temperature: 'sometimes' as never })).to.throw(
      ConfigError,
      /temperature/,
    );
    expect(() => cachedOpenAI(raw, { cache, scope: 'global', prices: { m: { input: -1 } } })).to.throw(
      ConfigError,
      /prices\.m\.input/,
    );
  });

  it('never stores errors, content-filter refusals or truncated answers (unless allowed)', async () => {
    fake.fail('429');
    await expectReject(client.chat.completions.create(ask('e')), /429|Rate limit/);
    fake.fail('500');
    await expectReject(client.chat.completions.create(ask('e')), /500|Server error/);
    fake.fail('content_filter');
    expect(cacheInfo(await client.chat.completions.create(ask('e')))).to.include({ notStored: 'refused' });
    fake.fail('length');
    expect(cacheInfo(await client.chat.completions.create(ask('e')))).to.include({ notStored: 'truncated' });
    const ok = await client.chat.completions.create(ask('e'));
    expect(ok.choices[0]!.finish_reason).to.equal('stop');
    expect(fake.calls['chat/completions']).to.equal(5);
    expect(cacheInfo(await client.chat.completions.create(ask('e')))!.hit).to.equal(true);

    const truncating = cachedOpenAI(raw, { cache, scope: 'global', allowTruncated: true, kind: 'llm-cut' });
    fake.fail('length');
    await truncating.chat.completions.create(ask('cut'));
    const again = await truncating.chat.completions.create(ask('cut'));
    expect(again.choices[0]!.finish_reason).to.equal('length');
    expect(cacheInfo(again)!.hit).to.equal(true);
  });

  it('replays a stream on a hit with the same chunks: text, reasoning, tool calls and the usage chunk', async () => {
    const body = ask('Stream me', { stream: true as const, stream_options: { include_usage: true } });
    const missed = await client.chat.completions.create(body);
    const live = await collect(missed);
    expect(cacheInfo(missed)).to.include({ hit: false, result: 'miss' });
    const hit = await client.chat.completions.create(body);
    const replayed = await collect(hit);
    expect(cacheInfo(hit)).to.include({ hit: true });
    expect(replayed).to.deep.equal(JSON.parse(JSON.stringify(live)));
    expect(textOf(replayed)).to.match(/^Answer .* to: Stream me\.$/);
    expect(replayed.some((c: any) => c.choices[0]?.delta?.reasoning_content)).to.equal(true);
    expect(replayed.at(-1)!.usage!.completion_tokens).to.be.greaterThan(0);
    expect(fake.calls['chat/completions']).to.equal(1);

    const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } }];
    const toolBody = ask('Use a tool', { stream: true as const, tools });
    const toolLive = await collect(await client.chat.completions.create(toolBody));
    const toolHit = await collect(await client.chat.completions.create(toolBody));
    expect(toolHit).to.deep.equal(JSON.parse(JSON.stringify(toolLive)));
    const args = toolHit.map((c: any) => c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '').join('');
    expect(args).to.equal('{"q":"x"}');
    // usage was not asked for: captured for the stats, but not handed to the caller
    expect(toolHit.some((c: any) => c.choices.length === 0)).to.equal(false);
    expect(fake.calls['chat/completions']).to.equal(2);
  });

  it('does not store a stream cut midway, and its reader sees the failure', async () => {
    fake.fail('cut');
    const body = ask('cut me', { stream: true as const });
    const stream = await client.chat.completions.create(body);
    await expectReject(collect(stream), /./);
    const next = await collect(await client.chat.completions.create(body));
    expect(next.at(-1)!.choices[0]!.finish_reason).to.equal('stop');
    expect(fake.calls['chat/completions']).to.equal(2);
  });

  it('makes one upstream call for concurrent identical streams, each reader getting chunks as they arrive', async () => {
    const release = fake.hold();
    const body = ask('together', { stream: true as const });
    const a = await client.chat.completions.create(body);
    const b = await client.chat.completions.create(body);
    const ia = a[Symbol.asyncIterator]();
    const ib = b[Symbol.asyncIterator]();
    // both readers get the first chunk while the upstream stream is still held open
    expect((await ia.next()).value.choices[0].delta.role).to.equal('assistant');
    expect((await ib.next()).value.choices[0].delta.role).to.equal('assistant');
    expect(cacheInfo(b)).to.include({ hit: true, result: 'joined' });
    release();
    const rest = async (it: AsyncIterator<any>) => {
      const out = [];
      for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
      return out;
    };
    const [ra, rb] = await Promise.all([rest(ia), rest(ib)]);
    expect(rb).to.deep.equal(ra);
    expect(fake.calls['chat/completions']).to.equal(1);
  });

  it('aborts upstream and stores nothing when the only reader stops early', async () => {
    const release = fake.hold();
    const body = ask('stop early', { stream: true as const });
    const stream = await client.chat.completions.create(body);
    for await (const chunk of stream) {
      expect(chunk.choices[0]!.delta.role).to.equal('assistant');
      break;
    }
    release();
    const next = await client.chat.completions.create(body);
    expect(cacheInfo(next)).to.include({ hit: false, result: 'miss' });
    await collect(next);
    expect(fake.calls['chat/completions']).to.equal(2);
  });

  it('refreshes a stored stream on request, and replaces one older than max age', async () => {
    const body = ask('fresh stream', { stream: true as const });
    await collect(await client.chat.completions.create(body));
    const refreshed = await client.chat.completions.create(body, cacheControl({ refresh: true }));
    expect(cacheInfo(refreshed)).to.include({ result: 'refresh' });
    await collect(refreshed);
    const young = await client.chat.completions.create(body, cacheControl({ maxAge: 3600 }));
    expect(cacheInfo(young)).to.include({ hit: true });
    await collect(young);
    expect(fake.calls['chat/completions']).to.equal(2);
  });

  it('shares one upstream call between concurrent identical plain requests', async () => {
    const answers = await Promise.all([1, 2, 3].map(() => client.chat.completions.create(ask('same time'))));
    expect(new Set(answers.map((a) => a.choices[0]!.message.content)).size).to.equal(1);
    expect(fake.calls['chat/completions']).to.equal(1);
  });

  it('runs a request uncached when its scope function fails, and refuses unknown options', async () => {
    const failing = cachedOpenAI(raw, {
      cache,
      scope: () => {
        throw new Error('no tenant');
      },
    });
    const first = await failing.chat.completions.create(ask('no scope'));
    expect(cacheInfo(first)).to.include({ result: 'bypass' });
    await failing.chat.completions.create(ask('no scope'));
    expect(fake.calls['chat/completions']).to.equal(2);
    expect(() => cachedOpenAI(raw, { cache, scope: 'global', tll: '1h' } as never)).to.throw(ConfigError, /tll/);
    expect(() => cachedOpenAI(raw, { cache, scope: 'global', kind: 'no spaces' })).to.throw(ConfigError, /kind/);
  });

  it('replays a stored stream paced when asked (the next chunk waits for a timer), else at once', async () => {
    const paced = cachedOpenAI(raw, { cache, scope: 'global', pace: '100ms', kind: 'paced' });
    const body = ask('pace me', { stream: true as const });
    await collect(await paced.chat.completions.create(body));
    const settledBeforeImmediate = async (stream: AsyncIterable<unknown>) => {
      const it = stream[Symbol.asyncIterator]();
      await it.next();
      let settled = false;
      const second = it.next().then(() => (settled = true));
      await new Promise((resolve) => setImmediate(resolve));
      const early = settled;
      await it.return?.();
      await second;
      return early;
    };
    const hit = await paced.chat.completions.create(body);
    expect(cacheInfo(hit)!.hit).to.equal(true);
    expect(await settledBeforeImmediate(hit)).to.equal(false);
    await collect(await client.chat.completions.create(body));
    expect(await settledBeforeImmediate(await client.chat.completions.create(body))).to.equal(true);
  });

  it('caches legacy completions, and not one cut by the token limit', async () => {
    const body = { model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi', temperature: 0 };
    const first = await client.completions.create(body);
    const second = await client.completions.create(body);
    expect(second.choices[0]!.text).to.equal(first.choices[0]!.text);
    expect(cacheInfo(second)!.hit).to.equal(true);
    fake.fail('length');
    await client.completions.create({ ...body, max_tokens: 2 });
    expect(cacheInfo(await client.completions.create({ ...body, max_tokens: 2 }))!.hit).to.equal(false);
    expect(fake.calls.completions).to.equal(3);
  });

  it('caches each embedding input on its own and asks upstream only for the misses, in order', async () => {
    const first = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
    expect(first.data.map((d) => d.index)).to.deep.equal([0, 1]);
    const second = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['beta', 'gamma delta', 'alpha'],
    });
    expect(fake.calls.embeddings).to.equal(2);
    expect(fake.received.at(-1)!.body.input).to.deep.equal(['gamma delta']);
    expect(second.data.map((d) => d.index)).to.deep.equal([0, 1, 2]);
    expect(second.data[0]!.embedding).to.deep.equal(first.data[1]!.embedding);
    expect(second.data[2]!.embedding).to.deep.equal(first.data[0]!.embedding);
    expect(second.usage.prompt_tokens).to.equal(2);
    const all = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'gamma delta'] });
    expect(fake.calls.embeddings).to.equal(2);
    expect(all.usage.prompt_tokens).to.equal(0);
    expect(cacheInfo(all)).to.include({ hit: true });
  });

  it('honours per-request control: skip, refresh, max age and a TTL, and never forwards those headers', async () => {
    await client.chat.completions.create(ask('ctl'));
    const skipped = await client.chat.completions.create(ask('ctl'), cacheControl({ skip: true }));
    expect(cacheInfo(skipped)).to.include({ result: 'bypass' });
    const refreshed = await client.chat.completions.create(ask('ctl'), cacheControl({ refresh: true }));
    expect(cacheInfo(refreshed)).to.include({ result: 'refresh' });
    expect(fake.calls['chat/completions']).to.equal(3);
    expect(fake.received.at(-1)!.headers['cache-control']).to.equal(undefined);
    const young = await client.chat.completions.create(ask('ctl'), cacheControl({ maxAge: 60 }));
    expect(cacheInfo(young)!.hit).to.equal(true);
    const ttl = await client.chat.completions.create(ask('ttl'), cacheControl({ ttl: '5m' }));
    expect(cacheInfo(ttl)!.hit).to.equal(false);
    expect(fake.received.at(-1)!.headers['x-infercache-ttl']).to.equal(undefined);
  });

  it("'deterministic' caches only temperature 0; { variants } keeps up to N answers per key", async () => {
    const strict = cachedOpenAI(raw, { cache, scope: 'global', temperature: 'deterministic', kind: 'strict' });
    await strict.chat.completions.create(ask('d', { temperature: 0.7 }));
    const again = await strict.chat.completions.create(ask('d', { temperature: 0.7 }));
    expect(cacheInfo(again)).to.include({ result: 'bypass' });
    expect(fake.calls['chat/completions']).to.equal(2);
    expect(llmStats(cache).kinds.strict!.bypasses).to.equal(2);

    const varied = cachedOpenAI(raw, { cache, scope: 'global', temperature: { variants: 2 }, kind: 'varied' });
    for (let i = 0; i < 20; i++) await varied.chat.completions.create(ask('v', { temperature: 1 }));
    expect(fake.calls['chat/completions']).to.equal(4); // one per slot, then hits
  });

  it('counts tokens and money saved per kind, and exports them with the model', async () => {
    const o = otel();
    const observed = newCache({ telemetry: o.telemetry });
    const priced = cachedOpenAI(raw, {
      cache: observed,
      scope: 'global',
      prices: { [MODEL]: { input: 0.15, output: 0.6, cachedInput: 0.075 } },
    });
    const miss = await priced.chat.completions.create(ask('price'));
    const hit = await priced.chat.completions.create(ask('price'));
    const u = miss.usage!;
    const expected = ((u.prompt_tokens - 2) * 0.15 + 2 * 0.075 + u.completion_tokens * 0.6) / 1e6;
    expect(cacheInfo(hit)!.costSaved).to.be.closeTo(expected, 1e-12);
    const stats = llmStats(observed);
    expect(stats.kinds.llm).to.deep.include({
      hits: 1,
      misses: 1,
      tokensSaved: { input: u.prompt_tokens, output: u.completion_tokens, cachedInput: 2 },
    });
    expect(stats.costSaved).to.be.closeTo(expected, 1e-12);
    const tokens = await o.points('infercache.llm.tokens_saved', { 'gen_ai.request.model': MODEL });
    expect(tokens.map((p) => p.value).reduce((a: number, b) => a + (b as number), 0)).to.equal(
      u.prompt_tokens + u.completion_tokens + 2,
    );
    const cost = await o.points('infercache.llm.cost_saved', { 'gen_ai.request.model': MODEL });
    expect(cost[0]!.value).to.be.closeTo(expected, 1e-12);
    expect(o.span('infercache llm chat.completions').attributes).to.include({
      'gen_ai.request.model': MODEL,
      'infercache.result': 'hit',
    });
    const streamed = ask('price', { stream: true as const });
    await collect(await priced.chat.completions.create(streamed));
    await collect(await priced.chat.completions.create(streamed));
    const spans = o.spans().filter((s) => s.name === 'infercache llm chat.completions');
    expect(spans.map((s) => s.attributes['infercache.result'])).to.deep.equal(['miss', 'hit', 'miss', 'hit']);
  });

  it('caches the Responses API, plain and streamed, and never stores an incomplete response', async () => {
    const plain = await client.responses.create({ model: MODEL, input: 'Hi there' });
    const again = await client.responses.create({ model: MODEL, input: 'Hi there' });
    expect(again.output_text).to.equal(plain.output_text);
    expect(cacheInfo(again)!.hit).to.equal(true);
    const live = await collect(await client.responses.create({ model: MODEL, input: 'Hi', stream: true }));
    const hit = await client.responses.create({ model: MODEL, input: 'Hi', stream: true });
    expect(await collect(hit)).to.deep.equal(JSON.parse(JSON.stringify(live)));
    expect(live.at(-1)!.type).to.equal('response.completed');
    expect(fake.calls.responses).to.equal(2);
    fake.fail('length');
    await client.responses.create({ model: MODEL, input: 'long', max_output_tokens: 16 });
    await client.responses.create({ model: MODEL, input: 'long', max_output_tokens: 16 });
    expect(fake.calls.responses).to.equal(4);
  });
});

async function expectReject(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(String((error as Error)?.message)).to.match(message);
    return;
  }
  expect.fail('expected a rejection');
}
