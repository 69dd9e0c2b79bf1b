/**
 * The package as npm publishes it: `npm pack`, the tarball installed into a fresh project with the README's install
 * lines (nothing else of ours), then a strict TypeScript app compiled against the published types and run from ES
 * modules and from CommonJS: the quick start (a decorated class and `wrap`) on a Redis started by
 * `infercache/testing`, a cached Fastify route and a cached Express route.
 *
 * Offline-safe: the project is installed with `--prefer-offline` from the npm cache that `npm ci` filled, pinned to the
 * versions of this repository's node_modules; only what the cache lacks comes from the registry. `--legacy-peer-deps`
 * makes npm install no peer on its own, so the README's lines must name every peer a user needs.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { ensureBuilt, repoRoot } from './setup/build.js';
import { installLines } from './setup/readme.js';

const exec = promisify(execFile);

/**
 * Compiles `file` of `project` as a strict TypeScript user would, emitting it next to it (.mts to .mjs, .cts to .cjs);
 * returns the errors in it and in the package's declarations (other libraries' declarations are not checked: slow).
 */
function compile(
  project: string,
  file: string,
  oldProgram?: ts.Program,
  resolution: Pick<ts.CompilerOptions, 'module' | 'moduleResolution'> = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  },
): { program: ts.Program; errors: string[] } {
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    ...resolution,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    typeRoots: [join(project, 'node_modules', '@types')],
    esModuleInterop: true,
  };
  // oldProgram: reuse the declarations the other format's program parsed.
  const program = ts.createProgram({ rootNames: [join(project, file)], options, oldProgram });
  const ours = program
    .getSourceFiles()
    .filter(
      (source) => !source.fileName.includes('/node_modules/') || source.fileName.includes('/node_modules/infercache/'),
    );
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...ours.flatMap((source) => [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ]),
    ...program.emit().diagnostics,
  ];
  const host = {
    getCanonicalFileName: (name: string) => name,
    getCurrentDirectory: () => project,
    getNewLine: () => '\n',
  };
  return { program, errors: diagnostics.map((diagnostic) => ts.formatDiagnostic(diagnostic, host)) };
}

/** The app's own dev dependencies (types for a strict TypeScript app), besides what the README says to install. */
const APP_DEV_DEPENDENCIES = ['@types/node', '@types/express'];

/** The version of `name` this repository installed (so the npm cache has it). */
function repoVersion(name: string): string {
  const manifest = join(repoRoot, 'node_modules', name, 'package.json');
  if (!existsSync(manifest)) throw new Error(`${name} (named by the README's install lines) is not in node_modules`);
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** A strict TypeScript app using the package; compiled as app.mts (ESM) and app.cts (CommonJS). */
const APP = `
import { createCache, CachedPrediction } from 'infercache';
import infercache from 'infercache/fastify';
import { cacheRoute } from 'infercache/express';
import { startTestRedis } from 'infercache/testing';
import Fastify from 'fastify';
import express from 'express';
import type { AddressInfo } from 'node:net';

interface PropertyInput {
  region: string;
  area: number;
}

let modelCalls = 0;

class PriceService {
  @CachedPrediction({ kind: 'price', ttl: '5m', tags: (input: PropertyInput) => [\`region:\${input.region}\`] })
  async predict(input: PropertyInput): Promise<{ price: number }> {
    modelCalls++;
    return { price: input.area * 1000 };
  }
}

async function main(): Promise<void> {
  const redis = await startTestRedis();
  // operationTimeout: a loaded test machine can take longer than the 50 ms default to answer.
  const cache = createCache({ redis: { url: redis.url }, namespace: 'packed', ttl: { price: '5m' }, operationTimeout: '2s' });
  try {
    const prices = new PriceService();
    const decorated = [await prices.predict({ region: 'north', area: 80 }), await prices.predict({ region: 'north', area: 80 })];
    const wrapped = [
      await cache.wrap('square', 7, async () => 49),
      (await cache.wrapDetailed('square', 7, async () => -1)).result,
    ];

    const fastify = Fastify();
    await fastify.register(infercache, { cache });
    fastify.get<{ Params: { id: string } }>('/products/:id', { config: { cache: true } }, async (req) => ({
      id: req.params.id,
    }));
    const fastifyCache: unknown[] = [];
    for (let i = 0; i < 2; i++) fastifyCache.push((await fastify.inject('/products/1')).headers['x-cache']);
    await fastify.close();

    const app = express();
    app.get('/chargers/:id/status', cacheRoute(cache), (req, res) => void res.json({ id: req.params.id }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    const expressCache: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      expressCache.push((await fetch(\`http://127.0.0.1:\${port}/chargers/7/status\`)).headers.get('x-cache'));
    }
    await new Promise((resolve) => server.close(resolve));

    console.log(JSON.stringify({ decorated, modelCalls, wrapped, fastifyCache, expressCache }));
  } finally {
    await cache.close();
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/**
 * A CommonJS project of the older kind (`"module": "commonjs"`, so `moduleResolution` node10, which ignores
 * `exports`): every entry point's types must still resolve (through `typesVersions`).
 */
const NODE10_APP = `
import { createCache, type CacheOptions } from 'infercache';
import infercache, { type InfercacheFastifyOptions } from 'infercache/fastify';
import { cacheRoute, cacheRouter } from 'infercache/express';
import { startTestRedis } from 'infercache/testing';
import { llmKey } from 'infercache/llm';

const options: CacheOptions = { namespace: 'node10' };
const plugin: InfercacheFastifyOptions = { cache: createCache(options) };
export const used = [infercache, plugin, cacheRoute, cacheRouter, startTestRedis, llmKey];
`;

/** Starts the test Redis with `infercache/testing`; prints its error message when it cannot. */
const START_TEST_REDIS = `
startTestRedis().then(
  async (redis) => {
    await redis.stop();
    console.log('started');
  },
  (error) => console.log(error.message),
);
`;

describe('the packed package, installed into a fresh project', function () {
  this.timeout(180_000);
  let project: string;
  let installed: string;

  // A bounded run: an app that never exits (an open handle) fails its test instead of holding the suite.
  const node = async (file: string) =>
    (await exec(process.execPath, [file], { cwd: project, timeout: 60_000 })).stdout.trim();

  before(async function () {
    ensureBuilt.call(this);
    project = mkdtempSync(join(tmpdir(), 'infercache-pack-'));
    installed = join(project, 'node_modules', 'infercache');
    // dist/ is fresh (ensureBuilt), so the prepack build is not needed.
    const packed = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], {
      cwd: repoRoot,
    });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));

    const lines = installLines();
    const env: Record<string, string> = {};
    const packages = new Set<string>();
    for (const line of lines) {
      Object.assign(env, line.env);
      for (const name of line.packages) packages.add(name);
    }
    expect([...packages], "the README's install lines").to.include.members(['infercache', 'redis-memory-server']);
    const specs = [...packages, ...APP_DEV_DEPENDENCIES].map((name) =>
      name === 'infercache' ? `./${filename}` : `${name}@${repoVersion(name)}`,
    );
    await exec(
      'npm',
      ['install', '--prefer-offline', '--legacy-peer-deps', '--no-audit', '--no-fund', '--loglevel=error', ...specs],
      { cwd: project, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
    );

    writeFileSync(join(project, 'app.mts'), APP);
    writeFileSync(join(project, 'node10.ts'), NODE10_APP);
    writeFileSync(join(project, 'app.cts'), APP);
    writeFileSync(
      join(project, 'start.mjs'),
      `import { startTestRedis } from 'infercache/testing';\n${START_TEST_REDIS}`,
    );
    writeFileSync(
      join(project, 'start.cjs'),
      `const { startTestRedis } = require('infercache/testing');\n${START_TEST_REDIS}`,
    );
  });

  after(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it("installs redis-memory-server with the README's line without downloading Redis", () => {
    expect(existsSync(join(project, 'node_modules', 'redis-memory-server'))).to.equal(true);
    expect(existsSync(join(project, 'node_modules', '.cache', 'redis-memory-server'))).to.equal(false);
  });

  it('declares redis-memory-server as an optional peer dependency', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    expect(manifest.dependencies).to.not.have.property('redis-memory-server');
    expect(manifest.peerDependencies).to.have.property('redis-memory-server');
    expect(manifest.peerDependenciesMeta?.['redis-memory-server']).to.deep.equal({ optional: true });
  });

  it('ships source maps that carry their sources', () => {
    const maps: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name));
        else if (entry.name.endsWith('.js.map')) maps.push(join(dir, entry.name));
      }
    };
    walk(join(installed, 'dist'));
    expect(maps).to.have.length.greaterThan(10);
    const withoutSources = maps.filter((file) => {
      const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourcesContent?: unknown[] };
      return (
        map.sources.length === 0 ||
        !Array.isArray(map.sourcesContent) ||
        map.sourcesContent.length !== map.sources.length ||
        !map.sourcesContent.every((content) => typeof content === 'string' && content.length > 0)
      );
    });
    expect(withoutSources.map((file) => relative(installed, file))).to.deep.equal([]);
  });

  it('compiles a strict TypeScript app against the published types, as ESM and as CommonJS', () => {
    // One program per format, as a user's project is one or the other (in one program the ESM and the CommonJS
    // declarations would both augment Fastify's types).
    const esm = compile(project, 'app.mts');
    const cjs = compile(project, 'app.cts', esm.program);
    const errors = [...esm.errors, ...cjs.errors];
    expect(errors).to.deep.equal([]);
    expect(existsSync(join(project, 'app.mjs')) && existsSync(join(project, 'app.cjs'))).to.equal(true);
  });

  it('resolves the types of every entry point in a CommonJS project with moduleResolution node10', () => {
    const { errors } = compile(project, 'node10.ts', undefined, {
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
    });
    expect(errors).to.deep.equal([]);
  });

  for (const [format, file] of [
    ['ESM', 'app.mjs'],
    ['CommonJS', 'app.cjs'],
  ] as const) {
    it(`runs the quick start, a Fastify route and an Express route on infercache/testing's Redis (${format})`, async () => {
      const out = JSON.parse(await node(file)) as Record<string, unknown>;
      expect(out).to.deep.equal({
        decorated: [{ price: 80_000 }, { price: 80_000 }],
        modelCalls: 1,
        wrapped: [49, 'hit'],
        fastifyCache: ['MISS', 'HIT'],
        expressCache: ['MISS', 'HIT'],
      });
      expect(existsSync(join(project, 'node_modules', '.cache', 'redis-memory-server')), 'a Redis download').to.equal(
        false,
      );
    });
  }

  it('says how to install redis-memory-server when it is missing (ESM and CommonJS)', async () => {
    const aside = join(project, 'redis-memory-server.aside');
    renameSync(join(project, 'node_modules', 'redis-memory-server'), aside);
    try {
      for (const file of ['start.mjs', 'start.cjs']) {
        const message = await node(file);
        expect(message, file).to.contain('redis-memory-server');
        expect(message, file).to.contain('REDISMS_DISABLE_POSTINSTALL=1 npm install --save-dev redis-memory-server');
      }
    } finally {
      renameSync(aside, join(project, 'node_modules', 'redis-memory-server'));
    }
  });
});
