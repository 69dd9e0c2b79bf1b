import { expect } from 'chai';
import { Deadlines } from '../../src/redis/deadline.js';
import { sleep } from '../helpers.js';

describe('Deadlines', () => {
  it('calls a watched operation’s timeout once, after the timeout, unless it settled first', async () => {
    const deadlines = new Deadlines(20);
    const timedOut: Error[] = [];
    const slow = deadlines.watch('mget', (error) => timedOut.push(error));
    const fast = deadlines.watch('mget', () => expect.fail('settled in time'));
    expect(deadlines.settle(fast)).to.equal(true);
    expect(deadlines.settle(fast)).to.equal(false);
    await sleep(60);
    expect(timedOut).to.have.length(1);
    expect((timedOut[0] as Error & { code?: string }).code).to.equal('E_CACHE_TIMEOUT');
    expect(deadlines.settle(slow)).to.equal(false);
  });

  it('races a promise: its value when in time, a TimeoutError when not', async () => {
    const deadlines = new Deadlines(20);
    expect(await deadlines.race(Promise.resolve(7), 'get')).to.equal(7);
    const never = new Promise<number>(() => {});
    const error = await deadlines.race(never, 'get').then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).to.equal('E_CACHE_TIMEOUT');
  });

  it('times out everything still pending when cleared (on close)', () => {
    const deadlines = new Deadlines(10_000);
    let calls = 0;
    deadlines.watch('mget', () => calls++);
    deadlines.clear();
    expect(calls).to.equal(1);
  });
});
