import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

const title = (html: string) => /<title>([^<]*)<\/title>/.exec(html)?.[1];
const count = (html: string, needle: string) => html.split(needle).length - 1;

forEachDatabase('web app', (kind) => {
  const server = useServer(kind);
  let api: SimClient;
  const web = () => new WebClient(server.webUrl);
  before(async () => {
    api = new SimClient(server.apiUrl);
  });

  describe('anonymous visitor', () => {
    test('/ redirects to /public; the public timeline is empty at first', async () => {
      const home = await web().get('/');
      assert.equal(home.status, 302);
      assert.equal(home.location, '/public');
      const pub = await web().get('/public');
      assert.equal(pub.status, 200);
      assert.equal(title(pub.html), 'Public Timeline | MiniTwit');
      assert.match(pub.html, /There's no message so far\./);
      for (const link of ['public timeline', 'sign up', 'sign in'])
        assert.ok(pub.html.includes(link), link);
      assert.ok(!pub.html.includes('my timeline'));
      assert.ok(!pub.html.includes('sign out'));
    });

    test('state changes need a sign-in: 401', async () => {
      await api.register('someone');
      const client = web();
      assert.equal((await client.post('/add_message', { text: 'hi' })).status, 401);
      assert.equal((await client.get('/someone/follow')).status, 401);
      assert.equal((await client.get('/someone/unfollow')).status, 401);
      assert.equal((await client.post('/someone/follow', {})).status, 401);
      assert.equal((await api.get('/msgs/someone')).json.length, 0);
    });

    test('unknown pages and users are 404 pages', async () => {
      const res = await web().get('/no-such-user');
      assert.equal(res.status, 404);
      assert.equal(title(res.html), 'Not Found | MiniTwit');
      assert.equal((await web().get('/a/b/c')).status, 404);
    });
  });

  describe('registration and sign-in', () => {
    test('register shows the first failing check and keeps what was typed', async () => {
      const client = web();
      const cases: [Record<string, string>, string][] = [
        [
          { username: '', email: 'a@b', password: 'x', password2: 'x' },
          'You have to enter a username',
        ],
        [
          { username: 'ann', email: 'nope', password: 'x', password2: 'x' },
          'You have to enter a valid email address',
        ],
        [
          { username: 'ann', email: '', password: 'x', password2: 'x' },
          'You have to enter a valid email address',
        ],
        [
          { username: 'ann', email: 'ann@x.dk', password: '', password2: '' },
          'You have to enter a password',
        ],
        [
          { username: 'ann', email: 'ann@x.dk', password: 'x', password2: 'y' },
          'The two passwords do not match',
        ],
        [
          { username: 'someone', email: 'ann@x.dk', password: 'x', password2: 'x' },
          'The username is already taken',
        ],
      ];
      for (const [fields, error] of cases) {
        const res = await client.post('/register', fields);
        assert.equal(res.status, 200, error);
        assert.equal(title(res.html), 'Sign Up | MiniTwit');
        assert.ok(res.html.includes(error), error);
        if (fields.username)
          assert.ok(res.html.includes(`value="${fields.username}"`), 'username kept');
        if (fields.email) assert.ok(res.html.includes(`value="${fields.email}"`), 'email kept');
      }
    });

    test('register, sign in, flashes shown once, signed-in users bounced from the forms', async () => {
      const client = web();
      const registered = await client.post('/register', {
        username: 'ann',
        email: 'ann@x.dk',
        password: 'pw',
        password2: 'pw',
      });
      assert.equal(registered.status, 302);
      assert.equal(registered.location, '/login');
      const login = await client.get('/login');
      assert.ok(login.html.includes('You were successfully registered and can login now'));
      assert.ok(
        !(await client.get('/login')).html.includes('successfully registered'),
        'flash shown once',
      );

      const bad = await client.post('/login', { username: 'nobody', password: 'pw' });
      assert.equal(bad.status, 200);
      assert.ok(bad.html.includes('Invalid username'));
      const wrong = await client.post('/login', { username: 'ann', password: 'nope' });
      assert.ok(wrong.html.includes('Invalid password'));
      assert.ok(wrong.html.includes('value="ann"'), 'username kept');

      const ok = await client.post('/login', { username: 'ann', password: 'pw' });
      assert.equal(ok.status, 302);
      assert.equal(ok.location, '/');
      const home = await client.get('/');
      assert.equal(title(home.html), 'My Timeline | MiniTwit');
      assert.ok(home.html.includes('You were logged in'));
      for (const link of ['my timeline', 'public timeline', 'sign out [ann]'])
        assert.ok(home.html.includes(link), link);
      for (const path of ['/login', '/register']) {
        const res = await client.get(path);
        assert.equal(res.status, 302, path);
        assert.equal(res.location, '/');
      }
      assert.equal(
        (await client.post('/login', { username: 'ann', password: 'pw' })).location,
        '/',
      );
    });

    test('forms a browser sends from another site are refused and change nothing', async () => {
      const client = web();
      await client.get('/register');
      const forged = await client.post(
        '/register',
        { username: 'mallory', email: 'm@x', password: 'x', password2: 'x' },
        { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      );
      assert.equal(forged.status, 403);
      assert.equal((await api.get('/msgs/mallory')).status, 404, 'no user created');
      const oldBrowser = await client.post(
        '/login',
        { username: 'ann', password: 'pw' },
        { origin: 'https://evil.example' },
      );
      assert.equal(oldBrowser.status, 403);
      assert.ok(!client.cookies.has('mt_session'));
    });

    test('sign out ends the session for good, even for a copied cookie', async () => {
      const client = web();
      await client.login('ann', 'pw');
      const copied = new Map(client.cookies);
      const out = await client.get('/logout');
      assert.equal(out.status, 302);
      assert.equal(out.location, '/public');
      const pub = await client.get('/public');
      assert.ok(pub.html.includes('You were logged out'));
      assert.ok(pub.html.includes('sign in'));
      const thief = web();
      for (const [k, v] of copied) thief.cookies.set(k, v);
      const home = await thief.get('/');
      assert.equal(home.status, 302, 'the old cookie no longer signs anyone in');
      assert.equal(home.location, '/public');
    });

    test('a legacy Werkzeug hash logs in and is upgraded to argon2id', async () => {
      // pbkdf2:sha256:260000 of "legacy-pass" with salt "saltsalt", as Werkzeug writes it.
      const { pbkdf2Sync } = await import('node:crypto');
      const hex = pbkdf2Sync('legacy-pass', 'saltsalt', 260000, 32, 'sha256').toString('hex');
      await server.app.store.createUser({
        username: 'old timer',
        email: 'old@x.dk',
        pwHash: `pbkdf2:sha256:260000$saltsalt$${hex}`,
      });
      const client = web();
      assert.ok((await client.login('old timer', 'wrong')).html.includes('Invalid password'));
      const res = await client.login('old timer', 'legacy-pass');
      assert.ok(res.html.includes('You were logged in'));
      const stored = await server.app.store.findUserByName('old timer');
      assert.match(stored?.pw_hash ?? '', /^\$argon2id\$/);
      const again = web();
      assert.ok(
        (await again.login('old timer', 'legacy-pass')).html.includes('You were logged in'),
      );
    });
  });

  describe('messages, timelines and follows', () => {
    test('posting: empty text stores nothing; text is stored, flashed and escaped', async () => {
      const client = web();
      await client.register('poster', 'pw', 'Poster@Example.COM');
      await client.login('poster', 'pw');
      const empty = await client.post('/add_message', { text: '' });
      assert.equal(empty.status, 302);
      assert.equal(empty.location, '/');
      assert.equal((await api.get('/msgs/poster')).json.length, 0);
      const forged = await client.post(
        '/add_message',
        { text: 'forged' },
        { 'sec-fetch-site': 'same-site', origin: `http://other.${new URL(server.webUrl).host}` },
      );
      assert.equal(forged.status, 403);
      assert.equal((await api.get('/msgs/poster')).json.length, 0);

      const posted = await client.submit('/add_message', { text: 'hello <x> & "you"' });
      assert.ok(posted.html.includes('Your message was recorded'));
      assert.ok(posted.html.includes('hello &lt;x&gt; &amp; &#34;you&#34;'));
      assert.ok(!posted.html.includes('<x>'));
      // Avatars are drawn by MiniTwit itself by default (contract change: no Gravatar request).
      const md5 = createHash('md5').update('poster@example.com').digest('hex');
      assert.ok(!posted.html.includes(md5), 'no e-mail hash is handed to a third party');
      assert.ok(!posted.html.includes('gravatar.com'));
      assert.match(
        posted.html,
        /<span class="avatar" aria-hidden="true"><svg [^>]*>.*>P<\/text><\/svg>/,
      );
      // The reference's time text stays, labelled UTC, with the relative time beside it.
      assert.match(
        posted.html,
        /\d{4}-\d{2}-\d{2} @ \d{2}:\d{2} UTC<\/time> <span class="ago">\(just now\)/,
      );
      assert.ok(posted.html.includes('href="/poster"'));
      for (const page of ['/public', '/poster']) {
        assert.ok((await client.get(page)).html.includes('hello &lt;x&gt;'), page);
      }
      const tooLong = await client.post('/add_message', { text: 'x'.repeat(1001) });
      assert.equal(tooLong.status, 400);
      assert.ok(tooLong.html.includes('at most 1000 characters'));
    });

    test('profile pages, follow and unfollow through the reference GET links', async () => {
      await api.register('Bob Builder');
      await api.tweet('Bob Builder', 'bob was here');
      const client = web();
      await client.register('watcher', 'pw');
      await client.login('watcher', 'pw');
      const self = await client.get('/watcher');
      assert.equal(title(self.html), 'watcher&#39;s Timeline | MiniTwit');
      assert.ok(self.html.includes('This is you!'));

      const bob = await client.get('/Bob%20Builder');
      assert.equal(bob.status, 200);
      assert.ok(bob.html.includes('You are not yet following this user.'));
      assert.ok(bob.html.includes('Follow user'));
      assert.ok(!(await client.get('/')).html.includes('bob was here'));

      const follow = await client.get('/Bob%20Builder/follow');
      assert.equal(follow.status, 302);
      assert.equal(follow.location, '/Bob%20Builder');
      const after = await client.get('/Bob%20Builder');
      assert.ok(after.html.includes('You are now following &#34;Bob Builder&#34;'));
      assert.ok(after.html.includes('You are currently following this user.'));
      assert.ok(after.html.includes('Unfollow user'));
      assert.ok(
        (await client.get('/')).html.includes('bob was here'),
        'followed message on my timeline',
      );

      const unfollow = await client.visit('/Bob%20Builder/unfollow');
      assert.ok(unfollow.html.includes('You are no longer following &#34;Bob Builder&#34;'));
      assert.ok(unfollow.html.includes('You are not yet following this user.'));
      assert.ok(!(await client.get('/')).html.includes('bob was here'));
      assert.equal((await client.get('/nobody-here/follow')).status, 404);
    });

    test('a follow link from another site only asks; the button posts from our own page', async () => {
      const client = web();
      await client.login('watcher', 'pw');
      const crossSite = await client.get('/Bob%20Builder/follow', {
        'sec-fetch-site': 'cross-site',
      });
      assert.equal(crossSite.status, 200);
      assert.ok(crossSite.html.includes('Follow user'));
      const oldBrowser = await client.get('/Bob%20Builder/follow', {
        referer: 'https://evil.example/x',
      });
      assert.equal(oldBrowser.status, 200);
      assert.deepEqual((await api.get('/fllws/watcher')).json, { follows: [] });

      const forged = await client.post(
        '/Bob%20Builder/follow',
        {},
        { 'sec-fetch-site': 'cross-site' },
      );
      assert.equal(forged.status, 403);
      assert.deepEqual((await api.get('/fllws/watcher')).json, { follows: [] });
      const res = await client.post(
        '/Bob%20Builder/follow',
        {},
        { 'sec-fetch-site': 'same-origin', origin: server.webUrl },
      );
      assert.equal(res.status, 302);
      assert.deepEqual((await api.get('/fllws/watcher')).json, { follows: ['Bob Builder'] });
      const sameSite = await client.get('/Bob%20Builder/unfollow', {
        'sec-fetch-site': 'same-origin',
      });
      assert.equal(sameSite.status, 302);
      assert.deepEqual((await api.get('/fllws/watcher')).json, { follows: [] });
    });

    test('timelines page by 30, newest first, and pages stay put while messages arrive', async () => {
      await api.register('pager');
      for (let i = 1; i <= 65; i++)
        assert.equal((await api.tweet('pager', `page msg ${i}`)).status, 204);
      const client = web();
      const first = await client.get('/pager');
      assert.equal(count(first.html, 'class="message"'), 30);
      assert.ok(first.html.indexOf('page msg 65<') < first.html.indexOf('page msg 64<'));
      const next = /href="\?before=(\d+)"/.exec(first.html)?.[1];
      assert.ok(next, 'a link to older messages');
      await api.tweet('pager', 'page msg 66');
      const second = await client.get(`/pager?before=${next}`);
      assert.equal(count(second.html, 'class="message"'), 30);
      assert.ok(second.html.includes('page msg 35<'));
      assert.ok(second.html.includes('page msg 6<'));
      const next2 = /href="\?before=(\d+)"/.exec(second.html)?.[1];
      const third = await client.get(`/pager?before=${next2}`);
      assert.equal(count(third.html, 'class="message"'), 5);
      assert.ok(!/href="\?before=/.test(third.html), 'no link past the last page');
      const pub = await client.get('/public');
      assert.equal(count(pub.html, 'class="message"'), 30);
      for (const bad of ['abc', '-1', '0', '1e5']) {
        assert.equal((await client.get(`/public?before=${bad}`)).status, 400, bad);
      }
    });

    test('flagged messages are hidden everywhere', async () => {
      await api.register('flaggy');
      await api.tweet('flaggy', 'visible one');
      await api.tweet('flaggy', 'hidden one');
      const ids: number[] = [];
      for await (const m of server.app.domain.listMessages())
        if (m.text === 'hidden one') ids.push(m.messageId);
      await server.app.domain.setFlagged(ids, true);
      const client = web();
      for (const page of ['/public', '/flaggy']) {
        const html = (await client.get(page)).html;
        assert.ok(html.includes('visible one'));
        assert.ok(!html.includes('hidden one'), page);
      }
      assert.deepEqual(
        (await api.get('/msgs/flaggy')).json.map((m: { content: string }) => m.content),
        ['visible one'],
      );
    });
  });

  test('bad bodies get an error page, never a 500', async () => {
    const client = web();
    await client.login('ann', 'pw');
    const repeated = await client.request(
      'POST',
      '/add_message',
      new URLSearchParams([
        ['text', 'a'],
        ['text', 'b'],
      ]),
    );
    assert.ok([400, 403].includes(repeated.status), String(repeated.status));
    const huge = await client.request(
      'POST',
      '/add_message',
      new URLSearchParams({ text: 'x'.repeat(100_000) }),
    );
    assert.equal(huge.status, 413);
    assert.ok(huge.html.includes('MiniTwit'));
    const json = await client.request('POST', '/login', undefined, {
      'content-type': 'application/json',
    });
    assert.ok(json.status >= 400 && json.status < 500);
  });
});
