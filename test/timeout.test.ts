import { expect } from 'chai';
import { TIMED_OUT, waitAtMost } from '../src/timeout.js';

/** Timers alive in the process now (after a tick: Mocha arms its own test timeout once the test function returned). */
async function timers(): Promise<number> {
  await new Promise((resolve) => setImmediate(resolve));
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

describe('waitAtMost', () => {
  it('resolves to the value when the promise settles first, and leaves no timer behind', async () => {
    const before = await timers();
    expect(await waitAtMost(Promise.resolve(7), 60_000)).to.equal(7);
    expect(await timers()).to.equal(before);
  });

  it('passes a rejection through, and leaves no timer behind', async () => {
    const before = await timers();
    const failure = new Error('refused');
    const caught = await waitAtMost(Promise.reject(failure), 60_000).catch((error: unknown) => error);
    expect(caught).to.equal(failure);
    expect(await timers()).to.equal(before);
  });

  it('resolves to TIMED_OUT when the time runs out first, without settling or waiting for the promise', async () => {
    let settle!: (value: number) => void;
    const pending = new Promise<number>((resolve) => (settle = resolve));
    expect(await waitAtMost(pending, 1)).to.equal(TIMED_OUT);
    settle(1);
    expect(await pending).to.equal(1);
  });
});
