/** Tag invalidations over the bus: which memory entries another instance's `invalidateTags` drops. */
import { expect } from 'chai';
import { eventually, newCache } from './helpers.js';
import { internalsOf } from '../src/cache.js';

describe('tag messages on the bus', () => {
  it('drops an entry carrying the tag among others, in every kind, and keeps entries sharing only other tags', async () => {
    const a = newCache();
    const b = newCache();
    await Promise.all([a.connect(), b.connect()]);
    const entries: Array<[kind: string, tags: string[]]> = [
      ['model', ['org:1', 'user:1']], // the tag is not the first one
      ['prompt', ['user:1']],
      ['model-b', ['org:1', 'user:2']], // shares org:1 with the first entry, not user:1
      ['prompt-b', ['user:10']], // a tag that starts like user:1
    ];
    for (const [kind, tags] of entries) await a.wrap(kind, 'k', async () => 'v1', { memory: true, tags });
    const before = internalsOf(a).bus!.counters.received;
    await b.invalidateTags('user:1');
    await eventually(() => internalsOf(a).bus!.counters.received > before);
    const served: Record<string, unknown> = {};
    for (const [kind, tags] of entries) {
      const outcome = await a.wrapDetailed(kind, 'k', async () => 'v2', { memory: true, tags });
      served[kind] = `${String(outcome.value)} from ${outcome.tier ?? 'the function'}`;
    }
    expect(served).to.deep.equal({
      model: 'v2 from the function',
      prompt: 'v2 from the function',
      'model-b': 'v1 from memory',
      'prompt-b': 'v1 from memory',
    });
  });
});
