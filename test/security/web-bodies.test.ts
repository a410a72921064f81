import assert from 'node:assert/strict';
import { after, before, type TestContext, test } from 'node:test';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';
import { snapshot, Tally } from './support.js';

forEachDatabase('web forms under odd bodies and paths', (kind) => {
  const server = useServer(kind);
  const tally = new Tally();
  before(async () => {
    await new SimClient(server.apiUrl).register('ann', 'a@x.dk', 'pw');
    await new SimClient(server.apiUrl).register('bo', 'b@x.dk', 'pw');
  });
  after(async (t) => {
    tally.report(t as unknown as TestContext, `web bodies, ${kind}`);
  });

  test('every POST route with wrong content types and shapes: no 5xx, always a page, no change', async () => {
    const client = new WebClient(server.webUrl);
    await client.login('ann', 'pw');
    // The token field forms carried before the cross-origin check replaced it: now just a field.
    const token = 'a-token-from-an-old-page';
    const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const before_ = await snapshot(server.app);
    const json = 'application/json';
    const form = 'application/x-www-form-urlencoded';
    const bodies: [string | undefined, string][] = [
      [json, 'null'],
      [json, '"text"'],
      [json, '[1, 2]'],
      [json, `{"_csrf": "${token}", "text": {"a": 1}}`],
      [json, `{"_csrf": ["${token}"], "text": "x"}`],
      [json, `{"_csrf": "${token}", "text": "\\u0000"}`],
      [json, `{"_csrf": "${token}", "username": 5, "password": []}`],
      [json, '{broken'],
      ['text/plain', 'text=x'],
      ['multipart/form-data; boundary=x', '--x--'],
      [undefined, 'x'],
      [form, `_csrf=${token}&text=%00`],
      [form, `_csrf=${token}&text=%ED%A0%80`],
      [form, `_csrf=${token}&text[a]=1`],
      [form, `_csrf=${token}&username=%00&password=x`],
      [form, `_csrf=${token}&username=ann&username=bo&password=pw`],
      [form, '%%%'],
    ];
    const paths = ['/add_message', '/login', '/register', '/bo/follow', '/bo/unfollow', '/logout'];
    const extra = ['/nobody/follow', '/', '/public', '/%00', '/%00/follow'];
    for (const path of [...paths, ...extra]) {
      for (const [type, body] of bodies) {
        const headers: Record<string, string> = { cookie };
        if (type) headers['content-type'] = type;
        const res = await fetch(`${server.webUrl}${path}`, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
        });
        await res.text();
        const what = `POST ${path} ${type} ${body.slice(0, 40)} -> ${res.status}`;
        assert.ok(res.status < 500, what);
        if (res.status !== 302) {
          assert.match(res.headers.get('content-type') ?? '', /^text\/html/, what);
        }
        tally.add('odd bodies');
      }
    }
    // Only a well-formed message may have been stored, never a NUL or lone surrogate.
    const now = await snapshot(server.app);
    assert.deepEqual(now.users, before_.users);
    for (const m of now.messages.slice(before_.messages.length)) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for NUL is the point
      assert.doesNotMatch(m.text, /[\u0000\ud800-\udfff]/, 'a control character or lone surrogate');
    }
  });

  test('odd GET paths and queries: no 5xx', async () => {
    const client = new WebClient(server.webUrl);
    await client.login('ann', 'pw');
    for (const path of [
      '/%00',
      '/%00/follow',
      '/ann?before=%00',
      '/%E2%80%AE',
      `/${'a'.repeat(99)}`,
      '/..%2F..%2Fetc%2Fpasswd',
      '/static/..%2F..%2Fpackage.json',
      '/static/style.css%00',
      '/public?before=1&before=2',
      '/?before[x]=1',
    ]) {
      const res = await client.get(path);
      assert.ok(res.status < 500, `${path}: ${res.status}`);
      assert.ok(!res.html.includes('"name": "minitwit"'), 'no file outside static is served');
      tally.add('odd paths');
    }
  });
});
