/**
 * infercache as its users run it: the build in dist/, loaded by the package's own name (`npm run bench*` build it
 * first). Not the sources through tsx, whose keepNames wrapping adds an `Object.defineProperty` call to every named
 * closure made on the hot path: about 0.5 µs of a Redis-tier hit that no user pays (measured). `BENCH_SOURCES=1`
 * measures the sources instead (the smoke test does, so that it needs no build).
 */
import type * as Core from '../../src/index.js';
import type * as FastifyPlugin from '../../plugins/fastify.js';
import type * as ExpressPlugin from '../../plugins/express.js';

const fromSources = process.env.BENCH_SOURCES === '1';

/** What the benchmark measures, for its header. */
export const measured = fromSources ? 'the sources (BENCH_SOURCES=1, through tsx)' : 'the built package (dist/)';

// A specifier in a variable: the type checker does not resolve it (dist/ may not be built yet).
const load = <T>(name: string, source: string): Promise<T> => import(fromSources ? source : name) as Promise<T>;

/** `infercache`: createCache and the rest of the core API. */
export const loadCore = (): Promise<typeof Core> => load('infercache', '../../src/index.js');
/** `infercache/fastify`. */
export const loadFastify = (): Promise<typeof FastifyPlugin> => load('infercache/fastify', '../../plugins/fastify.js');
/** `infercache/express`. */
export const loadExpress = (): Promise<typeof ExpressPlugin> => load('infercache/express', '../../plugins/express.js');
