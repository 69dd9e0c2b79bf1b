/**
 * The call site a decorator or plugin gives to `wrap` (`Class.method`, `route GET /x`, `llm.responses`): an internal,
 * symbol-keyed field of the options object, so it is not part of the public `WrapOptions`. The cache uses it to name
 * the call's span (`infercache <site>`), the owner of the entry's options, warnings and hot keys.
 */

/** Key of the site name on a `WrapOptions` object (internal to infercache's decorators and plugins). */
export const SITE: unique symbol = Symbol('infercache.site');

/** Options that may carry a site name. */
export interface Sited {
  [SITE]?: string;
}

/** The site name carried by `options`, or undefined for a direct `wrap` call. */
export function siteOf(options: object): string | undefined {
  return (options as Sited)[SITE];
}

/** `options` with the site name `site` (a new object; the options given are not changed). */
export function atSite<O extends object>(options: O, site: string): O {
  return { ...options, [SITE]: site };
}
