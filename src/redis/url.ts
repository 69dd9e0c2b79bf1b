/**
 * Validates a Redis URL at start-up, so a URL node-redis would refuse later (with a bare `TypeError`) or quietly
 * misread is rejected by a ConfigError naming the setting. Messages never include the user or the password.
 */
import { ConfigError } from '../errors.js';

/** What a valid Redis URL gives besides host and port. */
export interface RedisUrlParts {
  /** Decoded password, or undefined when the URL has none. */
  password: string | undefined;
  /** Database number from the path, or undefined when the URL has none. */
  db: number | undefined;
}

const SHAPE = 'expected redis://[user:password@]host[:port][/db] or rediss://…';

/** Checks `url` (scheme redis/rediss, a host, a port from 1 to 65535, an integer db path); throws naming `setting`. */
export function parseRedisUrl(url: unknown, setting: string): RedisUrlParts {
  if (typeof url !== 'string' || url.trim() === '') throw new ConfigError(setting, SHAPE);
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new ConfigError(setting, `is not a valid URL (${SHAPE})`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(setting, `expected redis:// or rediss://, got ${parsed.protocol}//`);
  }
  if (!parsed.hostname) throw new ConfigError(setting, `has no host (${SHAPE})`);
  if (parsed.port !== '' && !(Number(parsed.port) >= 1 && Number(parsed.port) <= 65535)) {
    throw new ConfigError(setting, `expected a port from 1 to 65535, got ${parsed.port}`);
  }
  if (parsed.search || parsed.hash) {
    throw new ConfigError(setting, 'has a query or fragment, which node-redis ignores (give the db as the path: /2)');
  }
  let db: number | undefined;
  if (parsed.pathname.length > 1) {
    const path = parsed.pathname.slice(1);
    if (!/^\d{1,9}$/.test(path)) {
      throw new ConfigError(
        setting,
        `expected the database number as the path (/0, /1, …), got ${JSON.stringify(path)}`,
      );
    }
    db = Number(path);
  }
  let password: string | undefined;
  try {
    decodeURIComponent(parsed.username);
    password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  } catch {
    throw new ConfigError(setting, 'has a user or password that is not valid percent-encoding');
  }
  return { password, db };
}
