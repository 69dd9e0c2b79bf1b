/** `GET {prefix}/dashboard`: the page, with a Content-Security-Policy that allows only its own inline script. */
import { createHash } from 'node:crypto';
import { DASHBOARD_HTML, DASHBOARD_SCRIPT } from './dashboard-page.js';
import type { EndpointResponse } from './endpoints.js';

/** The page's headers: HTML, and a CSP letting the page run its one inline script and call its own origin only. */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': [
    "default-src 'none'",
    `script-src 'sha256-${createHash('sha256').update(DASHBOARD_SCRIPT).digest('base64')}'`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

/** The dashboard answer. */
export function dashboardResponse(): EndpointResponse {
  return { status: 200, body: DASHBOARD_HTML, headers: DASHBOARD_HEADERS };
}
