import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, test } from 'node:test';
import { FormClient, type WebAnswer } from '../../src/sim/web-client.js';
import { SimClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';
import { snapshot } from '../security/support.js';

/**
 * MiniTwit as the course's own web tests drive it: a `requests`-style session (cookie jar,
 * plain form posts, no token, none of a browser's headers, redirects followed) checking the
 * reference's texts in the HTML, quotes escaped as &#34;. Written for this project; the course's
 * suite itself is not copied here.
 */
class CourseStyleSession {
  readonly http: FormClient;
  constructor(base: string) {
    this.http = new FormClient(base);
  }
  /** The body of the page a `requests` call lands on after redirects. */
  private async land(chain: Promise<WebAnswer[]>): Promise<string> {
    const answers = await chain;
    return (answers[answers.length - 1] as WebAnswer).body;
  }
  register(username: string, password: string, password2?: string, email?: string) {
    return this.land(
      this.http.submit('/register', {
        username,
        password,
        password2: password2 ?? password,
        email: email ?? `${username}@example.com`,
      }),
    );
  }
  login(username: string, password: string) {
    return this.land(this.http.submit('/login', { username, password }));
  }
  logout() {
    return this.land(this.http.visit('/logout'));
  }
  addMessage(text: string) {
    return this.land(this.http.submit('/add_message', { text }));
  }
  get(path: string) {
    return this.land(this.http.visit(path));
  }
}

describe('the course-style client sends no browser headers', () => {
  test('no Origin, no Sec-Fetch-*, no Referer: only what requests would send', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const probe = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    try {
      const client = new FormClient(`http://127.0.0.1:${(probe.address() as AddressInfo).port}`);
      await client.get('/');
      await client.post('/register', { username: 'x' });
      for (const headers of seen) {
        const names = Object.keys(headers);
        assert.deepEqual(
          names.filter((n) => n === 'origin' || n === 'referer' || n.startsWith('sec-fetch-')),
          [],
        );
      }
      assert.equal(seen[1]?.['content-type'], 'application/x-www-form-urlencoded');
    } finally {
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    }
  });
});

forEachDatabase('course-style plain-form clients', (kind) => {
  const server = useServer(kind);
  const session = () => new CourseStyleSession(server.webUrl);

  test('sign up: success and every error text, in the reference order', async () => {
    const s = session();
    assert.ok(
      (await s.register('user1', 'default')).includes(
        'You were successfully registered and can login now',
      ),
    );
    assert.ok((await s.register('user1', 'default')).includes('The username is already taken'));
    assert.ok((await s.register('', 'default')).includes('You have to enter a username'));
    assert.ok((await s.register('meh', '')).includes('You have to enter a password'));
    assert.ok((await s.register('meh', 'x', 'y')).includes('The two passwords do not match'));
    assert.ok(
      (await s.register('meh', 'foo', undefined, 'broken')).includes(
        'You have to enter a valid email address',
      ),
    );
    assert.ok(
      (await s.register('meh', 'foo', undefined, '')).includes(
        'You have to enter a valid email address',
      ),
    );
    assert.equal((await new SimClient(server.apiUrl).get('/msgs/meh')).status, 404, 'no "meh"');
  });

  test('sign in and out, and the sign-in error texts', async () => {
    const s = session();
    await s.register('user2', 'default');
    assert.ok((await s.login('user2', 'default')).includes('You were logged in'));
    assert.ok((await s.logout()).includes('You were logged out'));
    assert.ok((await s.login('user2', 'wrongpassword')).includes('Invalid password'));
    assert.ok((await s.login('user_nobody', 'wrongpassword')).includes('Invalid username'));
  });

  test('post messages: recorded, escaped, on the public timeline', async () => {
    const s = session();
    await s.register('poster1', 'default');
    await s.login('poster1', 'default');
    assert.ok((await s.addMessage('test message 1')).includes('Your message was recorded'));
    await s.addMessage('<test message 2>');
    const home = await s.get('/');
    assert.ok(home.includes('test message 1'));
    assert.ok(home.includes('&lt;test message 2&gt;'));
    assert.ok(!home.includes('<test message 2>'));
    const pub = await session().get('/public');
    assert.ok(pub.includes('test message 1'));
  });

  test('timelines, follow and unfollow through the GET links', async () => {
    const foo = session();
    await foo.register('foo', 'default');
    await foo.login('foo', 'default');
    await foo.addMessage('the message by foo');
    await foo.logout();
    const bar = session();
    await bar.register('bar', 'default');
    await bar.login('bar', 'default');
    await bar.addMessage('the message by bar');

    const pub = await bar.get('/public');
    assert.ok(pub.includes('the message by foo') && pub.includes('the message by bar'));
    let home = await bar.get('/');
    assert.ok(!home.includes('the message by foo') && home.includes('the message by bar'));

    const followed = await bar.get('/foo/follow');
    assert.ok(followed.includes('You are now following &#34;foo&#34;'));
    assert.ok(followed.includes('You are currently following this user.'));
    home = await bar.get('/');
    assert.ok(home.includes('the message by foo') && home.includes('the message by bar'));

    const profile = await bar.get('/bar');
    assert.ok(!profile.includes('the message by foo') && profile.includes('the message by bar'));
    assert.ok(profile.includes('This is you!'));
    const theirs = await bar.get('/foo');
    assert.ok(theirs.includes('the message by foo') && !theirs.includes('the message by bar'));

    const unfollowed = await bar.get('/foo/unfollow');
    assert.ok(unfollowed.includes('You are no longer following &#34;foo&#34;'));
    home = await bar.get('/');
    assert.ok(!home.includes('the message by foo') && home.includes('the message by bar'));
  });

  test('what needs a sign-in answers 401 to a client without one', async () => {
    const anonymous = new FormClient(server.webUrl);
    assert.equal((await anonymous.post('/add_message', { text: 'sneaky' })).status, 401);
    assert.equal((await anonymous.get('/foo/follow')).status, 401);
    assert.equal((await anonymous.get('/foo/unfollow')).status, 401);
  });
});

forEachDatabase('browser-shaped forgeries with a valid session cookie', (kind) => {
  const server = useServer(kind);
  let api: SimClient;
  before(async () => {
    api = new SimClient(server.apiUrl);
    for (const name of ['victim', 'idol', 'friend']) {
      assert.equal((await api.register(name, `${name}@x.dk`, 'pw')).status, 204);
    }
    assert.equal((await api.follow('victim', 'friend')).status, 204);
  });

  /** What a browser adds when a page of another origin sends the request. */
  const forgeries = (): [string, Record<string, string>][] => {
    const { hostname } = new URL(server.webUrl);
    return [
      [
        'Sec-Fetch-Site: cross-site',
        { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      ],
      ['a foreign Origin (no Sec-Fetch-Site)', { origin: 'https://evil.example' }],
      [
        'Sec-Fetch-Site: same-site from a sibling origin',
        { 'sec-fetch-site': 'same-site', origin: `http://${hostname}:1` },
      ],
    ];
  };

  test('every state-changing route refuses them with the 403 page and changes nothing', async () => {
    const victim = new FormClient(server.webUrl);
    assert.equal((await victim.post('/login', { username: 'victim', password: 'pw' })).status, 302);
    const cookie = victim.cookies.get('mt_session');
    assert.ok(cookie);
    const data = await snapshot(server.app);
    const sessions = () => server.app.database.db.selectFrom('sessions').select('id').execute();
    const sessionsBefore = await sessions();
    const posts: [string, Record<string, string>][] = [
      ['/login', { username: 'friend', password: 'pw' }],
      ['/register', { username: 'forged', email: 'f@x.dk', password: 'p', password2: 'p' }],
      ['/add_message', { text: 'forged message' }],
      ['/idol/follow', {}],
      ['/friend/unfollow', {}],
      ['/logout', {}],
    ];
    let refused = 0;
    for (const [label, headers] of forgeries()) {
      for (const [path, form] of posts) {
        const forger = victim.clone({ headers });
        const answer = await forger.post(path, form);
        assert.equal(answer.status, 403, `POST ${path}, ${label}`);
        assert.match(String(answer.headers['content-type']), /^text\/html/);
        assert.match(answer.body, /came from another site/);
        assert.equal(forger.cookies.get('mt_session'), cookie, 'the session cookie is kept');
        refused++;
      }
      // The reference's GET links: a cross-site navigation only gets the confirmation.
      for (const path of ['/idol/follow', '/friend/unfollow', '/logout']) {
        const navigation: Record<string, string> =
          'sec-fetch-site' in headers
            ? { 'sec-fetch-site': headers['sec-fetch-site'] ?? '' }
            : { referer: 'https://evil.example/page' };
        const answer = await victim.get(path, navigation);
        assert.equal(answer.status, 200, `GET ${path}, ${label}`);
        assert.match(answer.body, /<form class="card confirm" method="post"/);
        refused++;
      }
    }
    assert.equal(refused, 27);
    assert.deepEqual(await snapshot(server.app), data, 'no user, message or follow changed');
    assert.deepEqual(await sessions(), sessionsBefore, 'no session made or ended');
    assert.equal((await victim.get('/')).status, 200, 'the victim is still signed in');

    // The same requests from our own pages go through.
    const own = victim.clone({
      headers: { 'sec-fetch-site': 'same-origin', origin: server.webUrl },
    });
    assert.equal((await own.post('/idol/follow', {})).status, 302);
    assert.equal((await own.get('/friend/unfollow')).status, 302);
    assert.equal((await own.post('/add_message', { text: 'mine' })).status, 302);
    const follows = await api.get('/fllws/victim');
    assert.deepEqual(follows.json, { follows: ['idol'] });
  });
});
