/** src/http: request keys and eligibility, what is stored, replay headers, option validation, the admin check. */
import { expect } from 'chai';
import { ConfigError } from '../../src/index.js';
import { resolveRouteOptions } from '../../src/http/options.js';
import { requestKey, sortedQuery, type RequestView } from '../../src/http/request.js';
import { mergeVary, replayHeaders, toStored, unhonouredVary, type StorePolicy } from '../../src/http/response.js';
import { isNotModified } from '../../src/http/conditional.js';
import { bearerToken, resolveAdmin } from '../../src/http/admin.js';
import { normalisePrefix, parseTarget } from '../../src/http/endpoints.js';

const view = (over: Partial<RequestView> = {}): RequestView => ({
  method: 'GET',
  url: '/predict',
  headers: {},
  body: undefined,
  owner: '/predict',
  ...over,
});
const route = (options = {}) => resolveRouteOptions(options, 'route');
const policy: StorePolicy = { headers: new Set(['x-model-version']), vary: [], maxBytes: 1024 };

describe('src/http: request keys', () => {
  it('sorts query parameters by name, keeping repeated names in order', () => {
    expect(sortedQuery('/p?b=2&a=1&b=1')).to.deep.equal([
      ['a', '1'],
      ['b', '2'],
      ['b', '1'],
    ]);
    expect(sortedQuery('/p')).to.deep.equal([]);
    expect(sortedQuery('/p?')).to.deep.equal([]);
  });

  it('keys GET by a readable method, path and sorted query, and POST by media type and body too', () => {
    expect(requestKey(route(), view({ url: '/p?b=2&a=1' }), null)).to.deep.equal({ ok: true, parts: 'GET:/p?a=1&b=2' });
    // the query is re-encoded: spellings of the same parameters name one entry
    expect(requestKey(route(), view({ url: '/p?b=x+y&a=%31' }), null)).to.deep.equal({
      ok: true,
      parts: 'GET:/p?a=1&b=x+y',
    });
    expect(requestKey(route(), view({ url: '/p?b=x%20y&a=1' }), null)).to.deep.include({ parts: 'GET:/p?a=1&b=x+y' });
    expect(requestKey(route(), view({ url: '/p?' }), null)).to.deep.include({ parts: 'GET:/p' });
    expect(requestKey(route(), view({ url: '/p' }), null)).to.deep.include({ parts: 'GET:/p' });
    // HEAD keeps its own (hashed) entries
    expect(requestKey(route(), view({ method: 'HEAD', url: '/p' }), null)).to.deep.include({
      parts: ['HEAD', '/p', []],
    });
    const post = requestKey(
      route({ methods: ['POST'] }),
      view({
        method: 'POST',
        headers: { 'content-type': 'Application/JSON; charset=utf-8', 'content-length': '7' },
        body: { a: 1 },
      }),
      null,
    );
    expect(post).to.deep.equal({ ok: true, parts: ['POST', '/predict', [], 'application/json', { a: 1 }] });
  });

  it('bypasses a POST whose announced body was not parsed, but keys a POST without a body', () => {
    const r = route({ methods: ['POST'] });
    const json = { 'content-type': 'application/json' };
    expect(requestKey(r, view({ method: 'POST', headers: { ...json, 'content-length': '12' } }), null)).to.include({
      ok: false,
      reason: 'unparsed-body',
    });
    const chunked = view({ method: 'POST', headers: { ...json, 'transfer-encoding': 'chunked' } });
    expect(requestKey(r, chunked, null)).to.include({ ok: false, reason: 'unparsed-body' });
    expect(requestKey(r, view({ method: 'POST', headers: { 'content-length': '0' } }), null).ok).to.equal(true);
  });

  it('keys only JSON bodies: any other body bypasses, whatever the framework left in body, unless the route has a key', () => {
    const r = route({ methods: ['POST'] });
    const post = (type: string | undefined, body: unknown) =>
      view({ method: 'POST', headers: { 'content-length': '9', ...(type && { 'content-type': type }) }, body });
    for (const type of ['application/octet-stream', 'text/plain', 'multipart/form-data; boundary=x', undefined]) {
      expect(requestKey(r, post(type, {}), null), String(type)).to.include({ ok: false, reason: 'body-type' });
    }
    expect(requestKey(r, post('application/vnd.api+json', { a: 1 }), null).ok).to.equal(true);
    // no body announced: keyed as no body, not as the placeholder a parser left
    const empty = requestKey(r, view({ method: 'POST', body: {} }), null);
    expect(empty).to.deep.equal({ ok: true, parts: ['POST', '/predict', [], null, null] });
    const keyed = route({ methods: ['POST'], key: () => 'image-1' });
    expect(requestKey(keyed, post('application/octet-stream', {}), null)).to.deep.equal({
      ok: true,
      parts: 'POST:/predict#image-1',
    });
  });

  it('applies the credential rule: Authorization and Cookie bypass unless varied on or public', () => {
    const auth = view({ headers: { authorization: 'Bearer a' } });
    const cookie = view({ headers: { cookie: 'sid=1' } });
    expect(requestKey(route(), auth, null)).to.include({ ok: false, reason: 'authorization' });
    expect(requestKey(route(), cookie, null)).to.include({ ok: false, reason: 'cookie' });
    expect(requestKey(route({ vary: ['Authorization'] }), cookie, null)).to.include({ reason: 'cookie' });
    const varied = requestKey(route({ vary: ['authorization'] }), auth, null);
    expect(varied).to.deep.equal({ ok: true, parts: [['GET', '/predict', []], ['Bearer a']] });
    expect(requestKey(route({ public: true }), cookie, null).ok).to.equal(true);
  });

  it('bypasses Cache-Control: no-cache and Pragma: no-cache only when the route allows it', () => {
    for (const headers of [
      { 'cache-control': 'no-cache' },
      { 'cache-control': 'max-age=0, no-cache' },
      { pragma: 'no-cache' },
    ]) {
      expect(requestKey(route({ allowNoCache: true }), view({ headers }), null)).to.include({ reason: 'no-cache' });
      expect(requestKey(route(), view({ headers }), null).ok).to.equal(true);
    }
    expect(
      requestKey(route({ allowNoCache: true }), view({ headers: { 'cache-control': 'no-cache-x' } }), null).ok,
    ).to.equal(true);
  });

  it('scopes a route key to its route, keeps HEAD apart, and reports a key function that throws', () => {
    const r = route({ key: (req: { id: unknown }) => req.id });
    const owned = view({ owner: '/chargers/:id/status' });
    expect(requestKey(r, owned, { id: 'CHG_001' })).to.deep.equal({ ok: true, parts: '/chargers/:id/status#CHG_001' });
    expect(requestKey(r, owned, { id: 7 })).to.deep.equal({ ok: true, parts: '/chargers/:id/status#7' });
    expect(requestKey(r, owned, { id: { a: 1 } })).to.deep.equal({
      ok: true,
      parts: ['/chargers/:id/status', { a: 1 }],
    });
    expect(requestKey(r, view({ owner: '/other/:id' }), { id: 'CHG_001' })).to.deep.equal({
      ok: true,
      parts: '/other/:id#CHG_001',
    });
    expect(requestKey(r, view({ method: 'HEAD', owner: '/c' }), { id: 'CHG_001' })).to.deep.equal({
      ok: true,
      parts: 'HEAD:/c#CHG_001',
    });
    const failing = route({
      key: () => {
        throw new Error('no id');
      },
    });
    expect(requestKey(failing, view(), null)).to.include({ ok: false, reason: 'key' });
    expect(requestKey(route(), view({ method: 'POST' }), null)).to.include({ reason: 'method' });
  });

  it('scopes a route key to the method too: GET keeps the readable layout, others are prefixed with theirs', () => {
    const r = route({ key: (req: { id: unknown }) => req.id, methods: ['GET', 'POST'] });
    const at = (method: string) => view({ method, owner: '/x/:id' });
    expect(requestKey(r, at('GET'), { id: '1' })).to.deep.equal({ ok: true, parts: '/x/:id#1' });
    expect(requestKey(r, at('POST'), { id: '1' })).to.deep.equal({ ok: true, parts: 'POST:/x/:id#1' });
    expect(requestKey(r, at('POST'), { id: { a: 1 } })).to.deep.equal({ ok: true, parts: ['POST:/x/:id', { a: 1 }] });
    // the default key already names the method
    const d = route({ methods: ['GET', 'POST'] });
    const get = requestKey(d, view({ url: '/x/1' }), null);
    const post = requestKey(d, view({ method: 'POST', url: '/x/1' }), null);
    expect(get.ok && post.ok && get.parts).to.not.deep.equal(post.ok && post.parts);
  });

  it("puts a route's constraints in its default and custom keys", () => {
    const a = [['host', 'a.example.com']];
    const b = [['host', 'b.example.com']];
    const d = route();
    expect(requestKey(d, view({ constraints: a }), null)).to.deep.equal({
      ok: true,
      parts: [a, ['GET', '/predict', []]],
    });
    const k = route({ key: () => '1' });
    expect(requestKey(k, view({ constraints: a }), null)).to.deep.equal({ ok: true, parts: [a, '/predict#1'] });
    expect(requestKey(k, view({ constraints: b }), null)).to.deep.equal({ ok: true, parts: [b, '/predict#1'] });
    expect(requestKey(k, view(), null)).to.deep.equal({ ok: true, parts: '/predict#1' });
  });

  it('bypasses a request whose route key returns undefined, null, an empty string, NaN or only such fields', () => {
    const r = route({ key: (req: { id: unknown }) => req.id });
    for (const id of [undefined, null, '', NaN, [], {}, [undefined, ''], { tenant: undefined, sha: [null] }]) {
      const key = requestKey(r, view(), { id });
      expect(key, String(id)).to.deep.include({ ok: false, reason: 'key' });
      expect(key, String(id)).to.have.deep.property('empty', { value: id });
    }
    for (const id of [0, false, 'x', [undefined, 'x'], { a: null, b: 0 }]) {
      expect(requestKey(r, view(), { id }).ok, String(id)).to.equal(true);
    }
  });
});

describe('src/http: what is stored and replayed', () => {
  const body = Buffer.from('{"price":1}');
  it('stores 2xx (not 206) with the content headers and the extra ones asked for, nothing else', () => {
    const stored = toStored(
      200,
      { 'Content-Type': 'application/json', 'x-model-version': 3, 'x-request-id': 'r', date: 'now', etag: '"e"' },
      body,
      policy,
    );
    expect(stored).to.deep.equal({
      v: 1,
      s: 200,
      h: [
        ['content-type', 'application/json'],
        ['x-model-version', '3'],
        ['etag', '"e"'],
      ],
      b: body,
    });
    for (const status of [204, 201, 299])
      expect(toStored(status, {}, body, policy), String(status)).to.not.equal(undefined);
    for (const status of [100, 206, 301, 304, 404, 500])
      expect(toStored(status, {}, body, policy), String(status)).to.equal(undefined);
  });

  it('refuses cookies, no-store, private, no-cache, unvaried encodings and large bodies', () => {
    const refused = [
      { 'set-cookie': ['a=1'] },
      { 'cache-control': 'public, no-store' },
      { 'cache-control': 'private' },
      { 'cache-control': 'no-cache' },
      { 'cache-control': 'private="x"' },
      { 'content-encoding': 'gzip' },
    ];
    for (const headers of refused)
      expect(toStored(200, headers, body, policy), JSON.stringify(headers)).to.equal(undefined);
    expect(toStored(200, { 'cache-control': 'public, max-age=60' }, body, policy)).to.not.equal(undefined);
    expect(toStored(200, { 'content-encoding': 'gzip' }, body, { ...policy, vary: ['accept-encoding'] })).to.not.equal(
      undefined,
    );
    expect(toStored(200, {}, Buffer.alloc(1025), policy)).to.equal(undefined);
  });

  it("finds the request headers a response's Vary names that the route does not vary on", () => {
    const vary = (value: string | string[], on: string[] = []) =>
      unhonouredVary(toStored(200, { vary: value }, body, policy)!, on);
    expect(vary('X-Units')).to.equal('x-units');
    expect(vary('X-Units', ['x-units'])).to.equal(undefined);
    expect(vary('accept, *', ['accept'])).to.equal('*');
    expect(vary('*', ['*'])).to.equal('*');
    expect(vary(['Accept-Language', 'Accept'], ['accept-language'])).to.equal('accept');
    expect(vary('Accept-Encoding')).to.equal(undefined); // an unencoded body suits every request
    expect(unhonouredVary(toStored(200, {}, body, policy)!, [])).to.equal(undefined);
  });

  it('stores the Content-Length of a HEAD response only, and a HEAD replay announces it', () => {
    const headers = { 'content-type': 'application/json', 'content-length': '24' };
    expect(toStored(200, headers, Buffer.alloc(0), policy)!.h).to.deep.equal([['content-type', 'application/json']]);
    // Express sends no body to HEAD: the stored body is empty, the length is the GET's.
    const head = toStored(200, headers, Buffer.alloc(0), policy, true)!;
    expect(head.h).to.deep.include(['content-length', '24']);
    expect(replayHeaders(head, 'HIT', 0, [], true)).to.deep.include(['content-length', '24']);
    // Fastify passes the HEAD response's full body: its length is the body's.
    const full = toStored(200, { 'content-type': 'application/json' }, body, policy, true)!;
    expect(replayHeaders(full, 'HIT', 0, [], true)).to.deep.include(['content-length', '11']);
  });

  it('replays stored headers, merges Vary, and adds Content-Length, X-Cache and Age', () => {
    const stored = toStored(200, { 'content-type': 'text/plain', vary: 'Accept' }, body, policy)!;
    expect(replayHeaders(stored, 'HIT', 42, ['authorization'])).to.deep.equal([
      ['content-type', 'text/plain'],
      ['vary', 'Accept, authorization'],
      ['content-length', '11'],
      ['x-cache', 'HIT'],
      ['age', '42'],
    ]);
    expect(replayHeaders(stored, 'MISS', 0, [])).to.deep.include(['x-cache', 'MISS']);
    expect(replayHeaders(stored, 'MISS', 0, []).some(([name]) => name === 'age')).to.equal(false);
    const noContent = toStored(204, {}, Buffer.alloc(0), policy)!;
    expect(replayHeaders(noContent, 'HIT', 0, []).some(([name]) => name === 'content-length')).to.equal(false);
    expect(mergeVary(['Accept, accept-language', 'ACCEPT'], ['Accept-Language', 'cookie'])).to.equal(
      'Accept, accept-language, cookie',
    );
  });
});

describe('src/http: conditional requests', () => {
  const stored: Array<[string, string]> = [
    ['etag', '"v1"'],
    ['last-modified', 'Tue, 01 Jul 2025 10:00:00 GMT'],
  ];
  it('matches If-None-Match against the stored ETag, weakly, and If-Modified-Since against Last-Modified', () => {
    expect(isNotModified({}, stored)).to.equal(false);
    expect(isNotModified({ 'if-none-match': '"v1"' }, stored)).to.equal(true);
    expect(isNotModified({ 'if-none-match': '"v0", W/"v1"' }, stored)).to.equal(true);
    expect(isNotModified({ 'if-none-match': '*' }, stored)).to.equal(true);
    expect(isNotModified({ 'if-none-match': '"v2"' }, stored)).to.equal(false);
    expect(isNotModified({ 'if-none-match': '"v1"' }, [])).to.equal(false);
    expect(isNotModified({ 'if-modified-since': 'Tue, 01 Jul 2025 10:00:00 GMT' }, stored)).to.equal(true);
    expect(isNotModified({ 'if-modified-since': 'Wed, 02 Jul 2025 10:00:00 GMT' }, stored)).to.equal(true);
    expect(isNotModified({ 'if-modified-since': 'Mon, 30 Jun 2025 10:00:00 GMT' }, stored)).to.equal(false);
    expect(isNotModified({ 'if-modified-since': 'not a date' }, stored)).to.equal(false);
    expect(isNotModified({ 'if-modified-since': 'Wed, 02 Jul 2025 10:00:00 GMT' }, [])).to.equal(false);
    expect(isNotModified({ 'if-none-match': '"v1"', 'cache-control': 'no-cache' }, stored)).to.equal(false);
  });
});

describe('src/http: options and admin', () => {
  it('validates route options once, naming the option and the route', () => {
    const bad: Array<[object, string]> = [
      [{ kind: 'has space' }, 'route.kind'],
      [{ methods: [] }, 'route.methods'],
      [{ methods: ['DELETE'] }, 'route.methods'],
      [{ vary: 'authorization' }, 'route.vary'],
      [{ headers: ['bad header'] }, 'route.headers'],
      [{ key: 'id' }, 'route.key'],
      [{ ttl: -1 }, 'route.ttl'],
      [{ staleWhileRevalidate: 'later' }, 'route.staleWhileRevalidate'],
      [{ public: 'yes' }, 'route.public'],
      [{ tags: 'a' }, 'route.tags'],
      [{ tll: 5 }, 'route.tll'],
    ];
    for (const [options, setting] of bad) {
      expect(() => resolveRouteOptions(options, 'route', 'GET /x'), setting)
        .to.throw(ConfigError, '(route GET /x)')
        .with.property('setting', setting);
    }
    expect(() => resolveRouteOptions(null as never, 'route')).to.throw(ConfigError);
    expect(resolveRouteOptions(true, 'route').methods).to.deep.equal(new Set(['GET', 'HEAD']));
  });

  it("rejects an unknown route option with the nearest known one: unknown option 'ttll', did you mean 'ttl'?", () => {
    expect(() => resolveRouteOptions({ ttll: '5m' } as never, 'config.cache', 'GET /x'))
      .to.throw(ConfigError, "unknown option 'ttll'; did you mean 'ttl'? (route GET /x)")
      .with.property('setting', 'config.cache.ttll');
    expect(() => resolveRouteOptions({ allownocache: true } as never, 'cacheRoute')).to.throw(
      ConfigError,
      "did you mean 'allowNoCache'?",
    );
    // nothing close: the known options are listed
    expect(() => resolveRouteOptions({ expiry: '5m' } as never, 'cacheRoute')).to.throw(
      ConfigError,
      "unknown option 'expiry'; known options: kind, ttl, key, tags, methods, vary, public, allowNoCache",
    );
  });

  it('gives one stable entry options object per route', () => {
    const r = route({ ttl: '5m', tags: ['a'] });
    expect(r.entry).to.equal(r.entry);
    expect(r.entry).to.include({ kind: 'http', ttl: '5m' });
  });

  it('reads bearer tokens and compares them in constant time', async () => {
    expect(bearerToken({ authorization: 'Bearer abc' })).to.equal('abc');
    expect(bearerToken({ authorization: '  bearer   abc ' })).to.equal('abc');
    expect(bearerToken({ authorization: 'Basic abc' })).to.equal(undefined);
    expect(bearerToken({ authorization: 'Bearer a b' })).to.equal(undefined);
    const check = resolveAdmin({ token: 'x'.repeat(16) }, 'admin')!;
    expect(await check({ authorization: `Bearer ${'x'.repeat(16)}` }, null)).to.equal(true);
    expect(await check({ authorization: `Bearer ${'x'.repeat(15)}` }, null)).to.equal(false);
    expect(await check({}, null)).to.equal(false);
    const throwing = resolveAdmin(
      {
        authorize: () => {
          throw new Error('down');
        },
      },
      'admin',
    )!;
    expect(await throwing({}, null)).to.equal(false);
    expect(() => resolveAdmin({ token: 'short' }, 'admin')).to.throw(ConfigError);
    expect(() => resolveAdmin({ token: 'x'.repeat(16), authorize: () => true } as never, 'admin')).to.throw(
      ConfigError,
    );
    expect(resolveAdmin(undefined, 'admin')).to.equal(undefined);
  });

  it('normalises prefixes and parses invalidation targets', () => {
    expect(normalisePrefix('/cache/', 'p')).to.equal('/cache');
    expect(normalisePrefix('', 'p')).to.equal('');
    expect(() => normalisePrefix('cache', 'p')).to.throw(ConfigError);
    expect(parseTarget({ kind: 'price', key: ['a', 1] })).to.deep.equal({ kind: 'price', key: ['a', 1] });
    expect(parseTarget({ tags: ['t'] })).to.deep.equal({ tags: ['t'] });
    expect(parseTarget(null)).to.be.a('string');
    expect(parseTarget({ all: true, key: 1 })).to.be.a('string');
  });
});
