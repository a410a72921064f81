import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { SimClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { startServer, useServer } from '../helpers/server.js';

forEachDatabase('simulator API', (kind) => {
  const server = useServer(kind);
  let api: SimClient;
  before(async () => {
    api = new SimClient(server.apiUrl);
  });

  test('GET /latest is -1 on a fresh database, without auth', async () => {
    const res = await api.get('/latest', { headers: { Authorization: '' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { latest: -1 });
  });

  test('register: 204 with an empty body, then 400 with the reference texts in order', async () => {
    const ok = await api.post(
      '/register',
      { username: 'alice', email: 'alice@x.dk', pwd: 'a' },
      { latest: 1 },
    );
    assert.equal(ok.status, 204);
    assert.equal(ok.text, '');
    const cases: [Record<string, unknown>, string][] = [
      [{ username: '', email: 'x@x', pwd: 'p' }, 'You have to enter a username'],
      [{ email: 'x@x', pwd: 'p' }, 'You have to enter a username'],
      [
        { username: 'bob', email: 'no-at-sign', pwd: 'p' },
        'You have to enter a valid email address',
      ],
      [{ username: 'bob', email: '', pwd: 'p' }, 'You have to enter a valid email address'],
      [{ username: 'bob', email: 'b@x', pwd: '' }, 'You have to enter a password'],
      [{ username: 'alice', email: 'a@x', pwd: 'p' }, 'The username is already taken'],
    ];
    for (const [body, message] of cases) {
      const res = await api.post('/register', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(res.json, { status: 400, error_msg: message });
    }
  });

  test('latest is stored before auth, overwritten (not maximised), -1 and junk ignored', async () => {
    await api.get('/msgs', { latest: 500, headers: { Authorization: 'Basic wrong' } });
    assert.deepEqual((await api.get('/latest')).json, { latest: 500 });
    await api.get('/msgs', { latest: 7 });
    assert.deepEqual((await api.get('/latest')).json, { latest: 7 });
    for (const junk of ['-1', 'abc', '1.5', '', '99999999999999999999']) {
      await api.get('/msgs', { latest: junk });
      assert.deepEqual((await api.get('/latest')).json, { latest: 7 }, `latest=${junk}`);
    }
    // Even a request whose body is broken records it.
    await api.request('POST', '/msgs/alice', { rawBody: '{oops', latest: 8 });
    assert.deepEqual((await api.get('/latest')).json, { latest: 8 });
  });

  test('every /msgs and /fllws endpoint answers 403 JSON without the right Authorization', async () => {
    const forbidden = { status: 403, error_msg: 'You are not authorized to use this resource!' };
    for (const auth of [
      undefined,
      '',
      'Basic c2ltdWxhdG9yOnN1cGVyX3NhZmU=',
      'basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh',
    ]) {
      const headers: Record<string, string> = auth === undefined ? {} : { Authorization: auth };
      if (auth === undefined) headers.Authorization = '';
      const calls = [
        api.get('/msgs', { headers }),
        api.get('/msgs/alice', { headers }),
        api.post('/msgs/alice', { content: 'x' }, { headers }),
        api.get('/fllws/alice', { headers }),
        api.post('/fllws/alice', { follow: 'alice' }, { headers }),
      ];
      for (const res of await Promise.all(calls)) {
        assert.equal(res.status, 403);
        assert.deepEqual(res.json, forbidden);
      }
    }
    assert.deepEqual((await api.get('/msgs/alice')).json, [], 'nothing was posted');
  });

  test('messages: POST 204, GET newest first with content, integer pub_date and user; no= limits', async () => {
    await api.register('bob');
    for (const text of ['first', 'second', 'third']) {
      const res = await api.tweet('alice', text);
      assert.equal(res.status, 204);
      assert.equal(res.text, '');
    }
    assert.equal((await api.tweet('bob', 'from bob')).status, 204);
    const all = await api.get('/msgs');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.json.map((m: { content: string; user: string }) => [m.content, m.user]),
      [
        ['from bob', 'bob'],
        ['third', 'alice'],
        ['second', 'alice'],
        ['first', 'alice'],
      ],
    );
    for (const m of all.json) {
      assert.deepEqual(Object.keys(m).sort(), ['content', 'pub_date', 'user']);
      assert.ok(Number.isInteger(m.pub_date) && Math.abs(m.pub_date - Date.now() / 1000) < 60);
    }
    assert.equal((await api.get('/msgs?no=2')).json.length, 2);
    assert.equal((await api.get('/msgs?no=0')).json.length, 0);
    const alice = await api.get('/msgs/alice?no=2');
    assert.deepEqual(
      alice.json.map((m: { content: string }) => m.content),
      ['third', 'second'],
    );
  });

  test('text stays text: "007" and "1234" are not turned into numbers', async () => {
    assert.equal((await api.register('1234')).status, 204);
    await api.tweet('1234', '007');
    const res = await api.get('/msgs/1234');
    assert.deepEqual(
      res.json.map((m: { content: unknown; user: unknown }) => [m.content, m.user]),
      [['007', '1234']],
    );
  });

  test('unknown users get 404 JSON on every user endpoint, and nothing is stored', async () => {
    const before = (await api.get('/msgs?no=1000')).json.length;
    for (const res of [
      await api.get('/msgs/nobody'),
      await api.tweet('nobody', 'x'),
      await api.get('/fllws/nobody'),
      await api.follow('nobody', 'alice'),
      await api.follow('alice', 'nobody'),
      await api.post('/fllws/alice', { unfollow: 'nobody' }),
    ]) {
      assert.equal(res.status, 404);
      assert.equal(res.json.status, 404);
      assert.equal(typeof res.json.error_msg, 'string');
    }
    assert.equal((await api.get('/msgs?no=1000')).json.length, before);
  });

  test('follows: 204, idempotent, listed, limited by no=, unfollow of a stranger is 204, follow wins', async () => {
    await api.register('carol');
    await api.register('dave');
    assert.equal((await api.follow('alice', 'bob')).status, 204);
    assert.equal((await api.follow('alice', 'bob')).status, 204);
    assert.equal((await api.follow('alice', 'carol')).status, 204);
    assert.deepEqual((await api.get('/fllws/alice')).json, { follows: ['bob', 'carol'] });
    assert.deepEqual((await api.get('/fllws/alice?no=1')).json.follows.length, 1);
    assert.equal((await api.post('/fllws/alice', { unfollow: 'dave' })).status, 204);
    assert.equal((await api.post('/fllws/alice', { unfollow: 'bob' })).status, 204);
    assert.deepEqual((await api.get('/fllws/alice')).json, { follows: ['carol'] });
    assert.equal(
      (await api.post('/fllws/alice', { follow: 'dave', unfollow: 'carol' })).status,
      204,
    );
    assert.deepEqual((await api.get('/fllws/alice')).json, { follows: ['carol', 'dave'] });
    assert.deepEqual((await api.get('/fllws/bob')).json, { follows: [] });
  });

  test('usernames with spaces work through %20', async () => {
    assert.equal(
      (await api.register('Roger Histand', 'Roger+Histand@hotmail.com', ']=)[X{Km{z')).status,
      204,
    );
    assert.equal((await api.tweet('Roger Histand', 'hi from Roger')).status, 204);
    assert.equal((await api.follow('Roger Histand', 'alice')).status, 204);
    assert.deepEqual((await api.get('/msgs/Roger%20Histand')).json[0].user, 'Roger Histand');
    assert.deepEqual((await api.get('/fllws/Roger%20Histand')).json, { follows: ['alice'] });
  });

  test('bad input: a 4xx with the JSON error shape, never a 500, nothing stored', async () => {
    const before = (await api.get('/msgs?no=1000')).json.length;
    const cases: [
      string,
      string,
      { rawBody?: string; body?: unknown; headers?: Record<string, string> },
    ][] = [
      ['POST', '/register', { rawBody: '{"username": "x",' }],
      ['POST', '/register', { rawBody: '' }],
      ['POST', '/register', { rawBody: 'null' }],
      ['POST', '/register', { rawBody: '[]' }],
      ['POST', '/register', { rawBody: '"text"' }],
      ['POST', '/register', { body: { username: 42, email: 'a@b', pwd: 'x' } }],
      ['POST', '/register', { body: { username: 'eve', email: ['a@b'], pwd: 'x' } }],
      ['POST', '/register', { body: { username: 'eve', email: 'a@b', pwd: { x: 1 } } }],
      ['POST', '/register', { body: { username: 'x'.repeat(100_000), email: 'a@b', pwd: 'x' } }],
      [
        'POST',
        '/register',
        { rawBody: 'username=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
      ],
      ['POST', '/msgs/alice', { rawBody: '{"content": ' }],
      ['POST', '/msgs/alice', { body: { content: 5 } }],
      ['POST', '/msgs/alice', { body: { content: null } }],
      ['POST', '/msgs/alice', { body: {} }],
      ['POST', '/msgs/alice', { body: { content: '' } }],
      ['POST', '/msgs/alice', { body: { content: 'x'.repeat(5000) } }],
      ['POST', '/msgs/alice', { body: { content: 'bell\u0007' } }],
      ['POST', '/msgs/alice', { body: [1, 2] }],
      ['POST', '/fllws/alice', { body: {} }],
      ['POST', '/fllws/alice', { body: { follow: 3 } }],
      ['POST', '/fllws/alice', { body: { follow: ['bob'] } }],
      ['POST', '/fllws/alice', { rawBody: '{{' }],
      ['GET', '/msgs?no=abc', {}],
      ['GET', '/msgs?no=-5', {}],
      ['GET', '/msgs/alice?no=1e3', {}],
      ['GET', '/fllws/alice?no=x', {}],
      ['GET', '/no/such/endpoint', {}],
    ];
    for (const [method, path, options] of cases) {
      const res = await api.request(method, path, options);
      const what = `${method} ${path} ${options.rawBody ?? JSON.stringify(options.body)?.slice(0, 60)}`;
      assert.ok(res.status >= 400 && res.status < 500, `${what} -> ${res.status}`);
      assert.equal(res.json?.status, res.status, `${what}: ${res.text}`);
      assert.equal(typeof res.json?.error_msg, 'string', what);
    }
    assert.equal((await api.get('/msgs?no=1000')).json.length, before);
    assert.equal((await api.get('/msgs/eve')).status, 404);
    // An oversized body is refused as too large.
    const huge = await api.request('POST', '/msgs/alice', {
      rawBody: JSON.stringify({ content: 'y'.repeat(200_000) }),
    });
    assert.equal(huge.status, 413);
  });

  test('latest survives a restart of the server', async () => {
    await api.get('/latest', { latest: 4242 });
    await server.stop();
    const again = await startServer(kind, { database: server.database });
    try {
      const res = await new SimClient(again.apiUrl).get('/latest');
      assert.deepEqual(res.json, { latest: 4242 });
      // And the data is all still there.
      assert.equal((await new SimClient(again.apiUrl).get('/msgs/alice')).json.length, 3);
    } finally {
      await again.stop();
    }
  });
});
