import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import { CONTENT_SECURITY_POLICY } from '../../src/web/security.js';
import { FLASH_COOKIE, SESSION_COOKIE } from '../../src/web/session.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { startServer, useServer } from '../helpers/server.js';
import { snapshot, Tally } from './support.js';

const tally = new Tally();
const server = useServer('sqlite', { env: { TRUST_PROXY: 'true' } });
let api: SimClient;
const web = () => new WebClient(server.webUrl);

before(async () => {
  await server.ready; // a root-level hook: Node 20 does not wait for useServer's before
  api = new SimClient(server.apiUrl);
  for (const name of ['ann', 'bob', 'carl']) {
    assert.equal((await api.register(name, `${name}@x.dk`, 'pw')).status, 204);
  }
  await api.tweet('bob', 'hello from bob');
  await api.follow('ann', 'carl');
});
after(async (t) => {
  tally.report(t as unknown as TestContext, 'web defences');
});

/** The Set-Cookie line of `name` in `headers`. */
const setCookie = (headers: Headers, name: string) =>
  headers.getSetCookie().find((line) => line.startsWith(`${name}=`));

describe('security headers', () => {
  test("every kind of page carries CSP with scripts from 'self' only, frame denial, nosniff and a referrer policy", async () => {
    const client = web();
    await client.login('ann', 'pw');
    const anonymous = web();
    const pages: [WebClient, string, string, number][] = [
      [anonymous, 'GET', '/public', 200],
      [anonymous, 'GET', '/login', 200],
      [anonymous, 'GET', '/register', 200],
      [anonymous, 'GET', '/bob', 200],
      [anonymous, 'GET', '/nobody-here', 404],
      [anonymous, 'GET', '/public?before=x', 400],
      [anonymous, 'GET', '/static/style.css', 200],
      [anonymous, 'POST', '/add_message', 401],
      [anonymous, 'GET', '/', 302],
      [client, 'GET', '/', 200],
      [client, 'GET', '/bob', 200],
      [client, 'POST', '/login', 302],
    ];
    for (const [c, method, path, status] of pages) {
      const res = await c.request(method, path);
      assert.equal(res.status, status, `${method} ${path}`);
      const h = res.headers;
      assert.equal(h.get('content-security-policy'), CONTENT_SECURITY_POLICY, path);
      assert.equal(h.get('x-frame-options'), 'DENY', path);
      assert.equal(h.get('x-content-type-options'), 'nosniff', path);
      assert.equal(h.get('referrer-policy'), 'same-origin', path);
      assert.equal(h.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
      if (c === client && path !== '/static/style.css') {
        assert.equal(h.get('cache-control'), 'private, no-store', `${path} signed in`);
      }
      tally.add('headers');
    }
    const csp = CONTENT_SECURITY_POLICY;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    // The composer's one script is served by MiniTwit (contract change: docs/contract.md);
    // nothing inline, nothing from elsewhere, no eval.
    assert.match(csp, /(^|; )script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|strict-dynamic|\*/);
    const big = await anonymous.request(
      'POST',
      '/login',
      new URLSearchParams({ username: 'x'.repeat(20_000) }),
    );
    assert.equal(big.status, 413);
    assert.equal(big.headers.get('content-security-policy'), csp);
  });

  test('behind a TLS proxy: HSTS on every page and Secure on every cookie', async () => {
    const tls = { 'x-forwarded-proto': 'https' };
    const client = web();
    const page = await client.get('/login', tls);
    assert.match(page.headers.get('strict-transport-security') ?? '', /^max-age=\d{7,}/);
    const res = await client.request(
      'POST',
      '/login',
      new URLSearchParams({ username: 'ann', password: 'pw' }),
      tls,
    );
    assert.equal(res.status, 302);
    const lines = res.headers.getSetCookie();
    assert.ok(lines.length >= 2, lines.join('\n'));
    for (const line of lines) assert.match(line, /;\s*Secure/i, line);
    tally.add('headers', 2);
  });

  test('the API answers with nosniff and a deny-all CSP too', async () => {
    const res = await api.get('/latest');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    tally.add('headers');
  });
});

describe('sessions', () => {
  test('cookie flags: HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP, signed', async () => {
    const client = web();
    const res = await client.post('/login', { username: 'ann', password: 'pw' });
    assert.equal(res.status, 302);
    const line = setCookie(res.headers, SESSION_COOKIE) ?? '';
    assert.match(line, /HttpOnly/i);
    assert.match(line, /SameSite=Lax/i);
    assert.match(line, /Path=\//);
    assert.doesNotMatch(line, /Secure/i);
    assert.match(setCookie(res.headers, FLASH_COOKIE) ?? '', /HttpOnly/i);
    assert.equal(setCookie(res.headers, 'mt_csrf'), undefined, 'no CSRF token cookie any more');
    // The stored session id is a digest: the cookie's token is nowhere in the database.
    const token = decodeURIComponent(client.cookies.get(SESSION_COOKIE) ?? '').split('.')[0] ?? '';
    assert.ok(token.length >= 40);
    const rows = await server.app.database.db.selectFrom('sessions').selectAll().execute();
    assert.ok(rows.length > 0 && rows.every((r) => r.id !== token));
    tally.add('session', 2);
  });

  test('fixation: a planted session cookie, forged or validly signed, never becomes a sign-in', async () => {
    const planted = [
      'attacker-chosen-token',
      server.app.web.signCookie('attacker-chosen-token'),
      server.app.web.signCookie('A'.repeat(43)),
      `${server.app.web.signCookie('x')}tampered`,
    ];
    for (const value of planted) {
      const victim = web();
      victim.cookies.set(SESSION_COOKIE, encodeURIComponent(value));
      const home = await victim.get('/');
      assert.equal(home.status, 302, 'the planted cookie signs no one in');
      assert.equal(victim.cookies.has(SESSION_COOKIE), false, 'and it is cleared');
      victim.cookies.set(SESSION_COOKIE, encodeURIComponent(value));
      const login = await victim.post('/login', { username: 'ann', password: 'pw' });
      assert.equal(login.status, 302);
      const fresh = victim.cookies.get(SESSION_COOKIE) ?? '';
      assert.ok(fresh !== '' && fresh !== encodeURIComponent(value), 'a new session id');
      // The attacker still holding the planted value gets nothing.
      const attacker = web();
      attacker.cookies.set(SESSION_COOKIE, encodeURIComponent(value));
      assert.equal((await attacker.get('/')).status, 302);
      tally.add('session');
    }
  });

  test('each sign-in gets a new session id; signing in again ends the old one', async () => {
    const client = web();
    await client.login('ann', 'pw');
    const first = client.cookies.get(SESSION_COOKIE);
    const copy = new WebClient(server.webUrl);
    for (const [k, v] of client.cookies) copy.cookies.set(k, v);
    assert.equal((await copy.get('/')).status, 200);
    // Sign out and in again: a different id, and the first is dead.
    await client.get('/logout');
    await client.login('ann', 'pw');
    assert.notEqual(client.cookies.get(SESSION_COOKIE), first);
    assert.equal((await copy.get('/')).status, 302);
    tally.add('session');
  });

  test('logout really ends the session: a copied cookie stops working, on GET and POST', async () => {
    for (const how of ['GET', 'POST'] as const) {
      const client = web();
      await client.login('ann', 'pw');
      const copied = new Map(client.cookies);
      const out = how === 'GET' ? await client.get('/logout') : await client.post('/logout', {});
      assert.equal(out.status, 302, how);
      assert.equal(out.location, '/public');
      assert.equal(client.cookies.has(SESSION_COOKIE), false, 'the browser forgets the cookie');
      const thief = web();
      for (const [k, v] of copied) thief.cookies.set(k, v);
      assert.equal((await thief.get('/')).status, 302, `${how}: the old cookie is dead`);
      const post = await thief.post('/add_message', { text: 'as ann?' });
      assert.equal(post.status, 401);
      tally.add('session');
    }
  });
});

describe('CSRF', () => {
  /**
   * Browser-shaped forgeries: what a browser sends when a page of another origin posts a form
   * to MiniTwit. The server runs with TRUST_PROXY=true, so the proxy's X-Forwarded-Host and
   * -Proto name the origin MiniTwit is served at.
   */
  const forgeries = (): Record<string, Record<string, string>> => {
    const host = new URL(server.webUrl).host;
    return {
      'Sec-Fetch-Site: cross-site': {
        'sec-fetch-site': 'cross-site',
        origin: 'https://evil.example',
      },
      'Sec-Fetch-Site: same-site, a sibling origin': {
        'sec-fetch-site': 'same-site',
        origin: `http://${new URL(server.webUrl).hostname}:1`,
      },
      'old browser, foreign Origin': { origin: 'https://evil.example' },
      'old browser, Origin: null': { origin: 'null' },
      'behind a TLS proxy, Origin of plain HTTP': {
        origin: `http://${host}`,
        'x-forwarded-proto': 'https',
      },
      'behind a proxy, Origin of the internal host': {
        origin: `http://${host}`,
        'x-forwarded-host': 'minitwit.example',
      },
    };
  };

  test('every state-changing POST a browser sends from another origin is refused and changes nothing', async () => {
    const victim = web();
    await victim.login('ann', 'pw');
    const anonymous = web();
    await anonymous.get('/login');
    const before = await snapshot(server.app);
    const sessionsBefore = await server.app.database.db
      .selectFrom('sessions')
      .select('id')
      .execute();
    const actions: [WebClient, string, Record<string, string>][] = [
      [anonymous, '/login', { username: 'ann', password: 'pw' }],
      [anonymous, '/register', { username: 'eve', email: 'e@x', password: 'p', password2: 'p' }],
      [victim, '/add_message', { text: 'forged message' }],
      [victim, '/bob/follow', {}],
      [victim, '/carl/unfollow', {}],
      [victim, '/logout', {}],
    ];
    for (const [client, path, fields] of actions) {
      for (const [kind, headers] of Object.entries(forgeries())) {
        const res = await client.post(path, fields, headers);
        assert.equal(res.status, 403, `${path}, ${kind}: ${res.status}`);
        assert.equal(res.headers.get('content-type')?.startsWith('text/html'), true);
        assert.match(res.html, /came from another site/, `${path}, ${kind}`);
        tally.add('csrf');
      }
    }
    assert.deepEqual(await snapshot(server.app), before, 'no data changed');
    assert.equal((await victim.get('/')).status, 200, 'the victim is still signed in');
    const sessionsAfter = await server.app.database.db
      .selectFrom('sessions')
      .select('id')
      .execute();
    assert.equal(sessionsAfter.length, sessionsBefore.length, 'no session made or ended');
    assert.equal(anonymous.cookies.has(SESSION_COOKIE), false);
    // Control: the same request from our own pages, or from no browser at all, goes through.
    const host = new URL(server.webUrl).host;
    for (const headers of [
      { 'sec-fetch-site': 'same-origin', origin: server.webUrl },
      { origin: server.webUrl },
      {
        origin: 'https://minitwit.example',
        'x-forwarded-host': 'minitwit.example',
        'x-forwarded-proto': 'https',
      },
      { 'sec-fetch-site': 'none' },
      {},
    ] as Record<string, string>[]) {
      const ok = await victim.post('/carl/unfollow', {}, headers);
      assert.equal(ok.status, 302, `${JSON.stringify(headers)} (${host})`);
      assert.equal(await server.app.domain.isFollowing(1, 3), false);
      await server.app.domain.follow(1, 3);
    }
  });

  test('a cross-site GET to follow, unfollow or logout only shows a confirmation', async () => {
    const victim = web();
    await victim.login('ann', 'pw');
    const before = await snapshot(server.app);
    const crossSite: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { referer: 'https://evil.example/page' },
      { referer: 'not a url' },
    ];
    for (const headers of crossSite) {
      for (const path of ['/bob/follow', '/carl/unfollow', '/logout']) {
        const res = await victim.get(path, headers);
        assert.equal(res.status, 200, `${path} ${JSON.stringify(headers)}`);
        assert.match(res.html, /<form class="card[^"]*" method="post" action="[^"]+">/);
        assert.doesNotMatch(res.html, /_csrf/, 'no token: the POST is checked by its origin');
        tally.add('csrf');
      }
    }
    assert.deepEqual(await snapshot(server.app), before, 'no data changed');
    assert.equal((await victim.get('/')).status, 200, 'still signed in');
    // The same links from our own pages still act, as the reference's do.
    const own = await victim.get('/bob/follow', { 'sec-fetch-site': 'same-origin' });
    assert.equal(own.status, 302);
    assert.equal(await server.app.domain.isFollowing(1, 2), true);
  });
});

describe('rotating SESSION_SECRET', () => {
  test('with the old value in SESSION_SECRET_PREVIOUS sign-ins survive; without it they end', async () => {
    const oldSecret = 'old-secret-old-secret-old-secret-0001';
    const newSecret = 'new-secret-new-secret-new-secret-0002';
    const first = await startServer('sqlite', { env: { SESSION_SECRET: oldSecret } });
    const database = first.database;
    try {
      await new SimClient(first.apiUrl).register('rotor', 'r@x.dk', 'pw');
      const client = new WebClient(first.webUrl);
      await client.login('rotor', 'pw');
      await first.stop();
      const withPrevious = await startServer('sqlite', {
        database,
        env: { SESSION_SECRET: newSecret, SESSION_SECRET_PREVIOUS: oldSecret },
      });
      const cookies = new Map(client.cookies);
      const rotated = new WebClient(withPrevious.webUrl);
      for (const [k, v] of cookies) rotated.cookies.set(k, v);
      assert.equal((await rotated.get('/')).status, 200, 'still signed in');
      // New sign-ins are signed with the new secret only.
      const fresh = new WebClient(withPrevious.webUrl);
      await fresh.login('rotor', 'pw');
      await withPrevious.stop();
      const withoutPrevious = await startServer('sqlite', {
        database,
        env: { SESSION_SECRET: newSecret },
      });
      const stale = new WebClient(withoutPrevious.webUrl);
      for (const [k, v] of cookies) stale.cookies.set(k, v);
      assert.equal((await stale.get('/')).status, 302, 'the old signature is refused');
      const kept = new WebClient(withoutPrevious.webUrl);
      for (const [k, v] of fresh.cookies) kept.cookies.set(k, v);
      assert.equal((await kept.get('/')).status, 200, 'new cookies work');
      await withoutPrevious.stop();
      tally.add('session', 3);
    } finally {
      await first.close();
    }
  });
});
