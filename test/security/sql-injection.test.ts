import assert from 'node:assert/strict';
import { after, before, type TestContext, test } from 'node:test';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';
import { originalRows, type Snapshot, snapshot, Tally } from './support.js';

/** Classic payloads for both dialects: tautologies, stacked queries, unions, comments, sleeps. */
export const SQL_PAYLOADS = [
  "' OR '1'='1",
  "' OR 1=1 --",
  '" OR ""="',
  "admin'--",
  "'; DROP TABLE users; --",
  "'; DROP TABLE messages; --",
  '1; DELETE FROM followers',
  '1 OR 1=1',
  "' UNION SELECT user_id, username, pw_hash, email FROM users --",
  "' UNION SELECT NULL, NULL, NULL --",
  "1' AND SLEEP(5) --",
  "'; SELECT pg_sleep(5); --",
  "' || (SELECT pw_hash FROM users LIMIT 1) || '",
  "%' OR username LIKE '%",
  "\\'; UPDATE users SET pw_hash = 'x' --",
  "'); INSERT INTO messages (author_id, text, pub_date, flagged) VALUES (1, 'pwned', 0, 0); --",
  "' OR 'x'='x' /*",
  '*/ OR 1=1 --',
  '` OR 1=1 --',
  '$1',
  '?',
  "1' ORDER BY 10 --",
  "'; ATTACH DATABASE '/tmp/pwn.db' AS pwn; --",
  "' AND 1=CAST((SELECT pw_hash FROM users LIMIT 1) AS INT) --",
  "\u0000' OR 1=1 --",
];

const SECRET_PASSWORD = 'Sup3r-secret!pw';

forEachDatabase('SQL injection in every field and path parameter', (kind) => {
  // The login and sign-up limits would answer most of these cases with 429 before the
  // code under attack runs; they are tested on their own in limits.test.ts.
  const server = useServer(kind, {
    env: {
      LOGIN_LIMIT_PER_ADDRESS: '0',
      LOGIN_LIMIT_PER_USERNAME: '0',
      REGISTER_LIMIT_PER_ADDRESS: '0',
    },
  });
  let api: SimClient;
  let before_: Snapshot;
  const tally = new Tally();
  const bodies: string[] = [];
  const expectNo5xx = (status: number, what: string) => {
    assert.ok(status < 500, `${what}: ${status}`);
  };

  before(async () => {
    api = new SimClient(server.apiUrl);
    for (const name of ['alice', 'bob', 'carol']) {
      assert.equal(
        (await api.register(name, `${name}@secret.example`, SECRET_PASSWORD)).status,
        204,
      );
    }
    await api.tweet('alice', 'alice private thoughts');
    await api.tweet('bob', 'bob says hi');
    await api.follow('alice', 'bob');
    await api.follow('bob', 'carol');
    before_ = await snapshot(server.app);
  });
  after(async (t) => {
    tally.report(t as unknown as TestContext, `sql injection, ${kind}`);
  });

  test('the web app: form fields, path segments and query parameters', async () => {
    const alice = new WebClient(server.webUrl);
    assert.equal((await alice.login('alice', SECRET_PASSWORD)).status, 200);
    for (const p of SQL_PAYLOADS) {
      const anon = new WebClient(server.webUrl);
      const cases: [string, () => Promise<{ status: number; html: string }>][] = [
        ['login username', () => anon.post('/login', { username: p, password: SECRET_PASSWORD })],
        ['login password', () => anon.post('/login', { username: 'alice', password: p })],
        [
          'register username',
          () =>
            anon.post('/register', {
              username: p,
              email: 'x@y.z',
              password: 'pw',
              password2: 'pw',
            }),
        ],
        [
          'register email',
          () =>
            anon.post('/register', {
              username: 'newbie',
              email: `${p}@x`,
              password: 'pw',
              password2: 'x',
            }),
        ],
        [
          'register password',
          () =>
            anon.post('/register', { username: 'alice', email: 'a@x', password: p, password2: p }),
        ],
        ['message text', () => alice.post('/add_message', { text: p })],
        ['profile path', () => alice.get(`/${encodeURIComponent(p)}`)],
        ['follow path (GET)', () => alice.get(`/${encodeURIComponent(p)}/follow`)],
        ['unfollow path (GET)', () => alice.get(`/${encodeURIComponent(p)}/unfollow`)],
        ['follow path (POST)', () => alice.post(`/${encodeURIComponent(p)}/follow`, {})],
        ['unfollow path (POST)', () => alice.post(`/${encodeURIComponent(p)}/unfollow`, {})],
        ['public ?before=', () => anon.get(`/public?before=${encodeURIComponent(p)}`)],
        ['home ?before=', () => alice.get(`/?before=${encodeURIComponent(p)}`)],
        ['profile ?before=', () => anon.get(`/bob?before=${encodeURIComponent(p)}`)],
      ];
      for (const [what, run] of cases) {
        const res = await run();
        expectNo5xx(res.status, `${what} = ${JSON.stringify(p)}`);
        bodies.push(res.html);
        tally.add('web');
      }
      // An injected name never signs in.
      assert.equal(anon.cookies.has('mt_session'), false, `signed in with username ${p}`);
    }
  });

  test('the simulator API: body fields, path parameters, ?no= and ?latest=', async () => {
    for (const p of SQL_PAYLOADS) {
      const path = encodeURIComponent(p);
      const q = encodeURIComponent(p);
      const cases: [string, () => ReturnType<SimClient['get']>][] = [
        ['register username', () => api.post('/register', { username: p, email: 'x@y', pwd: 'p' })],
        ['register email', () => api.post('/register', { username: 'x', email: p, pwd: 'p' })],
        ['register pwd', () => api.post('/register', { username: 'alice', email: 'a@b', pwd: p })],
        ['GET /msgs/<user>', () => api.get(`/msgs/${path}`)],
        ['POST /msgs/<user>', () => api.post(`/msgs/${path}`, { content: 'x' })],
        ['message content', () => api.post('/msgs/alice', { content: p })],
        ['GET /fllws/<user>', () => api.get(`/fllws/${path}`)],
        ['POST /fllws/<user>', () => api.post(`/fllws/${path}`, { follow: 'bob' })],
        ['follow target', () => api.post('/fllws/alice', { follow: p })],
        ['unfollow target', () => api.post('/fllws/alice', { unfollow: p })],
        ['?no=', () => api.get(`/msgs?no=${q}`)],
        ['?no= on a user', () => api.get(`/msgs/bob?no=${q}`)],
        ['?no= on follows', () => api.get(`/fllws/alice?no=${q}`)],
        ['?latest=', () => api.get(`/msgs?latest=${q}`)],
      ];
      for (const [what, run] of cases) {
        const res = await run();
        expectNo5xx(res.status, `${what} = ${JSON.stringify(p)}`);
        bodies.push(res.text);
        tally.add('api');
        // A listing of an injected user name is that literal user's, or a 404: never others' rows.
        if (what === 'GET /msgs/<user>' && res.status === 200) {
          assert.ok(
            res.json.every((m: { user: string }) => m.user === p),
            JSON.stringify(res.json),
          );
        }
        if (what === 'GET /fllws/<user>' && res.status === 200) {
          assert.ok(
            ['[]', '["bob"]'].includes(JSON.stringify(res.json.follows)),
            `only what POST /fllws/<that literal name> made: ${res.text}`,
          );
        }
      }
    }
  });

  test('afterwards: no table lost, no stored row changed, no secret leaked, still working', async () => {
    const after_ = await snapshot(server.app);
    assert.deepEqual(originalRows(before_, after_), before_, 'the rows stored before are intact');
    const payloads = new Set(SQL_PAYLOADS);
    const originalIds = new Set(before_.users.map((u) => u.user_id));
    for (const user of after_.users.filter((u) => !originalIds.has(u.user_id))) {
      assert.ok(payloads.has(user.username), `unexpected user ${user.username}`);
    }
    const originalMessages = new Set(before_.messages.map((m) => m.message_id));
    for (const m of after_.messages.filter((x) => !originalMessages.has(x.message_id))) {
      assert.ok(payloads.has(m.text) || m.text === 'x', `unexpected message ${m.text}`);
    }
    // Injected follows: only literal payload users following bob, or alice following one.
    const ids = new Map(after_.users.map((u) => [u.user_id, u.username]));
    for (const f of after_.followers) {
      const pair = `${ids.get(f.who_id)} > ${ids.get(f.whom_id)}`;
      const original = before_.followers.some(
        (o) => o.who_id === f.who_id && o.whom_id === f.whom_id,
      );
      const literal =
        payloads.has(ids.get(f.who_id) ?? '') || payloads.has(ids.get(f.whom_id) ?? '');
      assert.ok(original || literal, `unexpected follow ${pair}`);
    }
    // No hash, e-mail address or password of anyone ever came back.
    for (const body of bodies) {
      assert.ok(!body.includes('$argon2'), 'a password hash leaked');
      assert.ok(!body.includes('@secret.example'), 'an e-mail address leaked');
      assert.ok(!body.includes(SECRET_PASSWORD), 'a password leaked');
    }
    const login = await new WebClient(server.webUrl).login('bob', SECRET_PASSWORD);
    assert.ok(login.html.includes('You were logged in'));
    assert.equal((await api.get('/msgs/bob')).json[0].content, 'bob says hi');
  });
});
