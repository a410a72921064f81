import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import Fastify, { type RouteOptions } from 'fastify';
import { simulatorRoutes } from '../../src/api/routes.js';
import { BODY_NOT_OBJECT, NO_NOT_COUNT } from '../../src/api/schemas.js';
import { SimClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

const ERROR_KEYS = ['error_msg', 'status'];
const bad = (error_msg: string) => ({ status: 400, error_msg });

forEachDatabase('simulator API schemas', (kind) => {
  const server = useServer(kind);
  let api: SimClient;
  const latest = async () => (await api.get('/latest')).json.latest;
  before(async () => {
    api = new SimClient(server.apiUrl);
    for (const name of ['alice', 'bob']) {
      assert.equal((await api.register(name, `${name}@x.dk`, 'secret-pw')).status, 204);
    }
    assert.equal((await api.tweet('alice', 'hello')).status, 204);
  });

  test('every simulator route declares params, query, body and response schemas as it needs', async () => {
    // The routes plugin on a bare server, to see each route as it is declared.
    const routes: RouteOptions[] = [];
    const bare = Fastify();
    bare.decorate('domain', server.app.domain);
    bare.addHook('onRoute', (route) => {
      routes.push(route);
    });
    bare.register(simulatorRoutes, { auth: 'x' });
    await bare.ready();
    const seen = routes
      .filter((r) => r.method !== 'HEAD')
      .map((r) => {
        const s = r.schema ?? {};
        const response = (s.response ?? {}) as Record<string, unknown>;
        return [
          `${r.method} ${r.url}`,
          ['params', 'querystring', 'body'].filter((part) => part in s).join(','),
          Object.keys(response).sort().join(','),
        ];
      })
      .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
    await bare.close();
    assert.deepEqual(seen, [
      ['GET /fllws/:username', 'params,querystring', '200,4xx,5xx'],
      ['GET /latest', 'querystring', '200,4xx,5xx'],
      ['GET /msgs', 'querystring', '200,4xx,5xx'],
      ['GET /msgs/:username', 'params,querystring', '200,4xx,5xx'],
      ['POST /fllws/:username', 'params,querystring,body', '204,4xx,5xx'],
      ['POST /msgs/:username', 'params,querystring,body', '204,4xx,5xx'],
      ['POST /register', 'querystring,body', '204,4xx,5xx'],
    ]);
  });

  test('no coercion: {"content": 42} is a 400 and nothing is stored', async () => {
    const before = (await api.get('/msgs/alice')).json;
    for (const content of [42, 0, true, ['x'], { text: 'x' }]) {
      const res = await api.post('/msgs/alice', { content });
      assert.equal(res.status, 400, JSON.stringify(content));
      assert.deepEqual(res.json, bad('"content" must be a string'));
    }
    assert.deepEqual((await api.get('/msgs/alice')).json, before);
    assert.equal((await api.get('/msgs?no=1000')).json.length, 1);
  });

  test('/register: a wrong-typed field is a 400 naming it, in field order; nothing registered', async () => {
    const cases: [unknown, string][] = [
      [{ username: 1, email: 'n@x.dk', pwd: 'p' }, '"username" must be a string'],
      [{ username: 1, email: 2, pwd: 3 }, '"username" must be a string'],
      [{ username: 'numbers', email: 2, pwd: 'p' }, '"email" must be a string'],
      [{ username: 'numbers', email: 'n@x.dk', pwd: 1234 }, '"pwd" must be a string'],
      [[{ username: 'numbers' }], BODY_NOT_OBJECT],
      [null, BODY_NOT_OBJECT],
      ['numbers', BODY_NOT_OBJECT],
    ];
    for (const [body, message] of cases) {
      const res = await api.request('POST', '/register', { rawBody: JSON.stringify(body) });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(res.json, bad(message), JSON.stringify(body));
    }
    assert.equal(await server.app.domain.findUser('numbers'), undefined);
    assert.equal(await server.app.domain.findUser('1'), undefined);
    // Missing and null fields still mean '': the domain's own texts.
    const empty = await api.post('/register', { username: null, email: 'n@x.dk', pwd: 'p' });
    assert.deepEqual(empty.json, bad('You have to enter a username'));
    const noPwd = await api.post('/register', { username: 'numbers', email: 'n@x.dk' });
    assert.deepEqual(noPwd.json, bad('You have to enter a password'));
  });

  test('?no=: digits only, else a 400 with the text; empty means the default', async () => {
    for (const path of [
      '/msgs?no=abc',
      '/msgs/alice?no=-1',
      '/fllws/alice?no=1.5',
      '/msgs?no=1&no=2',
    ]) {
      const res = await api.get(path);
      assert.equal(res.status, 400, path);
      assert.deepEqual(res.json, bad(NO_NOT_COUNT), path);
    }
    assert.equal((await api.get('/msgs?no=')).status, 200);
    assert.equal((await api.get('/msgs?no=0')).json.length, 0);
    assert.equal((await api.get('/msgs?no=007')).json.length, 1);
    // The user is looked up first: an unknown user is a 404 even with a bad `no`.
    assert.equal((await api.get('/msgs/nobody?no=abc')).status, 404);
  });

  test('?latest=: a non-integer or a repeated value is ignored and the request succeeds', async () => {
    assert.equal((await api.get('/msgs', { latest: 31 })).status, 200);
    assert.equal(await latest(), 31);
    for (const path of [
      '/msgs?latest=abc',
      '/msgs?latest=5&latest=6',
      '/latest?latest=1.5',
      '/fllws/alice?latest=',
    ]) {
      const res = await api.get(path);
      assert.equal(res.status, 200, path);
      assert.equal(await latest(), 31, path);
    }
    const registered = await api.request('POST', '/register?latest=x&latest=y', {
      body: { username: 'carol', email: 'c@x.dk', pwd: 'p' },
    });
    assert.equal(registered.status, 204);
    assert.equal(await latest(), 31);
  });

  test('follow and unfollow: a wrong-typed field is a 400 naming it; nothing changes', async () => {
    const before = (await api.get('/fllws/alice')).json;
    const cases: [unknown, string][] = [
      [{ follow: 3 }, '"follow" must be a string'],
      [{ follow: ['bob'] }, '"follow" must be a string'],
      [{ unfollow: { name: 'bob' } }, '"unfollow" must be a string'],
      [{ follow: 'bob', unfollow: false }, '"unfollow" must be a string'],
      [['bob'], BODY_NOT_OBJECT],
    ];
    for (const [body, message] of cases) {
      const res = await api.post('/fllws/alice', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(res.json, bad(message), JSON.stringify(body));
    }
    assert.deepEqual((await api.get('/fllws/alice')).json, before);
    // null still means "not given": unfollow wins when follow is null.
    assert.equal((await api.post('/fllws/alice', { follow: 'bob' })).status, 204);
    assert.equal((await api.post('/fllws/alice', { follow: null, unfollow: 'bob' })).status, 204);
    assert.deepEqual((await api.get('/fllws/alice')).json, before);
  });

  test('responses carry exactly the documented fields: no hash, no e-mail, no ids', async () => {
    assert.equal((await api.follow('alice', 'bob')).status, 204);
    const latestRes = await api.get('/latest');
    assert.deepEqual(Object.keys(latestRes.json), ['latest']);
    assert.ok(Number.isInteger(latestRes.json.latest));
    for (const path of ['/msgs', '/msgs/alice']) {
      const res = await api.get(path);
      assert.equal(res.status, 200);
      assert.ok(res.json.length > 0, path);
      for (const m of res.json) {
        assert.deepEqual(Object.keys(m), ['content', 'pub_date', 'user'], path);
        assert.equal(typeof m.content, 'string');
        assert.ok(Number.isInteger(m.pub_date));
        assert.equal(typeof m.user, 'string');
      }
      // The JSON is what JSON.stringify makes of those fields: byte for byte.
      assert.equal(res.text, JSON.stringify(res.json));
    }
    const follows = await api.get('/fllws/alice');
    assert.deepEqual(follows.json, { follows: ['bob'] });
    assert.equal(follows.text, '{"follows":["bob"]}');
    const errors = [
      await api.get('/msgs/nobody'),
      await api.post('/msgs/alice', { content: 42 }),
      await api.get('/msgs', { headers: { Authorization: '' } }),
      await api.get('/no/such/endpoint'),
    ];
    for (const res of errors) {
      assert.deepEqual(Object.keys(res.json).sort(), ERROR_KEYS, res.text);
      assert.equal(res.json.status, res.status);
    }
    for (const res of [latestRes, follows, ...errors, await api.get('/msgs?no=1000')]) {
      for (const leak of ['$argon2', '@x.dk', 'pw_hash', 'user_id', 'email', 'secret-pw']) {
        assert.ok(!res.text.includes(leak), `${leak} in ${res.text}`);
      }
    }
    // 204s stay empty.
    const posted = await api.tweet('bob', 'bye');
    assert.equal(posted.status, 204);
    assert.equal(posted.text, '');
  });
});
