/**
 * The admin check of the operational endpoints (and of an app's own admin routes): a bearer token compared in
 * constant time, or the app's own `authorize(request)`. Without one, mutating endpoints are refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ConfigError } from '../errors.js';

/** How callers of mutating endpoints are recognised. */
export type AdminOptions<Req = unknown> =
  | {
      /** Shared secret sent as `Authorization: Bearer <token>`; at least 16 characters. */
      token: string;
    }
  | {
      /** Decides from the request (a session, a client certificate, a signed header...). */
      authorize(request: Req): boolean | Promise<boolean>;
    };

/** A resolved admin check: true when the request may mutate; never throws. */
export type AdminCheck<Req> = (headers: IncomingHttpHeaders, request: Req) => Promise<boolean>;

/** Shortest admin token accepted. */
export const MIN_TOKEN_LENGTH = 16;

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.authorization;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

/** Validates admin options once; returns the check, or undefined when none is configured. */
export function resolveAdmin<Req>(admin: AdminOptions<Req> | undefined, where: string): AdminCheck<Req> | undefined {
  if (admin === undefined) return undefined;
  if (typeof admin !== 'object' || admin === null) {
    throw new ConfigError(where, 'expected { token } or { authorize(request) }');
  }
  const hasToken = 'token' in admin && admin.token !== undefined;
  const hasAuthorize = 'authorize' in admin && admin.authorize !== undefined;
  if (hasToken === hasAuthorize) throw new ConfigError(where, 'give exactly one of token or authorize');
  if (hasAuthorize) {
    const authorize = (admin as { authorize: unknown }).authorize;
    if (typeof authorize !== 'function') throw new ConfigError(`${where}.authorize`, 'expected a function');
    return async (_headers, request) => {
      try {
        return (await authorize(request)) === true;
      } catch {
        return false;
      }
    };
  }
  const token = (admin as { token: unknown }).token;
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ConfigError(
      `${where}.token`,
      `expected a string of at least ${MIN_TOKEN_LENGTH} characters without spaces (e.g. from an environment variable)`,
    );
  }
  const expected = digest(token);
  // Both sides are hashed to 32 bytes first, so the comparison takes the same time whatever was sent.
  return async (headers) => {
    const given = bearerToken(headers);
    return timingSafeEqual(digest(given ?? ''), expected) && given !== undefined;
  };
}
