import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Bare, startBare } from '../../bench/bare.js';
import { DEFAULT_SIM_API_AUTH } from '../../src/config/config.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

// The ratio phase of the benchmark is only fair when the bare program does the same work: each
// hot path answers as MiniTwit does (status and body), over the same database.

interface Answer {
  status: number;
  body: string;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  auth = DEFAULT_SIM_API_AUTH,
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: auth };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.text() };
}

forEachDatabase('the bare program answers as MiniTwit', (kind) => {
  let bare!: Bare;
  // Registered first: runs while the server and its database are still there.
  after(async () => {
    await bare?.close();
  });
  const server = useServer(kind);
  before(async () => {
    for (const name of ['alice', 'bob', 'carol']) {
      const r = await call(server.apiUrl, 'POST', '/register', {
        username: name,
        email: `${name}@example.com`,
        pwd: 'secret-pw',
      });
      assert.equal(r.status, 204);
    }
    bare = await startBare(server.database.url, DEFAULT_SIM_API_AUTH);
  });

  const latest = async () => (await call(server.apiUrl, 'GET', '/latest')).body;

  /** Sends one write to MiniTwit, then to bare with the next `latest`: same status and body. */
  let n = 0;
  async function sameWrite(path: string, body: unknown, auth?: string) {
    const sep = path.includes('?') ? '&' : '?';
    n += 1;
    const mini = await call(server.apiUrl, 'POST', `${path}${sep}latest=${n}`, body, auth);
    assert.equal(await latest(), JSON.stringify({ latest: n }));
    n += 1;
    const own = await call(bare.apiUrl, 'POST', `${path}${sep}latest=${n}`, body, auth);
    assert.equal(await latest(), JSON.stringify({ latest: n }), 'bare stores latest');
    assert.deepEqual(own, mini, `POST ${path} ${JSON.stringify(body)}`);
    return mini;
  }

  async function sameRead(base: 'api' | 'web', path: string): Promise<Answer> {
    const [mini, own] = await Promise.all(
      base === 'api'
        ? [call(server.apiUrl, 'GET', path), call(bare.apiUrl, 'GET', path)]
        : [fetch(`${server.webUrl}${path}`), fetch(`${bare.webUrl}${path}`)].map(async (p) => {
            const r = await p;
            return { status: r.status, body: await r.text() };
          }),
    );
    assert.deepEqual(own, mini, `GET ${path}`);
    return mini as Answer;
  }

  test('tweets, follows, unfollows: same answers, each stores latest and acts', async () => {
    assert.equal((await sameWrite('/msgs/alice', { content: 'hello <b>&"world"\'' })).status, 204);
    assert.equal((await sameWrite('/msgs/bob', { content: 'from bob' })).status, 204);
    assert.equal((await sameWrite('/fllws/alice', { follow: 'bob' })).status, 204);
    assert.equal((await sameWrite('/fllws/alice', { follow: 'carol' })).status, 204);
    assert.equal((await sameWrite('/fllws/alice', { unfollow: 'carol' })).status, 204);
    // Each was done twice (once per program): both tweets of each author are there.
    const rows = JSON.parse((await sameRead('api', '/msgs/alice')).body) as { content: string }[];
    assert.equal(rows.length, 2);
    assert.deepEqual(JSON.parse((await sameRead('api', '/fllws/alice')).body), {
      follows: ['bob'],
    });
  });

  test('unknown users, a wrong Authorization, an empty message: the same errors', async () => {
    assert.equal((await sameWrite('/msgs/nobody', { content: 'x' })).status, 404);
    assert.equal((await sameWrite('/fllws/alice', { follow: 'nobody' })).status, 404);
    assert.equal((await sameWrite('/fllws/nobody', { follow: 'alice' })).status, 404);
    assert.equal((await sameWrite('/msgs/alice', { content: '' })).status, 400);
    assert.equal((await sameWrite('/msgs/alice', { content: 'x' }, 'Basic wrong')).status, 403);
    assert.equal((await sameRead('api', '/msgs/nobody')).status, 404);
    assert.equal((await sameRead('api', '/fllws/nobody')).status, 404);
  });

  test('GET /msgs, /msgs/<user>, /fllws/<user> with and without no=: the same bodies', async () => {
    for (let i = 0; i < 5; i++) await sameWrite('/msgs/carol', { content: `carol ${i}` });
    for (const path of ['/msgs', '/msgs?no=3', '/msgs/carol?no=4', '/msgs/bob', '/fllws/bob']) {
      assert.equal((await sameRead('api', path)).status, 200, path);
    }
  });

  test('/public: the same HTML bytes, with and without an older page', async () => {
    const page = await sameRead('web', '/public');
    assert.equal(page.status, 200);
    assert.match(page.body, /hello &lt;b&gt;&amp;&#34;world&#34;&#39;/);
    assert.doesNotMatch(page.body, /Older messages/);
    for (let i = 0; i < 30; i++) await sameWrite('/msgs/bob', { content: `more ${i}` });
    const full = await sameRead('web', '/public');
    assert.match(full.body, /Older messages/);
  });
});
