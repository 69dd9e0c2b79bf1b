/** The semantic tier's pure parts: the built-in guards, the compared text and its filter, and tuneThreshold. */
import { expect } from 'chai';
import { entitiesOf, negationsOf, numbersOf, tuneThreshold } from '../../src/llm/index.js';
import { entitiesDiffer, guardRefusing } from '../../src/llm/semantic/guards.js';
import { lastUserText, withoutCompared } from '../../src/llm/semantic/compare.js';
import { ConfigError } from '../../src/index.js';
import { testEmbed } from './fixtures/embedder.js';
import { LABELLED_PAIRS } from './fixtures/pairs.js';

const ALL = { numbers: true, negations: true, entities: true };

describe('llm: semantic guards and tuneThreshold', () => {
  it('reads numbers in digits and in words, the pronoun "one" aside', () => {
    expect(numbersOf('Give me 5 ideas, or 1,000, or 2.5%')).to.deep.equal([2.5, 5, 1000]);
    expect(numbersOf('three tips and twenty five more, two hundred in all')).to.deep.equal([3, 25, 200]);
    expect(numbersOf('Which one is better, one of these?')).to.deep.equal([]);
    expect(numbersOf('top ten')).to.deep.equal(numbersOf('top 10'));
    expect(guardRefusing('top ten films', 'top 10 films', ALL)).to.equal(undefined);
    expect(guardRefusing('What is 2 plus 2?', 'What is 2 plus 3?', ALL)).to.equal('numbers');
  });

  it('counts negations, contractions included', () => {
    expect(negationsOf("Why doesn't it work? It never did, not once, without fail")).to.equal(4);
    expect(negationsOf('Why doesnt it work')).to.equal(1);
    expect(guardRefusing('Recipes with meat', 'Recipes without meat', ALL)).to.equal('negations');
    expect(guardRefusing("Why isn't it working?", 'Why is it not working?', ALL)).to.equal(undefined);
  });

  it('finds entities and quoted strings, and lets the other text name them in lower case', () => {
    const found = entitiesOf('How do I install Docker on Ubuntu with "apt-get"? Then use iPhone.');
    expect([...found.names]).to.have.members(['docker', 'ubuntu', 'iphone']);
    expect([...found.quoted]).to.deep.equal(['apt-get']);
    expect(entitiesDiffer('What is the capital of France?', 'capital of france please')).to.equal(false);
    expect(entitiesDiffer('Docker: how to install it?', 'How do I install Docker?')).to.equal(false);
    expect(guardRefusing('capital of France', 'capital of Germany', ALL)).to.equal('entities');
    expect(guardRefusing('Translate "good morning"', 'Translate "good night"', ALL)).to.equal('entities');
    expect(guardRefusing('capital of France', 'capital of Germany', { ...ALL, entities: false })).to.equal(undefined);
  });

  it('compares the last user message and leaves only it out of the filter', () => {
    const body = {
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: 'hi' },
        { role: 'user', content: [{ type: 'text', text: 'hello' }] },
      ],
    };
    expect(lastUserText(body)).to.equal('hello');
    const rest = withoutCompared(body, 'hello') as typeof body;
    expect(rest.messages[1]!.content).to.equal('hello'); // an earlier turn stays in the filter
    expect(rest.messages[3]!.content).to.not.deep.equal(body.messages[3]!.content);
    expect(lastUserText({ input: 'a responses prompt' })).to.equal('a responses prompt');
    expect(lastUserText({ prompt: [{ role: 'user', content: [{ type: 'text', text: 'ai sdk' }] }] })).to.equal(
      'ai sdk',
    );
    expect(lastUserText({ input: [1, 2, 3] })).to.equal(undefined);
  });

  it('tunes the threshold on labelled pairs: the false-hit rate at the threshold stays within the bound', async () => {
    const bound = 0.01;
    const tuned = await tuneThreshold(LABELLED_PAIRS, { embed: testEmbed, maxFalseHitRate: bound });
    expect(LABELLED_PAIRS.length).to.be.at.least(40);
    // recomputed independently of the curve: pairs at or above the threshold that no guard refuses
    const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    const sim = (a: string, b: string) => {
      const x = testEmbed(a);
      const y = testEmbed(b);
      return x.reduce((s, v, i) => s + v * y[i]!, 0) / (norm(x) * norm(y));
    };
    const served = (p: (typeof LABELLED_PAIRS)[number]) =>
      sim(p.a, p.b) >= tuned.threshold - 1e-6 && guardRefusing(p.a, p.b, ALL) === undefined;
    const differentPairs = LABELLED_PAIRS.filter((p) => !p.same);
    const samePairs = LABELLED_PAIRS.filter((p) => p.same);
    const falseHitRate = differentPairs.filter(served).length / differentPairs.length;
    const hitRate = samePairs.filter(served).length / samePairs.length;
    expect(falseHitRate).to.be.at.most(bound).and.equal(tuned.falseHitRate);
    expect(hitRate).to.be.closeTo(tuned.hitRate, 1e-9);
    expect(tuned.hitRate).to.be.above(0.9);
    // the curve goes from high thresholds to low ones, and the chosen one is the lowest within the bound
    const thresholds = tuned.curve.map((p) => p.threshold);
    expect(thresholds).to.deep.equal([...thresholds].sort((a, b) => b - a));
    const lower = tuned.curve.filter((p) => p.threshold < tuned.threshold);
    expect(lower.every((p) => p.falseHitRate > bound)).to.equal(true);
    // without the guards, the same pairs need a far higher threshold for the same bound
    const raw = await tuneThreshold(LABELLED_PAIRS, { embed: testEmbed, maxFalseHitRate: bound, guards: false });
    expect(raw.hitRate).to.be.below(tuned.hitRate);
    expect(raw.falseHitRate).to.be.above(bound); // negations embed alike: no threshold separates them
    console.log(
      `      tuned threshold ${tuned.threshold.toFixed(4)}: hit rate ${(tuned.hitRate * 100).toFixed(1)} %, ` +
        `false-hit rate ${(tuned.falseHitRate * 100).toFixed(1)} % (without guards: threshold ` +
        `${raw.threshold.toFixed(4)}, hit rate ${(raw.hitRate * 100).toFixed(1)} %)`,
    );
  });

  it('refuses bad tuneThreshold input with an error naming it', async () => {
    const fails = async (attempt: Promise<unknown>, name: RegExp) => {
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as Error).message).to.match(name);
    };
    await fails(tuneThreshold(LABELLED_PAIRS, {} as never), /tuneThreshold\.embed/);
    await fails(tuneThreshold(LABELLED_PAIRS, { embed: testEmbed, maxFalseHitRate: 2 }), /maxFalseHitRate/);
    await fails(tuneThreshold([{ a: 'x', b: 'y', same: true }], { embed: testEmbed }), /both labels/);
    await fails(tuneThreshold([{ a: 'x' } as never], { embed: testEmbed }), /pairs\[0\]/);
  });
});
