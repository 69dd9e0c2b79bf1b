/** llmProxy: the openai client and raw HTTP through the Fastify caching proxy to the fake OpenAI server. */
import { expect } from 'chai';
import Fastify, { type FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { llmProxy } from '../../plugins/fastify.js';
import { ConfigError, type Cache } from '../../src/index.js';
import { adminClient } from '../setup/root-hooks.js';
import { eventually, newCache, sleep } from '../helpers.js';
import { SemanticStore } from '../../src/llm/semantic/store.js';
import { startFakeOpenAI, type FakeOpenAI } from './fixtures/fake-openai.js';
import { testEmbed } from './fixtures/embedder.js';

const chat = (content: string, extra: object = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content }],
  temperature: 0,
  ...extra,
});

describe('llm: llmProxy (Fastify)', () => {
  let fake: FakeOpenAI;
  let cache: Cache;
  let app: FastifyInstance;
  let base: string;

  async function start(options: object = {}) {
    app = Fastify();
    await app.register(llmProxy, { cache, upstream: fake.url, ...options });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/v1`;
  }
  const post = (path: string, body: object, headers: Record<string, string> = {}) =>
    fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-tenant-a-secret', ...headers },
      body: JSON.stringify(body),
    });

  beforeEach(async () => {
    fake = await startFakeOpenAI();
    cache = newCache();
    await cache.connect();
  });
  afterEach(async () => {
    await app?.close();
    await fake.close();
  });

  it('answers a repeated chat request from the cache with X-Cache and Age, forwarding the key upstream only', async () => {
    await start();
    const first = await post('/chat/completions', chat('hello'));
    expect(first.headers.get('x-cache')).to.equal('MISS');
    const second = await post('/chat/completions', chat('hello'));
    expect(second.headers.get('x-cache')).to.equal('HIT');
    expect(second.headers.get('age')).to.match(/^\d+$/);
    expect(await second.json()).to.deep.equal(await first.json());
    expect(fake.calls['chat/completions']).to.equal(1);
    expect(fake.received[0]!.headers.authorization).to.equal('Bearer sk-tenant-a-secret');
    await sleep(20);
    const stored = await Promise.all((await adminClient().keys('*')).map((k) => adminClient().dump(k)));
    expect(JSON.stringify(await adminClient().keys('*')) + stored.map(String).join('')).not.to.contain('sk-tenant');
  });

  it('keeps tenants (API keys) apart unless scope is global', async () => {
    await start();
    await post('/chat/completions', chat('hi'));
    const other = await post('/chat/completions', chat('hi'), { authorization: 'Bearer sk-tenant-b' });
    expect(other.headers.get('x-cache')).to.equal('MISS');
    expect(fake.calls['chat/completions']).to.equal(2);
    await app.close();
    await start({ scope: 'global', kind: 'shared' });
    await post('/chat/completions', chat('hi'));
    const shared = await post('/chat/completions', chat('hi'), { authorization: 'Bearer sk-tenant-b' });
    expect(shared.headers.get('x-cache')).to.equal('HIT');
  });

  it('honours Cache-Control no-store, no-cache and max-age, and passes upstream errors through uncached', async () => {
    await start();
    await post('/chat/completions', chat('cc'));
    expect(
      (await post('/chat/completions', chat('cc'), { 'cache-control': 'no-store' })).headers.get('x-cache'),
    ).to.equal('BYPASS');
    expect(
      (await post('/chat/completions', chat('cc'), { 'cache-control': 'no-cache' })).headers.get('x-cache'),
    ).to.equal('MISS');
    expect(
      (await post('/chat/completions', chat('cc'), { 'cache-control': 'max-age=60' })).headers.get('x-cache'),
    ).to.equal('HIT');
    expect(fake.calls['chat/completions']).to.equal(3);
    expect(fake.received.some((r) => r.headers['cache-control'] !== undefined)).to.equal(false);
    fake.fail('429');
    const limited = await post('/chat/completions', chat('err'));
    expect(limited.status).to.equal(429);
    expect(((await limited.json()) as { error: { message: string } }).error.message).to.match(/Rate limit/);
    expect((await post('/chat/completions', chat('err'))).status).to.equal(200);
  });

  it('streams through the proxy with the openai client, a hit replaying the same chunks', async () => {
    await start();
    const client = new OpenAI({ apiKey: 'sk-tenant-a-secret', baseURL: base, maxRetries: 0 });
    const body = {
      ...chat('stream it'),
      stream: true as const,
      messages: [{ role: 'user' as const, content: 'stream it' }],
    };
    const collect = async () => {
      const out = [];
      for await (const chunk of await client.chat.completions.create(body)) out.push(chunk);
      return out;
    };
    const live = await collect();
    const hit = await collect();
    expect(hit).to.deep.equal(live);
    expect(live.map((c) => c.choices[0]?.delta?.content ?? '').join('')).to.match(/stream it/);
    expect(fake.calls['chat/completions']).to.equal(1);
    const responses = async () => {
      const out = [];
      for await (const e of await client.responses.create({ model: 'gpt-4o-mini', input: 'r', stream: true }))
        out.push(e);
      return out;
    };
    expect(await responses()).to.deep.equal(await responses());
    expect(fake.calls.responses).to.equal(1);
    const emb = await client.embeddings.create({ model: 'e', input: ['a', 'b'] });
    const emb2 = await client.embeddings.create({ model: 'e', input: ['b', 'a'] });
    expect(emb2.data[0]!.embedding).to.deep.equal(emb.data[1]!.embedding);
    expect(fake.calls.embeddings).to.equal(1);
  });

  it('cuts the caller stream when upstream cuts it, and does not store it', async () => {
    await start();
    fake.fail('cut');
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: base, maxRetries: 0 });
    const body = { ...chat('cut'), stream: true as const, messages: [{ role: 'user' as const, content: 'cut' }] };
    let failed = false;
    try {
      for await (const _ of await client.chat.completions.create(body)) void _;
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
    const again = await post('/chat/completions', { ...body, stream: true });
    expect(again.headers.get('x-cache')).to.equal('MISS');
    await again.text();
  });

  it('refuses a bad upstream at registration', async () => {
    app = Fastify();
    let error: unknown;
    try {
      await app.register(llmProxy, { cache, upstream: 'ftp://x' });
      await app.ready();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
  });

  it('answers a paraphrase with X-Cache: HIT-SEMANTIC and its similarity, streamed or not, within one tenant', async () => {
    await start({ semantic: { embed: testEmbed, threshold: 0.8 } });
    const first = await post('/chat/completions', chat('How do I fix a flat tire?'));
    expect(first.headers.get('x-cache')).to.equal('MISS');
    const second = await post('/chat/completions', chat('How can I repair a flat tyre?'));
    expect(second.headers.get('x-cache')).to.equal('HIT-SEMANTIC');
    expect(Number(second.headers.get('x-cache-similarity'))).to.be.closeTo(1, 1e-3);
    expect(await second.json()).to.deep.equal(await first.json());
    const exact = await post('/chat/completions', chat('How do I fix a flat tire?'));
    expect(exact.headers.get('x-cache')).to.equal('HIT');
    const other = await post('/chat/completions', chat('How can I repair a flat tyre?'), {
      authorization: 'Bearer sk-tenant-b',
    });
    expect(other.headers.get('x-cache')).to.equal('MISS');
    await (await post('/chat/completions', chat('Why is the sky blue?', { stream: true }))).text();
    await eventually(() => SemanticStore.of(cache).index.size === 3); // stored once the stream ended
    const streamed = await post('/chat/completions', chat('What makes the sky blue?', { stream: true }));
    await streamed.text();
    expect(streamed.headers.get('x-cache')).to.equal('HIT-SEMANTIC');
    expect(fake.calls['chat/completions']).to.equal(3);
  });
});
