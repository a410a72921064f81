import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import { SimClient, WebClient } from '../helpers/clients.js';
import { startServer, useServer } from '../helpers/server.js';
import { snapshot, Tally } from './support.js';

const tally = new Tally();
after((t) => tally.report(t as unknown as TestContext, 'input limits and secrets'));

describe('input limits: every violation is a clear 4xx, never a 500', () => {
  const server = useServer('sqlite', { env: { REGISTER_LIMIT_PER_ADDRESS: '0' } });
  let api: SimClient;
  let client: WebClient;
  before(async () => {
    api = new SimClient(server.apiUrl);
    await api.register('writer', 'w@x.dk', 'pw');
    client = new WebClient(server.webUrl);
    await client.login('writer', 'pw');
  });

  const registrations: [string, Record<string, string>, RegExp][] = [
    ['long username', { username: 'u'.repeat(65) }, /at most 64 characters/],
    ['control character in username', { username: 'bell\u0007' }, /control characters/],
    ['NUL in username', { username: 'nul\u0000' }, /control characters/],
    ['slash in username', { username: 'a/b' }, /slashes/],
    ['padded username', { username: ' padded ' }, /surrounding spaces/],
    ['long e-mail', { email: `${'e'.repeat(250)}@x.dk` }, /at most 254 characters/],
    ['space in e-mail', { email: 'a b@x.dk' }, /spaces or control characters/],
    ['control character in e-mail', { email: 'a\u001b@x.dk' }, /spaces or control characters/],
    ['long password', { password: 'p'.repeat(1025) }, /at most 1024 characters/],
  ];

  test('web sign-up: the form again, with the reason, and status 400', async () => {
    const before_ = await snapshot(server.app);
    const anon = new WebClient(server.webUrl);
    for (const [what, change, reason] of registrations) {
      const fields = { username: 'fine', email: 'fine@x.dk', password: 'pw', ...change };
      const res = await anon.post('/register', { ...fields, password2: fields.password });
      assert.equal(res.status, 400, what);
      assert.match(res.html, /<title>Sign Up \| MiniTwit<\/title>/, what);
      assert.match(res.html, reason, what);
      tally.add('input limits');
    }
    assert.deepEqual(await snapshot(server.app), before_);
  });

  test('API register: 400 in the JSON error shape with the same reasons', async () => {
    const before_ = await snapshot(server.app);
    for (const [what, change, reason] of registrations) {
      const { password, ...rest } = change;
      const body = { username: 'fine', email: 'fine@x.dk', pwd: password ?? 'pw', ...rest };
      const res = await api.post('/register', body);
      assert.equal(res.status, 400, what);
      assert.equal(res.json.status, 400);
      assert.match(res.json.error_msg, reason, what);
      tally.add('input limits');
    }
    assert.deepEqual(await snapshot(server.app), before_);
  });

  test('messages: too long or with control characters, on both front doors', async () => {
    const before_ = await snapshot(server.app);
    const texts: [string, RegExp][] = [
      ['m'.repeat(1001), /at most 1000 characters/],
      ['🙂'.repeat(1001), /at most 1000 characters/],
      ['nul\u0000', /control characters/],
      ['escape\u001b[2J', /control characters/],
      ['del\u007f', /control characters/],
    ];
    for (const [text, reason] of texts) {
      const web = await client.post('/add_message', { text });
      assert.equal(web.status, 400);
      assert.match(web.html, reason);
      assert.match(web.html, /<title>My Timeline \| MiniTwit<\/title>/);
      const res = await api.tweet('writer', text);
      assert.equal(res.status, 400);
      assert.match(res.json.error_msg, reason);
      tally.add('input limits', 2);
    }
    // Tabs and newlines are ordinary text; 1000 emoji are 1000 characters.
    assert.equal((await api.tweet('writer', 'tab\tand\nnewline')).status, 204);
    assert.equal((await api.tweet('writer', '🙂'.repeat(1000))).status, 204);
    const now = await snapshot(server.app);
    assert.equal(now.messages.length, before_.messages.length + 2);
  });

  test('bodies over the limit, repeated fields, bad cursors and URLs', async () => {
    const big = await client.request(
      'POST',
      '/add_message',
      new URLSearchParams({ text: 'x'.repeat(17 * 1024) }),
    );
    assert.equal(big.status, 413);
    assert.match(big.html, /<title>Too Large \| MiniTwit<\/title>/);
    const apiBig = await api.post('/msgs/writer', { content: 'x'.repeat(65 * 1024) });
    assert.equal(apiBig.status, 413);
    assert.equal(apiBig.json.status, 413);
    const form = new URLSearchParams([
      ['username', 'a'],
      ['username', 'b'],
      ['password', 'x'],
    ]);
    const repeated = await new WebClient(server.webUrl).request('POST', '/login', form);
    assert.ok([400, 403].includes(repeated.status), String(repeated.status));
    const cursor = await client.get('/public?before=-1');
    assert.equal(cursor.status, 400);
    assert.match(cursor.html, /page cursor/);
    const badUrl = await client.get('/%E0%A4%A');
    assert.equal(badUrl.status, 400);
    assert.match(badUrl.html, /not valid/);
    assert.equal(badUrl.headers.get('x-frame-options'), 'DENY');
    const longSegment = await client.get(`/${'y'.repeat(300)}`);
    assert.equal(longSegment.status, 414);
    const apiBadUrl = await api.get('/msgs/%E0%A4%A');
    assert.deepEqual(apiBadUrl.json, {
      status: 400,
      error_msg: 'The URL is not valid: it has broken percent-encoding',
    });
    tally.add('input limits', 7);
  });
});

describe('no password, hash, cookie or API secret in any log line or response', () => {
  test('across sign-ups, sign-ins, failures and broken requests', async () => {
    const server = await startServer('sqlite', { env: { LOG_LEVEL: 'debug' } });
    const responses: string[] = [];
    const keep = <T extends { html?: string; text?: string }>(res: T) => {
      responses.push(res.html ?? res.text ?? '');
      return res;
    };
    const webPassword = 'Web-Pa55word!unique';
    const apiPassword = 'Api-Pa55word!unique';
    try {
      const api = new SimClient(server.apiUrl);
      const web = new WebClient(server.webUrl);
      keep(await web.register('secretive', webPassword));
      keep(await web.login('secretive', `${webPassword}-wrong`));
      keep(await web.login('secretive', webPassword));
      keep(await web.get('/'));
      keep(await web.post('/add_message', { text: webPassword }));
      keep(await api.register('apiuser', 'a@x.dk', apiPassword));
      keep(await api.request('POST', '/register', { rawBody: `{"pwd": "${apiPassword}"` }));
      keep(await api.request('POST', '/register', { rawBody: `{"pwd": "${apiPassword}"}x` }));
      keep(
        await api.request('POST', '/register', {
          rawBody: `{"pwd": "${apiPassword}"}`,
          headers: { 'content-type': 'text/plain' },
        }),
      );
      keep(await api.post('/register', { username: 'apiuser', email: 'a@x', pwd: apiPassword }));
      keep(await api.post('/register', { pwd: apiPassword.repeat(5000) }));
      keep(await api.get('/msgs', { headers: { Authorization: `Basic ${apiPassword}` } }));
      await server.app.logger.flush();
      const logs = server.logs.join('\n');
      assert.ok(logs.includes('"msg":"request"'), 'the log was captured');
      const secrets = {
        'web password': webPassword.slice(0, 12),
        'API password': apiPassword.slice(0, 12),
        'argon2 hash': '$argon2',
        'simulator credentials': 'c2ltdWxhdG9y',
        'session cookie': (web.cookies.get('mt_session') ?? 'no-cookie').slice(0, 20),
      };
      for (const [what, secret] of Object.entries(secrets)) {
        assert.ok(!logs.includes(secret), `${what} in the logs`);
        tally.add('secrets');
      }
      for (const body of responses) {
        assert.ok(!body.includes('$argon2'), 'a hash in a response');
        assert.ok(!body.includes(apiPassword.slice(0, 12)), 'the API password in a response');
      }
      // Hashes are salted argon2id: the same password never gives the same hash.
      await api.register('twin one', 't1@x.dk', 'same password');
      await api.register('twin two', 't2@x.dk', 'same password');
      const [one, two] = await Promise.all([
        server.app.store.findUserByName('twin one'),
        server.app.store.findUserByName('twin two'),
      ]);
      assert.match(one?.pw_hash ?? '', /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      assert.notEqual(one?.pw_hash, two?.pw_hash);
      tally.add('secrets');
    } finally {
      await server.close();
    }
  });
});
