/** infercache/llm loads from both module systems (after `npm run build`), with a cache made by either build. */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const run = (args: string[]) => execFileSync(process.execPath, args, { encoding: 'utf8', cwd: process.cwd() }).trim();

describe('llm: package entry point infercache/llm', function () {
  this.timeout(120_000);
  before(() => {
    if (!['dist/cjs/src/llm/index.js', 'dist/esm/src/llm/index.js'].every((file) => existsSync(file))) {
      execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
    }
  });

  it('loads with require (CommonJS) and wraps a client', () => {
    const out = run([
      '-e',
      `const { createCache } = require('infercache');
       const llm = require('infercache/llm');
       const cache = createCache({ redis: false, logger: false });
       const client = llm.cachedOpenAI({ chat: { completions: { create: async () => ({}) } } }, { cache, scope: 'global' });
       console.log(typeof llm.llmKey, typeof llm.cacheInfo, typeof llm.llmCacheMiddleware, typeof client.chat.completions.create, typeof llm.llmEmbeddingMiddleware);
       cache.close();`,
    ]);
    expect(out).to.equal('function function function function function');
  });

  it('loads with import (ESM), and takes a cache made by the CommonJS build', () => {
    const out = run([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       const { createCache } = createRequire(process.cwd() + '/')('infercache');
       const llm = await import('infercache/llm');
       const cache = createCache({ redis: false, logger: false });
       llm.cachedOpenAI({}, { cache, scope: 'global' });
       console.log(typeof llm.llmKey, typeof llm.cachedOpenAI, llm.llmKey({ model: 'm' }).slice(0, 5));
       await cache.close();`,
    ]);
    expect(out).to.equal('function function llm1:');
  });
});
