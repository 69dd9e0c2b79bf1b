/** src/http/flights: who computes a route's response when the cache asks for it. */
import { expect } from 'chai';
import { Flights } from '../../src/http/flights.js';
import { NOT_SHARED } from '../../src/http/response.js';
import { sleep } from '../helpers.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('src/http: flights', () => {
  it('hands a computation to a waiting request one macrotask later, and shares its result', async () => {
    const flights = new Flights(1000);
    const a = flights.enter('k');
    const b = flights.enter('k');
    const asked = flights.ask('k');
    const again = flights.ask('k');
    expect(a.asked).to.equal(undefined);
    await tick();
    expect(a.asked).to.not.equal(undefined);
    expect(b.asked).to.equal(undefined);
    flights.complete(a.asked!, 'response');
    expect(await asked).to.equal('response');
    expect(await again).to.equal('response');
  });

  it('does not hand a computation to a request that left (it was served)', async () => {
    const flights = new Flights(1000);
    const served = flights.enter('k');
    const asked = flights.ask('k');
    flights.leave(served);
    await tick();
    expect(served.asked).to.equal(undefined);
    const next = flights.enter('k');
    expect(next.asked, 'the next request for the key takes it').to.not.equal(undefined);
    flights.complete(next.asked!, 'fresh');
    expect(await asked).to.equal('fresh');
  });

  it('gives up a computation no request takes, after pendingMs, with NOT_SHARED', async () => {
    const flights = new Flights(30);
    const asked = flights.ask('lonely');
    expect(await asked).to.equal(NOT_SHARED);
    expect(flights.enter('lonely').asked).to.equal(undefined);
  });

  it('gives a computation asked for after another started its own request', async () => {
    const flights = new Flights(1000);
    const first = flights.enter('k');
    const one = flights.ask('k');
    await tick();
    const second = flights.enter('k');
    const two = flights.ask('k');
    await tick();
    expect(second.asked).to.not.equal(first.asked);
    flights.complete(first.asked!, 'old');
    flights.complete(second.asked!, 'new');
    expect([await one, await two]).to.deep.equal(['old', 'new']);
  });

  it('remembers the lookup that asked first, so the computing request can tell MISS from BYPASS', async () => {
    const flights = new Flights(1000);
    const w = flights.enter('k');
    const first = { outcome: Promise.resolve({ result: 'bypass' }) };
    void flights.ask('k', first);
    void flights.ask('k', { outcome: undefined });
    await tick();
    expect(w.asked?.asker).to.equal(first);
    flights.complete(w.asked!, 'response');
  });

  it('ignores a second completion, keeps keys apart, and resolves waiting computations on close', async () => {
    const flights = new Flights(60_000);
    const w = flights.enter('a');
    const a = flights.ask('a');
    await tick();
    flights.complete(w.asked!, 1);
    flights.complete(w.asked!, 2);
    expect(await a).to.equal(1);
    const b = flights.ask('b');
    expect(flights.enter('c').asked).to.equal(undefined);
    flights.close();
    expect(await b).to.equal(NOT_SHARED);
    expect(await flights.ask('d')).to.equal(NOT_SHARED);
    await sleep(1);
  });
});
