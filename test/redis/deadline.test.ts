import { expect } from 'chai';
import { Deadlines } from '../../src/redis/deadline.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sleep } from '../helpers.js';

/** A full garbage collection now (the plain call: with options, V8's `gc` clears no weak reference). */
function collect(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Watches `n` operations and settles them, in a frame of its own: only weak references to them come out. */
function watchAndSettle(deadlines: Deadlines, n: number): Array<WeakRef<object>> {
  const refs: Array<WeakRef<object>> = [];
  for (let i = 0; i < n; i++) {
    const pending = deadlines.watch('mget', () => {});
    refs.push(new WeakRef(pending));
    deadlines.settle(pending);
  }
  return refs;
}

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

  it('times out the operations left, whichever of them settled first (head, middle, tail)', async () => {
    const deadlines = new Deadlines(20);
    const timedOut: string[] = [];
    const ops = ['a', 'b', 'c', 'd', 'e', 'f'].map((op) => deadlines.watch(op, () => timedOut.push(op)));
    for (const i of [0, 2, 5]) expect(deadlines.settle(ops[i]!)).to.equal(true);
    await sleep(60);
    expect(timedOut).to.deep.equal(['b', 'd', 'e']);
    const late = deadlines.watch('g', () => timedOut.push('g')); // the list works on after emptying
    await sleep(60);
    expect(timedOut).to.deep.equal(['b', 'd', 'e', 'g']);
    expect(deadlines.settle(late)).to.equal(false);
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

  it('lets go of a settled operation at once, not when its deadline comes (the hit path allocates one per read)', async () => {
    // Kept until the timer fired, each read's watch outlived young-generation collections: at 64 reads in flight
    // that promoted megabytes per collection and cost a third of the hit path's CPU.
    const deadlines = new Deadlines(60_000);
    const refs = watchAndSettle(deadlines, 10);
    const kept = deadlines.watch('mget', () => {}); // arms the timer; stays pending
    await new Promise((resolve) => setImmediate(resolve)); // weak references made in this macrotask hold till its end
    collect();
    expect(refs.filter((ref) => ref.deref() !== undefined)).to.have.length(0);
    expect(deadlines.settle(kept)).to.equal(true);
    deadlines.clear();
  });

  it('times out everything still pending when cleared (on close)', () => {
    const deadlines = new Deadlines(10_000);
    let calls = 0;
    deadlines.watch('mget', () => calls++);
    deadlines.clear();
    expect(calls).to.equal(1);
  });
});
