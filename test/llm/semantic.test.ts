/** The semantic tier through cachedOpenAI: the real `openai` client, the fake OpenAI server and a real Redis. */
import { expect } from 'chai';
import OpenAI from 'openai';
import { cachedOpenAI, cacheInfo, llmStats, type SemanticOptions } from '../../src/llm/index.js';
import { type Cache } from '../../src/index.js';
import { SemanticStore } from '../../src/llm/semantic/store.js';
import { eventually, newCache, warnings } from '../helpers.js';
import { adminClient } from '../setup/root-hooks.js';
import { internalsOf } from '../../src/cache.js';
import { startFakeOpenAI, type FakeOpenAI } from './fixtures/fake-openai.js';
import { testEmbed } from './fixtures/embedder.js';
import { otel } from '../telemetry/otel.js';

const MODEL = 'gpt-4o-mini';
const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  messages: [{ role: 'user' as const, content }],
  temperature: 0,
  ...extra,
});
const textOf = (answer: OpenAI.Chat.Completions.ChatCompletion) => answer.choices[0]!.message.content;

describe('llm: semantic tier (similar prompts)', () => {
  let fake: FakeOpenAI;
  let cache: Cache;
  let raw: OpenAI;
  let embeds: number;
  const semantic = (extra: Partial<SemanticOptions> = {}): SemanticOptions => ({
    embed: (text) => {
      embeds++;
      return testEmbed(text);
    },
    threshold: 0.8,
    ...extra,
  });
  const client = (options: Partial<Parameters<typeof cachedOpenAI>[1]> = {}, on: Cache = cache) =>
    cachedOpenAI(raw, { cache: on, scope: 'global', semantic: semantic(), ...options });
  const upstream = () => fake.calls['chat/completions'] ?? 0;

  beforeEach(async () => {
    embeds = 0;
    fake = await startFakeOpenAI();
    cache = newCache();
    await cache.connect();
    raw = new OpenAI({ apiKey: 'sk-test', baseURL: fake.url, maxRetries: 0 });
  });
  afterEach(() => fake.close());

  it('serves a paraphrase the stored answer, says so with the similarity, and counts what it saved', async () => {
    const llm = client({ prices: { [MODEL]: { input: 1, output: 2 } } });
    const first = await llm.chat.completions.create(ask('How do I reset my password?'));
    const second = await llm.chat.completions.create(ask('How can I change my password?'));
    expect(upstream()).to.equal(1);
    expect(textOf(second)).to.equal(textOf(first));
    const info = cacheInfo(second)!;
    expect(info).to.include({ hit: true, result: 'hit' });
    expect(info.semantic!.similarity).to.equal(1);
    expect(info.tokensSaved!.output).to.equal(first.usage!.completion_tokens);
    const stats = llmStats(cache).kinds.llm!;
    expect(stats).to.include({ hits: 1, misses: 1 });
    expect(stats.semantic).to.include({ lookups: 2, hits: 1 });
    expect(stats.costSaved).to.be.above(0);
    // a match served is never stored under the paraphrase's own key: asked again, it is a semantic hit again
    const again = await llm.chat.completions.create(ask('How can I change my password?'));
    expect(cacheInfo(again)!.semantic).to.deep.equal({ similarity: 1 });
    // identical paraphrases at once share one lookup (single flight): both are semantic hits
    const both = await Promise.all([1, 2].map(() => llm.chat.completions.create(ask('How can I modify my password?'))));
    expect(both.map((b) => cacheInfo(b)!.semantic)).to.deep.equal([{ similarity: 1 }, { similarity: 1 }]);
    expect(upstream()).to.equal(1);
    // the Responses API compares its input the same way
    await llm.responses.create({ model: MODEL, input: 'How do I delete my account?' });
    const similar = await llm.responses.create({ model: MODEL, input: 'How can I remove my account?' });
    expect(cacheInfo(similar)).to.include({ hit: true });
    expect(fake.calls.responses).to.equal(1);
  });

  it('answers an identical request from the exact key first, without embedding it', async () => {
    const llm = client();
    await llm.chat.completions.create(ask('What is a monad in Haskell?'));
    expect(embeds).to.equal(1);
    const again = await llm.chat.completions.create(ask('What is a monad in Haskell?'));
    expect(cacheInfo(again)).to.include({ hit: true }).and.not.have.property('semantic');
    expect(embeds).to.equal(1);
  });

  it('refuses matches that differ in a number, a negation or an entity, and serves them with the guard off', async () => {
    const llm = client();
    const refused = async (stored: string, asked: string, guard: string) => {
      await llm.chat.completions.create(ask(stored));
      const answer = await llm.chat.completions.create(ask(asked));
      expect(cacheInfo(answer)!.hit, asked).to.equal(false);
      expect(cacheInfo(answer)!.semantic).to.include({ refusedBy: guard });
    };
    await refused('Write three tips for sleeping better', 'Write five tips for sleeping better', 'numbers');
    await refused('Is it safe to eat raw eggs?', 'Is it not safe to eat raw eggs?', 'negations');
    await refused(
      'Summarise the latest quarterly revenue report from Apple',
      'Summarise the latest quarterly revenue report from Microsoft',
      'entities',
    );
    expect(upstream()).to.equal(6);
    expect(llmStats(cache).semantic.refusals).to.include({ numbers: 1, negations: 1, entities: 1 });
    const loose = client({ kind: 'loose', semantic: semantic({ guards: { numbers: false } }) });
    await loose.chat.completions.create(ask('Write three tips for sleeping better'));
    const served = await loose.chat.completions.create(ask('Write five tips for sleeping better'));
    expect(cacheInfo(served)).to.include({ hit: true });
  });

  it('never crosses scopes', async () => {
    const tenant = client({ scope: (r) => String(r.body.user) });
    await tenant.chat.completions.create(ask('How do I delete my account?', { user: 'alice' }));
    const bob = await tenant.chat.completions.create(ask('How can I remove my account?', { user: 'bob' }));
    expect(cacheInfo(bob)!.hit).to.equal(false);
    const alice = await tenant.chat.completions.create(ask('How can I remove my account?', { user: 'alice' }));
    expect(cacheInfo(alice)!.hit).to.equal(true);
    expect(upstream()).to.equal(2);
  });

  it('matches only requests equal in everything but the compared text: model, system prompt, turns, parameters', async () => {
    const llm = client();
    const system = (content: string) => ({ role: 'system' as const, content });
    const base = { model: MODEL, temperature: 0 };
    const user = (content: string) => ({ role: 'user' as const, content });
    await llm.chat.completions.create({ ...base, messages: [system('Be terse.'), user('How do I fix a flat tire?')] });
    const variants = [
      { ...base, messages: [system('Be verbose.'), user('How can I repair a flat tyre?')] },
      { ...base, model: 'gpt-4o', messages: [system('Be terse.'), user('How can I repair a flat tyre?')] },
      { ...base, temperature: 0.5, messages: [system('Be terse.'), user('How can I repair a flat tyre?')] },
      { ...base, messages: [system('Be terse.'), user('Hi'), user('How can I repair a flat tyre?')] },
    ];
    for (const body of variants) expect(cacheInfo(await llm.chat.completions.create(body))!.hit).to.equal(false);
    const same = { ...base, messages: [system('Be terse.'), user('How can I repair a flat tyre?')] };
    expect(cacheInfo(await llm.chat.completions.create(same))!.hit).to.equal(true);
  });

  it('compares what `compare` returns, and looks a request up exactly only when it returns nothing', async () => {
    const system = (body: Record<string, unknown>) => {
      const first = (body.messages as Array<{ role: string; content: string }>)[0]!;
      return first.role === 'system' ? first.content : undefined;
    };
    const llm = client({ semantic: semantic({ compare: system }) });
    const turn = (instructions: string) => ({
      model: MODEL,
      messages: [
        { role: 'system' as const, content: instructions },
        { role: 'user' as const, content: 'Hello' },
      ],
    });
    await llm.chat.completions.create(turn('Recommend a good book about history'));
    const similar = await llm.chat.completions.create(turn('Can you suggest a good history book?'));
    expect(cacheInfo(similar)).to.include({ hit: true });
    embeds = 0;
    const userOnly = await llm.chat.completions.create(ask('Why is the sky blue?'));
    expect(cacheInfo(userOnly)).to.include({ hit: false }).and.not.have.property('semantic');
    expect(embeds).to.equal(0);
  });

  it('stops serving a match once its entry is invalidated by kind, tag, version or entry, and drops the vector', async () => {
    const llm = client({ tags: ['faq'] });
    const store = SemanticStore.of(cache);
    const hit = async (content: string, on = llm) => cacheInfo(await on.chat.completions.create(ask(content)))!;
    await hit('How do I reset my password?');
    expect((await hit('How can I change my password?')).hit).to.equal(true);
    await cache.invalidateKind('llm');
    expect((await hit('How can I update my password?')).hit).to.equal(false);
    expect(store.index.size).to.equal(1); // the stale vector dropped, the new one added

    await hit('How do I delete my account?');
    expect((await hit('How can I remove my account?')).hit).to.equal(true);
    await cache.invalidateTags('faq');
    expect((await hit('How can I delete my account please?')).hit).to.equal(false);

    const stored = await hit('How do I fix a flat tire?');
    expect((await hit('How can I repair a flat tyre?')).hit).to.equal(true);
    await cache.delete('llm', `json.g.${stored.key}`);
    expect((await hit('How can I fix a flat tyre?')).hit).to.equal(false);

    await hit('How do I update my billing address?');
    const v2 = newCache({ version: 'v2' });
    await v2.connect();
    expect((await hit('How can I change my billing address?', client({}, v2))).hit).to.equal(false);
    expect(upstream()).to.equal(8);
  });

  it('drops vectors eagerly when another instance invalidates the kind', async () => {
    const llm = client();
    const peer = newCache();
    await peer.connect();
    await llm.chat.completions.create(ask('Why is the sky blue?'));
    const store = SemanticStore.of(cache);
    expect(store.index.size).to.equal(1);
    await peer.invalidateKind('llm');
    await eventually(() => store.index.size === 0);
  });

  it('finds vectors stored before a restart, and shares new ones with a running instance over the bus', async () => {
    await client().chat.completions.create(ask('How do I install Docker on Ubuntu?'));
    await cache.close();
    const restarted = newCache();
    await restarted.connect();
    const after = await client({}, restarted).chat.completions.create(ask('Steps to install Docker on Ubuntu'));
    expect(cacheInfo(after)).to.include({ hit: true });
    const running = newCache();
    await running.connect();
    const peer = client({}, running);
    await SemanticStore.of(running).ready('llm');
    const size = SemanticStore.of(running).index.size;
    await client({}, restarted).chat.completions.create(ask('How do I sort a list in JavaScript?'));
    await eventually(() => SemanticStore.of(running).index.size === size + 1);
    const shared = await peer.chat.completions.create(ask('How can I sort an array in JavaScript?'));
    expect(cacheInfo(shared)).to.include({ hit: true });
    expect(upstream()).to.equal(2);
  });

  it('reads the registry again when its bus comes back, for the vectors it missed while it was down', async () => {
    const peer = newCache();
    await peer.connect();
    const store = SemanticStore.of(cache);
    await store.ready('llm');
    client(); // this instance has a semantic tier for the kind
    const admin = adminClient();
    await admin.configSet('requirepass', 'semantic-test-pw'); // the subscriber cannot come back until this is undone
    try {
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await eventually(() => internalsOf(cache).bus!.up === false);
      await client({}, peer).chat.completions.create(ask('How do I cancel my subscription?'));
      expect(store.index.size).to.equal(0); // its message was missed
    } finally {
      await admin.configSet('requirepass', '');
    }
    await eventually(() => store.index.size === 1);
    const hit = await client().chat.completions.create(ask('What are the steps to cancel my subscription?'));
    expect(cacheInfo(hit)).to.include({ hit: true });
  });

  it('asks the verifier in the band below the threshold, and misses there without one', async () => {
    const asked: Array<{ similarity: number; matchedText: string }> = [];
    let verdict = true;
    const verify = (c: { similarity: number; matchedText: string }) => {
      asked.push(c);
      return verdict;
    };
    const banded = client({ semantic: semantic({ threshold: 0.9, band: 0.2, verify }) });
    await banded.chat.completions.create(ask('Why is the sky blue?'));
    const yes = await banded.chat.completions.create(ask('What makes the sky blue?')); // 0.816: in the band
    expect(cacheInfo(yes)).to.include({ hit: true });
    expect(asked[0]).to.include({ matchedText: 'Why is the sky blue?' });
    verdict = false;
    const no = await banded.chat.completions.create(ask('And what makes the sky blue?'));
    expect(cacheInfo(no)!.semantic).to.include({ refusedBy: 'verifier' });
    const unverified = client({ kind: 'strict', semantic: semantic({ threshold: 0.9, band: 0.2 }) });
    await unverified.chat.completions.create(ask('Why is the sky blue?'));
    const band = await unverified.chat.completions.create(ask('What makes the sky blue?'));
    expect(cacheInfo(band)!.semantic).to.include({ refusedBy: 'band' });
    expect(llmStats(cache).kinds.llm!.semantic.verifierCalls).to.equal(2);
  });

  it('replays the stored stream for a streamed paraphrase', async () => {
    const llm = client();
    const collect = async (content: string) => {
      const stream = await llm.chat.completions.create({ ...ask(content), stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      return { text, info: cacheInfo(stream)! };
    };
    const first = await collect('How do I make pancakes?');
    await eventually(() => SemanticStore.of(cache).index.size === 1);
    const second = await collect('What is a good recipe for pancakes?');
    expect(second.text).to.equal(first.text);
    expect(second.info).to.include({ hit: true });
    expect(second.info.semantic!.similarity).to.be.above(0.8);
    expect(upstream()).to.equal(1);
  });

  it('records the nearest similarity of each lookup in a histogram', async () => {
    const o = otel();
    const observed = newCache({ telemetry: o.telemetry });
    const llm = client({}, observed);
    await llm.chat.completions.create(ask('How do I reset my password?'));
    await llm.chat.completions.create(ask('How do I reset my router?')); // 0.5: no candidate at 0.8
    await llm.chat.completions.create(ask('How can I change my password?'));
    const points = await o.points('infercache.llm.semantic.similarity');
    const sum = (outcome: string) =>
      points
        .filter((p) => p.attributes['infercache.llm.semantic.outcome'] === outcome)
        .reduce((n, p) => n + (p.value as { count: number }).count, 0);
    expect(sum('miss')).to.equal(1);
    expect(sum('hit')).to.equal(1);
    await o.close();
  });

  it('goes on without the semantic tier when the embedder fails, and validates its options by name', async () => {
    const broken = client({ semantic: semantic({ embed: () => Promise.reject(new Error('model down')) }) });
    const answer = await broken.chat.completions.create(ask('Why is the sky blue?'));
    expect(cacheInfo(answer)).to.include({ result: 'miss' });
    expect(llmStats(cache).semantic.errors).to.equal(1);
    expect(warnings.join()).to.match(/semantic\.embed threw \(model down\)/);
    // another embedder's vectors in the same kind (its length differs): the index refuses it, the request goes on
    await client().chat.completions.create(ask('Why is the ocean blue?'));
    const short = client({ semantic: semantic({ embed: () => [1, 0, 0] }) });
    const other = await short.chat.completions.create(ask('Why is the ocean salty?'));
    expect(cacheInfo(other)).to.include({ result: 'miss' });
    expect(llmStats(cache).semantic.errors).to.equal(2);
    const bad = (s: unknown) => () => client({ semantic: s as SemanticOptions });
    expect(bad({ embed: testEmbed })).to.throw(/cachedOpenAI\.semantic\.threshold/);
    expect(bad({ embed: testEmbed, threshold: 0.8, band: 0.9 })).to.throw(/cachedOpenAI\.semantic\.band/);
    expect(bad({ embed: testEmbed, threshold: 0.8, guards: { dates: true } })).to.throw(/semantic\.guards\.dates/);
    expect(bad({ threshold: 0.8 })).to.throw(/cachedOpenAI\.semantic\.embed/);
    expect(bad({ embed: testEmbed, threshold: 0.8, k: 3 })).to.throw(/cachedOpenAI\.semantic\.k/);
  });
});
