/** After a good half-open probe the breaker is fully closed again, driven on a fake clock. */
import { expect } from 'chai';
import { CircuitBreaker, type BreakerState } from '../../src/redis/breaker.js';

describe('circuit breaker after a good half-open probe', () => {
  const realNow = Date.now;
  let clock = 0;
  beforeEach(() => {
    clock = 1_000_000;
    Date.now = () => clock;
  });
  afterEach(() => {
    Date.now = realNow;
  });

  it('closes: every operation goes to Redis, the failure count and the cool-down start over', () => {
    const changes: BreakerState[] = [];
    const b = new CircuitBreaker(3, 100, 10_000, (s) => changes.push(s));
    for (let i = 0; i < 3; i++) b.failure();
    for (let probe = 0; probe < 3; probe++) {
      while (!b.allow()) clock += 10; // cool-downs of 100, 200, 400 ms
      b.failure();
    }
    while (!b.allow()) clock += 10;
    expect(b.state).to.equal('half-open');
    b.success();
    expect(b.state).to.equal('closed');
    for (let i = 0; i < 10; i++) expect(b.allow(), 'closed: no probe limit').to.equal(true);
    b.failure();
    b.failure();
    expect(b.state, 'two failures after the probe are below the threshold of 3').to.equal('closed');
    b.failure();
    expect(b.state).to.equal('open');
    clock += 99;
    expect(b.allow(), 'the cool-down is back to its base (100 ms)').to.equal(false);
    clock += 1;
    expect(b.allow()).to.equal(true);
    expect(changes.slice(-4)).to.deep.equal(['half-open', 'closed', 'open', 'half-open']);
  });
});
