import { expect } from 'chai';
import type { Attributes, Histogram } from '@opentelemetry/api';
import { BATCH, BatchedHistogram } from '../../src/telemetry/batched.js';

/** A histogram that keeps what it is given: the SDK's side of the batches (no SDK, no Redis). */
function keeping() {
  const recorded: Array<[number, Attributes | undefined]> = [];
  const histogram = { record: (value: number, attributes?: Attributes) => recorded.push([value, attributes]) };
  return { recorded, histogram: histogram as Histogram };
}

describe('telemetry: batched histogram', () => {
  it('hands a full batch to the SDK at once, in order, with each measurement’s attributes', () => {
    const { recorded, histogram } = keeping();
    const batched = new BatchedHistogram(histogram);
    const hit = { result: 'hit' };
    const miss = { result: 'miss' };
    for (let i = 0; i < BATCH - 1; i++) batched.record(i, i % 2 ? hit : miss);
    expect(recorded).to.have.length(0);
    batched.record(BATCH - 1, hit);
    expect(recorded).to.have.length(BATCH);
    expect(recorded.map(([v]) => v)).to.deep.equal(Array.from({ length: BATCH }, (_, i) => i));
    expect(recorded[0]![1]).to.equal(miss);
    expect(recorded[1]![1]).to.equal(hit);
  });

  it('hands over a partial batch on flush, once', () => {
    const { recorded, histogram } = keeping();
    const batched = new BatchedHistogram(histogram);
    batched.record(0.25, { a: 1 });
    batched.record(0.5, { a: 2 });
    batched.flush();
    batched.flush();
    expect(recorded).to.deep.equal([
      [0.25, { a: 1 }],
      [0.5, { a: 2 }],
    ]);
  });

  it('keeps recording when the SDK throws, and loses only the measurement it refused', () => {
    const recorded: number[] = [];
    const histogram = {
      record: (value: number) => {
        if (value === 2) throw new Error('refused');
        recorded.push(value);
      },
    } as Histogram;
    const batched = new BatchedHistogram(histogram);
    for (const v of [1, 2, 3]) batched.record(v, {});
    expect(() => batched.flush()).not.to.throw();
    batched.record(4, {});
    batched.flush();
    expect(recorded).to.deep.equal([1, 3, 4]);
  });
});
