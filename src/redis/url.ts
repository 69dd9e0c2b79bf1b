/**
 * Validates a Redis URL at start-up, so a URL node-redis would refuse later (with a bare `TypeError`) or quietly
 * misread is rejected by a ConfigError naming the setting, and turns it into node-redis client options. Messages
 * never include the user or the password.
 */
import { ConfigError } from '../errors.js';

/** What a valid Redis URL says. */
export interface RedisUrlParts {
  /** Host name or IP address; an IPv6 literal without its brackets (`::1` for `redis://[::1]`). */
  host: string;
  /** Port, or undefined when the URL has none (6379). */
  port: number | undefined;
  /** `rediss://`. */
  tls: boolean;
  /** Decoded user name, or undefined when the URL has none. */
  username: string | undefined;
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
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
    password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  } catch {
    throw new ConfigError(setting, 'has a user or password that is not valid percent-encoding');
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? undefined : Number(parsed.port),
    tls: parsed.protocol === 'rediss:',
    username,
    password,
    db,
  };
}

/** node-redis client options a URL stands for. */
export interface UrlClientOptions {
  socket: { host: string; port?: number; tls: boolean };
  username?: string;
  password?: string;
  database?: number;
}

/**
 * The client options `url` stands for, given to node-redis instead of the URL: node-redis 6 looks the URL's host up
 * again, brackets included, for its maintenance handshake (`getaddrinfo ENOTFOUND [::1]`), so an IPv6 literal only
 * works as a plain `socket.host`. Throws a ConfigError naming `setting` for a URL parseRedisUrl refuses.
 */
export function clientOptionsFromUrl(url: string, setting: string): UrlClientOptions {
  const parts = parseRedisUrl(url, setting);
  const options: UrlClientOptions = { socket: { host: parts.host, tls: parts.tls } };
  if (parts.port !== undefined) options.socket.port = parts.port;
  if (parts.username !== undefined) options.username = parts.username;
  if (parts.password !== undefined) options.password = parts.password;
  if (parts.db !== undefined) options.database = parts.db;
  return options;
}
