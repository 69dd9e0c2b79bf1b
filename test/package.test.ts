/** The published entry points load from both module systems (after `npm run build`). */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { ensureBuilt } from './setup/build.js';

const run = (args: string[]) => execFileSync(process.execPath, args, { encoding: 'utf8', cwd: process.cwd() }).trim();

describe('package entry points', function () {
  this.timeout(120_000);
  before(ensureBuilt);

  it('loads infercache and infercache/testing with require (CommonJS)', () => {
    const out = run([
      '-e',
      "const c=require('infercache');const t=require('infercache/testing');console.log(typeof c.createCache, typeof c.CachedPrediction, typeof t.startTestRedis)",
    ]);
    expect(out).to.equal('function function function');
  });

  it('loads infercache and infercache/testing with import (ESM)', () => {
    const out = run([
      '--input-type=module',
      '-e',
      "const c=await import('infercache');const t=await import('infercache/testing');console.log(typeof c.createCache, typeof c.Invalidates, typeof t.startTestRedis)",
    ]);
    expect(out).to.equal('function function function');
  });

  it('loads infercache/fastify and infercache/express with require (CommonJS), and they work', () => {
    const out = run([
      '-e',
      `const Fastify = require('fastify');
       const f = require('infercache/fastify');
       const e = require('infercache/express');
       const meta = f.default[Symbol.for('plugin-meta')];
       const app = Fastify();
       app.register(f.infercache, {}).after(() => app.get('/x', { config: { cache: true } }, async () => 1));
       app.inject('/x').then(async (r) => {
         console.log(typeof f.adminGuard, typeof e.cacheRoute, typeof e.cacheRouter, meta.name, r.headers['x-cache']);
         await app.close();
       });`,
    ]);
    expect(out).to.equal('function function function infercache MISS');
  });

  it('loads infercache/fastify and infercache/express with import (ESM), and they work', () => {
    const out = run([
      '--input-type=module',
      '-e',
      `const { default: Fastify } = await import('fastify');
       const { default: infercache, adminGuard } = await import('infercache/fastify');
       const { cacheRoute, cacheRouter } = await import('infercache/express');
       const app = Fastify();
       await app.register(infercache, {}); // no Redis: a memory-only cache, so the route asks for the memory tier
       app.get('/x', { config: { cache: { memory: true } } }, async () => 1);
       await app.inject('/x');
       const r = await app.inject('/x');
       await app.close();
       console.log(typeof adminGuard, typeof cacheRoute, typeof cacheRouter, r.headers['x-cache']);`,
    ]);
    expect(out).to.equal('function function function HIT');
  });

  it('does not load Fastify for an Express user', () => {
    const out = run([
      '-e',
      `require('infercache/express');
       console.log(Object.keys(require.cache).some((file) => /[\\/]node_modules[\\/]fastify[\\/]/.test(file)));`,
    ]);
    expect(out).to.equal('false');
  });
});
