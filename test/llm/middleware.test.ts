/** llmCacheMiddleware: the AI SDK (`ai` 6 with @ai-sdk/openai-compatible 2) against the fake OpenAI server. */
import { expect } from 'chai';
import { embedMany, generateText, streamText, wrapEmbeddingModel, wrapLanguageModel, type LanguageModel } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { llmCacheMiddleware, llmEmbeddingMiddleware, llmStats } from '../../src/llm/index.js';
import { ConfigError, type Cache } from '../../src/index.js';
import { newCache } from '../helpers.js';
import { startFakeOpenAI, type FakeOpenAI } from './fixtures/fake-openai.js';
import { testEmbed } from './fixtures/embedder.js';

describe('llm: llmCacheMiddleware with the AI SDK', () => {
  let fake: FakeOpenAI;
  let cache: Cache;
  let model: LanguageModel;

  beforeEach(async () => {
    fake = await startFakeOpenAI();
    cache = newCache();
    await cache.connect();
    const provider = createOpenAICompatible({ name: 'fake', baseURL: fake.url, apiKey: 'sk-test', includeUsage: true });
    model = wrapLanguageModel({
      model: provider.chatModel('gpt-4o-mini'),
      middleware: llmCacheMiddleware({ cache, scope: 'global', prices: { 'gpt-4o-mini': { input: 1, output: 2 } } }),
    });
  });
  afterEach(() => fake.close());

  it('caches generateText, and says so in providerMetadata', async () => {
    const first = await generateText({ model, prompt: 'What is a monad?', temperature: 0, maxRetries: 0 });
    const second = await generateText({ model, prompt: 'What is a monad?', temperature: 0, maxRetries: 0 });
    expect(second.text)
      .to.equal(first.text)
      .and.match(/^Answer .* to: What is a monad\?\.$/);
    expect(first.providerMetadata?.infercache).to.include({ hit: false });
    expect(second.providerMetadata?.infercache).to.include({ hit: true });
    expect(second.usage.inputTokens).to.equal(first.usage.inputTokens);
    expect(fake.calls['chat/completions']).to.equal(1);
    await generateText({ model, prompt: 'What is a monad?', temperature: 0.3, maxRetries: 0 });
    expect(fake.calls['chat/completions']).to.equal(2);
    expect(llmStats(cache).kinds.llm!.tokensSaved.output).to.equal(first.usage.outputTokens);
  });

  it('replays streamText parts on a hit: text, reasoning, finish and usage', async () => {
    const run = async () => {
      const result = streamText({ model, prompt: 'Stream please', temperature: 0, maxRetries: 0 });
      const parts: Array<{ type: string }> = [];
      for await (const part of result.fullStream) parts.push(part);
      return {
        text: await result.text,
        reasoning: await result.reasoningText,
        usage: await result.usage,
        parts,
        meta: await result.providerMetadata,
      };
    };
    const live = await run();
    const hit = await run();
    expect(fake.calls['chat/completions']).to.equal(1);
    expect(hit.text)
      .to.equal(live.text)
      .and.match(/Stream please/);
    expect(hit.reasoning).to.equal('Thinking about it.');
    expect(hit.usage.outputTokens).to.equal(live.usage.outputTokens).and.be.greaterThan(0);
    expect(hit.parts.map((p) => p.type)).to.deep.equal(live.parts.map((p) => p.type));
    expect(hit.meta?.infercache).to.include({ hit: true });
  });

  it('does not store a failed or cut stream, nor an upstream error', async () => {
    fake.fail('cut');
    const broken = streamText({ model, prompt: 'cut', temperature: 0, maxRetries: 0, onError: () => {} });
    const types: string[] = [];
    try {
      for await (const part of broken.fullStream) types.push(part.type);
    } catch {
      types.push('thrown');
    }
    expect(types.some((t) => t === 'error' || t === 'thrown')).to.equal(true);
    fake.fail('500');
    let failed = false;
    await generateText({ model, prompt: 'cut', temperature: 0, maxRetries: 0 }).catch(() => (failed = true));
    expect(failed).to.equal(true);
    const ok = streamText({ model, prompt: 'cut', temperature: 0, maxRetries: 0 });
    expect(await ok.text).to.match(/cut/);
    expect(fake.calls['chat/completions']).to.equal(3);
    expect(() => llmCacheMiddleware({ cache } as never)).to.throw(ConfigError, /scope/);
  });

  it('caches embedMany per value, asking the model only for the values not cached', async () => {
    const provider = createOpenAICompatible({ name: 'fake', baseURL: fake.url, apiKey: 'sk-test' });
    const embedder = wrapEmbeddingModel({
      model: provider.embeddingModel('text-embedding-3-small'),
      middleware: llmEmbeddingMiddleware({ cache, scope: 'global', kind: 'embedding' }),
    });
    const first = await embedMany({ model: embedder, values: ['red', 'green'], maxRetries: 0 });
    const second = await embedMany({ model: embedder, values: ['green', 'blue', 'red'], maxRetries: 0 });
    expect(fake.calls.embeddings).to.equal(2);
    expect(fake.received.at(-1)!.body.input).to.deep.equal(['blue']);
    expect(second.embeddings[0]).to.deep.equal(first.embeddings[1]);
    expect(second.embeddings[2]).to.deep.equal(first.embeddings[0]);
    expect(second.usage.tokens).to.equal(1);
    expect(llmStats(cache).kinds.embedding).to.include({ hits: 2, misses: 3 });
  });

  it('serves a paraphrased prompt through the semantic tier, and says so in providerMetadata', async () => {
    const provider = createOpenAICompatible({ name: 'fake', baseURL: fake.url, apiKey: 'sk-test', includeUsage: true });
    const similar = wrapLanguageModel({
      model: provider.chatModel('gpt-4o-mini'),
      middleware: llmCacheMiddleware({ cache, scope: 'global', semantic: { embed: testEmbed, threshold: 0.8 } }),
    });
    const first = await generateText({ model: similar, prompt: 'How do I delete my account?', temperature: 0 });
    const second = await generateText({ model: similar, prompt: 'How can I remove my account?', temperature: 0 });
    expect(second.text).to.equal(first.text);
    expect(second.providerMetadata?.infercache).to.deep.include({ hit: true, semantic: { similarity: 1 } });
    const other = await generateText({ model: similar, system: 'Be terse.', prompt: 'How can I remove my account?' });
    expect(other.providerMetadata?.infercache).to.include({ hit: false });
    expect(fake.calls['chat/completions']).to.equal(2);
  });
});
