/** The circuit breaker in front of Redis, driven on a fake clock (its only input besides the calls' outcomes). */
import { expect } from 'chai';
import { CircuitBreaker, type BreakerState } from '../../src/redis/breaker.js';
import { resolveSettings } from '../../src/config.js';

describe('circuit breaker', () => {
  const realNow = Date.now;
  let clock = 0;
  beforeEach(() => {
    clock = 1_000_000;
    Date.now = () => clock;
  });
  afterEach(() => {
    Date.now = realNow;
  });

  function breaker(changes: BreakerState[] = []) {
    const { threshold, cooldown, maxCooldown } = resolveSettings({}).breaker;
    return new CircuitBreaker(threshold, cooldown, maxCooldown, (s) => changes.push(s));
  }

  it('opens after the threshold of consecutive failures and lets one probe through after the cool-down', () => {
    const changes: BreakerState[] = [];
    const b = breaker(changes);
    for (let i = 0; i < 4; i++) b.failure();
    expect(b.allow()).to.equal(true);
    b.failure();
    expect(b.state).to.equal('open');
    expect(b.allow()).to.equal(false);
    clock += 500;
    expect(b.allow()).to.equal(true);
    expect(b.state).to.equal('half-open');
    expect(b.allow()).to.equal(false); // only one probe at a time
    b.success();
    expect(b.state).to.equal('closed');
    expect(changes).to.deep.equal(['open', 'half-open', 'closed']);
  });

  it('counts consecutive failures only: a success starts the count over, before and after a probe closed it', () => {
    const b = breaker();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) b.failure(); // one short of the threshold of 5
      expect(b.state, `never 5 failures in a row (round ${round})`).to.equal('closed');
      b.success();
    }
    for (let i = 0; i < 5; i++) b.failure();
    expect(b.state).to.equal('open');
    clock += 500;
    expect(b.allow()).to.equal(true); // the probe
    b.success();
    expect(b.state).to.equal('closed');
    for (let i = 0; i < 4; i++) b.failure();
    expect(b.state, 'the failures before the probe do not count').to.equal('closed');
  });

  it('doubles the cool-down while probes fail, up to 5 s by default, so hits resume within 5 s of recovery', () => {
    const b = breaker();
    for (let i = 0; i < 5; i++) b.failure();
    const waits: number[] = [];
    for (let probe = 0; probe < 12; probe++) {
      const openedAt = clock;
      while (!b.allow()) clock += 100;
      waits.push(clock - openedAt);
      b.failure();
    }
    expect(waits.slice(0, 5)).to.deep.equal([500, 1000, 2000, 4000, 5000]);
    expect(Math.max(...waits)).to.equal(5000);
    b.success();
    for (let i = 0; i < 5; i++) b.failure();
    clock += 500;
    expect(b.allow(), 'a success resets the cool-down').to.equal(true);
  });
});
