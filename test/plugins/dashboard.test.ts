/**
 * `GET /cache/dashboard`: served by both adapters (opt-in, behind the read guard with protectReads), and driven in a
 * real headless Chromium (Debian's, through playwright-core): its numbers match `/cache/stats`, they update, and
 * invalidation works with the admin token and is refused without it. Saves docs/dashboard.png for the README.
 */
import { expect } from 'chai';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import request from 'supertest';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Cache } from '../../src/index.js';
import infercache from '../../plugins/fastify.js';
import { cacheRouter } from '../../plugins/express.js';
import { fastifyApp, listen, testCache } from './helpers.js';

/** The page's `document`, as the functions evaluated in the browser see it (the tests compile without the DOM lib). */
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  getElementById(id: string): { textContent: string | null } | null;
};

const TOKEN = 'dashboard-admin-token-0123456789';
const CHROMIUM = '/usr/bin/chromium';

/** An app with the endpoints (dashboard on) and a cached route; resolves its base URL. */
const servers: Record<string, (cache: Cache, protectReads?: boolean) => Promise<string>> = {
  async fastify(cache, protectReads = false) {
    const app = fastifyApp({ logger: false });
    await app.register(infercache, { cache, endpoints: { dashboard: true, admin: { token: TOKEN }, protectReads } });
    return app.listen({ port: 0, host: '127.0.0.1' });
  },
  async 'Express 5'(cache, protectReads = false) {
    const app = express();
    app.use('/cache', cacheRouter(cache, { dashboard: true, admin: { token: TOKEN }, protectReads }));
    return listen(createServer(app));
  },
};

async function traffic(cache: Cache, kind: string, ids: number[], computeMs = 0): Promise<void> {
  const compute = async (id: number) => {
    if (computeMs) await new Promise((resolve) => setTimeout(resolve, computeMs));
    return { id, price: id * 10 };
  };
  for (const id of ids) await cache.wrap(kind, id, () => compute(id), { tags: [`region:${id % 2}`] });
}

describe('dashboard endpoint', () => {
  for (const [framework, serve] of Object.entries(servers)) {
    it(`is off by default, and on request a light self-contained page with a strict CSP (${framework})`, async () => {
      const off = framework === 'fastify' ? fastifyApp({ logger: false }) : undefined;
      if (off) {
        await off.register(infercache, { cache: testCache(), endpoints: true });
        expect((await off.inject({ method: 'GET', url: '/cache/dashboard' })).statusCode).to.equal(404);
      } else {
        const app = express().use('/cache', cacheRouter(testCache()));
        expect((await request(app).get('/cache/dashboard')).status).to.equal(404);
      }
      const base = await serve(testCache());
      const res = await fetch(`${base}/cache/dashboard`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/html/);
      expect(res.headers.get('content-security-policy')).to.match(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      const html = await res.text();
      expect(Buffer.byteLength(html)).to.be.below(100 * 1024);
      expect(html).not.to.match(/(src|href)=["']?(https?:)?\/\//); // nothing loaded from elsewhere
    });

    it(`is behind the admin check with protectReads (${framework})`, async () => {
      const base = await serve(testCache(), true);
      expect((await fetch(`${base}/cache/dashboard`)).status).to.equal(403);
      const ok = await fetch(`${base}/cache/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).to.equal(200);
      expect((await fetch(`${base}/cache/hot-keys`)).status).to.equal(403);
    });
  }
});

describe('dashboard in a real browser (headless Chromium)', function () {
  this.timeout(90_000);
  let browser: Browser;
  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  after(async () => {
    await browser?.close();
  });

  const text = (page: Page, selector: string) => page.locator(selector).first().innerText();
  /** Waits for the page to refresh at least `n` more times. */
  async function refreshed(page: Page, n = 1): Promise<void> {
    const now = Number(await page.evaluate(() => document.body.dataset.refreshes));
    await page.waitForFunction((target) => Number(document.body.dataset.refreshes) >= target, now + n);
  }

  for (const [framework, serve] of Object.entries(servers)) {
    it(`shows what /cache/stats says, updates, and invalidates only with the token (${framework})`, async () => {
      const cache = testCache({
        namespace: `dash-${framework.replace(/\W/g, '')}`,
        costPerCall: { price: 0.002 },
        fleet: { sample: 1 },
      });
      const base = await serve(cache);
      await traffic(cache, 'price', [1, 2, 3, 1, 2, 1, 1]);
      await traffic(cache, 'score', [1, 1, 2]);
      cache.recordBypass('price', 'authorization');
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/cache/dashboard?scope=instance&interval=300`);
      await page.waitForFunction(() => Number(document.body.dataset.refreshes) >= 1);

      const stats = (await (await fetch(`${base}/cache/stats`)).json()) as ReturnType<Cache['stats']>;
      expect(await text(page, '#calls')).to.equal(String(stats.total));
      expect(await text(page, '#hits')).to.equal(String(stats.hits));
      expect(await text(page, '#misses')).to.equal(String(stats.misses));
      expect(await text(page, '#hit-rate')).to.equal(`${(stats.hitRate * 100).toFixed(1)}%`);
      expect(await text(page, 'tr[data-kind="price"] .hits')).to.equal(String(stats.kinds.price!.hits));
      expect(await text(page, 'tr[data-kind="score"] .misses')).to.equal(String(stats.kinds.score!.misses));
      expect(await text(page, '[data-reason="authorization"]')).to.match(/authorization 1/);
      expect(await text(page, '#health')).to.equal('healthy');

      // more traffic: the page follows
      await traffic(cache, 'price', [1, 1, 1, 4]);
      const after = cache.stats();
      await page.waitForFunction(
        (total) => document.getElementById('calls')!.textContent === String(total),
        after.total,
      );
      expect(await text(page, 'tr[data-kind="price"] .hits')).to.equal(String(after.kinds.price!.hits));

      // fleet scope: every instance's counters (this one's, once written) and the live instances, hot keys
      await cache.flushFleet();
      await page.goto(`${base}/cache/dashboard?scope=fleet&interval=300`);
      await page.waitForFunction(() => Number(document.body.dataset.refreshes) >= 1);
      const fleet = await cache.fleetStats({ window: '10m' });
      expect(await text(page, '#instances')).to.equal('1');
      expect(await text(page, '#calls')).to.equal(String(fleet.total));
      expect(await text(page, '#hits')).to.equal(String(fleet.hits));
      expect(await text(page, '#p95-hit')).to.match(/ms|s$/);

      // invalidation: a wrong token is refused by the server, the right one works
      expect(await cache.get('price', 1)).to.deep.equal({ id: 1, price: 10 });
      await page.fill('#token', 'wrong-token-wrong-token');
      await page.click('#save-token');
      await page.selectOption('#kind', 'price');
      await page.click('#invalidate-kind');
      await page.waitForSelector('#admin-result[data-status="403"]');
      expect(await text(page, '#admin-result')).to.match(/refused \(403\)/);
      expect(await cache.get('price', 1)).to.deep.equal({ id: 1, price: 10 });
      await page.fill('#token', TOKEN);
      await page.click('#save-token');
      await page.click('#invalidate-kind');
      await page.waitForSelector('#admin-result[data-status="200"]');
      expect(await cache.get('price', 1)).to.equal(undefined);
      expect(await cache.get('score', 1)).to.deep.equal({ id: 1, price: 10 });
      await page.fill('#tag', 'region:1');
      await page.click('#invalidate-tag');
      await page.waitForFunction(() => /region:1/.test(document.getElementById('admin-result')!.textContent ?? ''));
      expect(await cache.get('score', 1)).to.equal(undefined);
      expect(errors).to.deep.equal([]);
      await page.close();
    });
  }

  // The README's picture is refreshed with UPDATE_SCREENSHOTS=1; other runs leave the work tree as it is.
  const shot =
    process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/dashboard.png' : join(tmpdir(), 'infercache-dashboard.png');

  it('takes a screenshot of a dashboard with traffic over time (docs/dashboard.png with UPDATE_SCREENSHOTS=1)', async () => {
    const cache = testCache({ namespace: 'dash-shot', costPerCall: { price: 0.002, llm: 0.01 }, fleet: { sample: 1 } });
    const base = await serve0(cache);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await page.goto(`${base}/cache/dashboard?scope=instance&interval=250`);
    for (let round = 0; round < 8; round++) {
      await traffic(
        cache,
        'price',
        [1, 2, 3, 4].map((i) => i + round * (round % 3)),
        15,
      );
      await traffic(cache, 'llm', [1, 2, round % 2], 40);
      await traffic(cache, 'embedding', [1, 1, 2, round], 5);
      await cache.flushFleet();
      await refreshed(page);
    }
    cache.recordBypass('price', 'no-cache');
    await cache.flushFleet();
    await refreshed(page, 2);
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot) && statSync(shot).size).to.be.greaterThan(10_000);
    await page.close();
  });
});

function serve0(cache: Cache): Promise<string> {
  return servers.fastify!(cache);
}
