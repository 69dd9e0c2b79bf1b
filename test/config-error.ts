/** `configError`, for unit tests too: this module starts no Redis (test/helpers.ts re-exports it). */
import { expect } from 'chai';
import { ConfigError } from '../src/errors.js';

/** The ConfigError `attempt` throws (fails the test when it throws something else or nothing). */
export function configError(attempt: () => unknown): ConfigError {
  try {
    attempt();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  expect.fail('expected a ConfigError');
}
