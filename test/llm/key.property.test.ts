/** llmKey: one key for equal requests in any key order, another for any change to an output-affecting field. */
import { expect } from 'chai';
import fc from 'fast-check';
import { llmKey, LLM_KEY_EXCLUDED, LLM_KEY_VERSION } from '../../src/llm/index.js';

/** Rebuilds plain objects with their keys in a shuffled order (deeply). */
function shuffled(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffled(v, seed + i));
  if (typeof value !== 'object' || value === null) return value;
  const keys = Object.keys(value);
  const order = keys
    .map((k, i) => ({ k, r: Math.sin(seed * 9301 + i * 49297) }))
    .sort((a, b) => a.r - b.r)
    .map((x) => x.k);
  const out: Record<string, unknown> = {};
  // defineProperty, not `out[k] =`: a generated own `__proto__` key would set the prototype instead
  for (const k of order) {
    const v = shuffled((value as Record<string, unknown>)[k], seed + 1);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const json = fc.jsonValue({ maxDepth: 3 });
const message = fc.record({
  role: fc.constantFrom('system', 'user', 'assistant', 'tool'),
  content: fc.oneof(
    fc.string(),
    fc.array(fc.record({ type: fc.constant('text'), text: fc.string() }), { maxLength: 2 }),
  ),
});
const chatBody = fc.record(
  {
    model: fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'o3'),
    messages: fc.array(message, { minLength: 1, maxLength: 3 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.integer(),
    max_tokens: fc.nat(),
    max_completion_tokens: fc.nat(),
    n: fc.integer({ min: 1, max: 4 }),
    stop: fc.array(fc.string(), { maxLength: 2 }),
    presence_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    frequency_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    logit_bias: fc.dictionary(fc.integer({ min: 0, max: 1000 }).map(String), fc.integer({ min: -100, max: 100 })),
    tools: fc.array(
      fc.record({ type: fc.constant('function'), function: fc.record({ name: fc.string(), parameters: json }) }),
      { maxLength: 2 },
    ),
    tool_choice: fc.constantFrom('auto', 'none', 'required'),
    response_format: fc.record({ type: fc.constantFrom('text', 'json_object') }),
    reasoning_effort: fc.constantFrom('low', 'medium', 'high'),
    some_provider_extra: json,
  },
  { requiredKeys: ['model', 'messages'] },
);

describe('llm: llmKey (property)', () => {
  it('gives one key to equal requests whatever their key order, ignoring delivery and bookkeeping fields', () => {
    fc.assert(
      fc.property(chatBody, fc.integer(), fc.boolean(), fc.string(), (body, seed, stream, user) => {
        const noisy = { ...body, stream, stream_options: { include_usage: stream }, user, metadata: { user } };
        expect(llmKey(shuffled(noisy, seed))).to.equal(llmKey(body));
      }),
    );
  });

  it('gives another key when any output-affecting field changes, including unknown ones', () => {
    fc.assert(
      fc.property(chatBody, fc.string({ minLength: 1 }), json, (body, field, value) => {
        fc.pre(!LLM_KEY_EXCLUDED.includes(field) && value !== null);
        const changed = { ...body, [field]: value };
        fc.pre(
          JSON.stringify(changed[field as keyof typeof changed]) !==
            JSON.stringify((body as Record<string, unknown>)[field]),
        );
        expect(llmKey(changed)).not.to.equal(llmKey(body));
      }),
    );
    fc.assert(
      fc.property(chatBody, fc.string(), (body, text) => {
        const extended = { ...body, messages: [...body.messages, { role: 'user', content: text }] };
        expect(llmKey(extended)).not.to.equal(llmKey(body));
      }),
    );
  });

  it('puts the schema version and the endpoint in every key, and merges model names only through aliases', () => {
    const body = { model: 'gpt-4o-2024-08-06', input: 'hello' };
    expect(llmKey(body)).to.match(new RegExp(`^llm${LLM_KEY_VERSION}:[A-Za-z0-9_-]{43}$`));
    expect(llmKey(body, { endpoint: 'responses' })).not.to.equal(llmKey(body, { endpoint: 'embeddings' }));
    expect(llmKey(body)).not.to.equal(llmKey({ ...body, model: 'gpt-4o' }));
    const aliases = { 'gpt-4o-2024-08-06': 'gpt-4o' };
    expect(llmKey(body, { aliases })).to.equal(llmKey({ ...body, model: 'gpt-4o' }, { aliases }));
    expect(llmKey({ ...body, temperature: undefined })).to.equal(llmKey(body));
  });

  it('keeps a field named __proto__ in the key, at the top and nested (found by the property above)', () => {
    const body = { model: 'gpt-4o', messages: [] };
    expect(llmKey(JSON.parse('{"model":"gpt-4o","messages":[],"__proto__":""}'))).not.to.equal(llmKey(body));
    const nested = (v: string) => JSON.parse(`{"model":"gpt-4o","messages":[],"extra":{"__proto__":"${v}"}}`);
    expect(llmKey(nested('a'))).not.to.equal(llmKey(nested('b')));
  });
});
