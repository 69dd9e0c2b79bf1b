/**
 * Which test files are unit tests: they need no Redis (no server, no FLUSHALL) and run in seconds with
 * `npm run test:unit`. Every other `test/**\/*.test.ts` file is an integration test (`npm run test:integration`).
 * A file listed here that reaches for the test Redis fails with an error saying so (see root-hooks.ts).
 */
const unitFiles = [
  'test/codec.test.ts',
  'test/codec.property.test.ts',
  'test/duration.test.ts',
  'test/duration.property.test.ts',
  'test/keys.test.ts',
  'test/keys.property.test.ts',
  'test/keys.grammar.test.ts',
  'test/ttl.test.ts',
  'test/entries.test.ts',
  'test/ttl.errors.test.ts',
  'test/suggest.test.ts',
  'test/http/request-response.test.ts',
  'test/redis/breaker.test.ts',
  'test/redis/breaker-probe.test.ts',
  'test/redis/deadline.test.ts',
  'test/llm/semantic-guards.test.ts',
  'test/errors.test.ts',
  'test/timeout.test.ts',
  'test/warn-once.test.ts',
  'test/defaults.test.ts',
  'test/llm/semantic/vector-index.test.ts',
  'test/telemetry/batched.test.ts',
  'test/frozen.test.ts',
  'test/fleet/hotkeys.test.ts',
];

module.exports = { unitFiles };
