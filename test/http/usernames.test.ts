import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { createApp } from '../../src/app.js';
import { checkNamesCommand } from '../../src/cli/commands/check-names.js';
import { importLegacyCommand } from '../../src/cli/commands/import-legacy.js';
import { loadConfig } from '../../src/config/config.js';
import { legacyDatabase } from '../../src/config/paths.js';
import { openDatabase } from '../../src/db/connect.js';
import { LIMITS } from '../../src/domain/validation.js';
import { reservedSegments } from '../../src/http/routes.js';
import { createLogger } from '../../src/observability/logger.js';
import { runCommand } from '../dataops/state.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { createTestDatabase, forEachDatabase } from '../helpers/databases.js';
import { TEST_SECRET, useServer } from '../helpers/server.js';

const LEGACY = legacyDatabase;

/** Every UTF-8 byte as %XX: the longest way a client can write a name in a URL. */
const everyByte = (name: string, hex: (h: string) => string = (h) => h.toUpperCase()) =>
  [...Buffer.from(name)].map((b) => `%${hex(b.toString(16).padStart(2, '0'))}`).join('');

/** The ways a client may put a name into a path segment; the server must route all of them. */
const ENCODINGS: [string, (name: string) => string][] = [
  ['encodeURIComponent', encodeURIComponent],
  ['every byte %XX', (name) => everyByte(name)],
  ['every byte %xx', (name) => everyByte(name, (h) => h.toLowerCase())],
];

const codePoints = (name: string) => [...name].length;
/** The first `n` code points of `text` (never half a surrogate pair). */
const first = (text: string, n = LIMITS.username) => [...text].slice(0, n).join('');

/** Names at the boundary registration draws: LIMITS.username code points, of many kinds. */
const AT_THE_LIMIT: [string, string][] = [
  ['astral emoji', '😀'.repeat(64)],
  ['astral letters', '𝒜'.repeat(64)],
  ['base + combining accent', 'e\u0301'.repeat(32)],
  ['stacked combining marks', `a${'\u0301\u0302\u0303'.repeat(21)}`],
  ['characters kept %XX by the router', first('?#%&+,:;=@$'.repeat(6))],
  ['percent signs', '%'.repeat(64)],
  ['ZWJ family, repeated', first('👨\u200D👩\u200D👧'.repeat(13))],
  ['plain ASCII', 'a'.repeat(64)],
  ['mixed scripts and a space', first(`Åsa Ölund 東京 ${'😀'.repeat(60)}`)],
];

const OVER_THE_LIMIT: [string, string][] = [
  ['65 astral emoji', '😀'.repeat(65)],
  ['65 ASCII letters', 'a'.repeat(65)],
  ['33 base + combining pairs', 'e\u0301'.repeat(33)],
];

forEachDatabase('usernames: registration and routing agree', (kind) => {
  const server = useServer(kind, { env: { REGISTER_LIMIT_PER_ADDRESS: '0' } });

  test('the boundary names have exactly LIMITS.username code points (the test data is right)', () => {
    for (const [what, name] of AT_THE_LIMIT) {
      assert.equal(codePoints(name), LIMITS.username, what);
      assert.doesNotMatch(name, /\p{Surrogate}/u, what);
    }
    for (const [what, name] of OVER_THE_LIMIT) assert.ok(codePoints(name) > LIMITS.username, what);
  });

  test('every name at the limit registers, and every URL naming it works, however it is encoded', async () => {
    const api = new SimClient(server.apiUrl);
    assert.equal((await api.register('reader')).status, 204);
    const web = new WebClient(server.webUrl);
    assert.equal((await web.register('viewer')).status, 200);
    await web.login('viewer');
    for (const [what, name] of AT_THE_LIMIT) {
      const registered = await api.register(name);
      assert.equal(registered.status, 204, `${what}: ${registered.text}`);
      for (const [how, encode] of ENCODINGS) {
        const segment = encode(name);
        const label = `${what}, ${how}`;
        const posted = await api.request('POST', `/msgs/${segment}`, { body: { content: 'hi' } });
        assert.equal(posted.status, 204, `POST /msgs: ${label}: ${posted.text}`);
        const read = await api.get(`/msgs/${segment}`);
        assert.equal(read.status, 200, `GET /msgs: ${label}: ${read.text}`);
        assert.equal(read.json[0]?.user, name, label);
        const follow = await api.request('POST', `/fllws/${segment}`, {
          body: { follow: 'reader' },
        });
        assert.equal(follow.status, 204, `POST /fllws: ${label}: ${follow.text}`);
        const follows = await api.get(`/fllws/${segment}`);
        assert.deepEqual(follows.json, { follows: ['reader'] }, `GET /fllws: ${label}`);
        const page = await web.get(`/${segment}`);
        assert.equal(page.status, 200, `web /<name>: ${label}`);
        const followed = await web.get(`/${segment}/follow`, { 'sec-fetch-site': 'same-origin' });
        assert.equal(followed.status, 302, `web /<name>/follow: ${label}`);
        const unfollowed = await web.get(`/${segment}/unfollow`, {
          'sec-fetch-site': 'same-origin',
        });
        assert.equal(unfollowed.status, 302, `web /<name>/unfollow: ${label}`);
      }
    }
  });

  test('names over the limit are refused with the limit named, and their URLs stay in shape', async () => {
    const api = new SimClient(server.apiUrl);
    for (const [what, name] of OVER_THE_LIMIT) {
      const refused = await api.register(name);
      assert.equal(refused.status, 400, what);
      assert.equal(refused.json.error_msg, 'The username can be at most 64 characters long');
      for (const [how, encode] of ENCODINGS) {
        const res = await api.get(`/msgs/${encode(name)}`);
        assert.ok([404, 414].includes(res.status), `${what}, ${how}: ${res.status}`);
        assert.equal(res.json.status, res.status);
      }
    }
  });

  test('an unpaired surrogate is refused (it is not text: no URL or database could hold it)', async () => {
    const api = new SimClient(server.apiUrl);
    const res = await api.request('POST', '/register', {
      rawBody: '{"username":"a\\ud800b","email":"s@x","pwd":"p"}',
    });
    assert.equal(res.status, 400);
    assert.match(res.json.error_msg, /not valid Unicode/);
  });

  test('every path segment a fixed route takes is refused, on both doors, with the reason', async () => {
    const reserved = await server.app.reservedUsernames();
    // Computed here from the live route tables, independently of the server's derivation: the
    // first segment of every fixed web route (the web has /:username at the root).
    const fixed = new Set(
      server.app.web.routeTable
        .map((r) => r.url.split('/')[1] ?? '')
        .filter((s) => s !== '' && !s.startsWith(':')),
    );
    for (const page of ['public', 'login', 'logout', 'register', 'add_message', 'static']) {
      assert.ok(fixed.has(page), `the web routes have /${page}`);
    }
    for (const probe of ['healthz', 'readyz']) assert.ok(fixed.has(probe), probe);
    assert.deepEqual(
      [...fixed].filter((s) => !reserved.has(s)),
      [],
      'all are reserved',
    );

    const api = new SimClient(server.apiUrl);
    const web = new WebClient(server.webUrl);
    for (const name of [...reserved, '.', '..']) {
      const viaApi = await api.register(name);
      assert.equal(viaApi.status, 400, `API: ${name}`);
      assert.match(viaApi.json.error_msg, /page of MiniTwit|web addresses drop it/, name);
      const viaWeb = await web.register(name);
      assert.equal(viaWeb.status, 400, `web: ${name}`);
      assert.match(viaWeb.html, /page of MiniTwit|web addresses drop it/, name);
    }
  });
});

describe('reserved usernames follow the route table', () => {
  test('a fixed route added to a door makes its segment unregistrable at once', async () => {
    const database = await createTestDatabase('sqlite');
    const app = await createApp(
      loadConfig({
        DATABASE_URL: database.url,
        SESSION_SECRET: TEST_SECRET,
        METRICS_ENABLED: 'false',
      }),
      { logger: createLogger({ level: 'silent' }) },
    );
    try {
      const user = { email: 'a@b', password: 'pw' };
      assert.equal(typeof (await app.domain.register({ ...user, username: 'about' })), 'number');
      app.web.get('/help', async () => 'help');
      app.api.get('/msgs/:username/likes', async () => []);
      await assert.rejects(app.domain.register({ ...user, username: 'help' }), /page of MiniTwit/);
      // A fixed segment below another segment does not collide with /:username.
      assert.equal(typeof (await app.domain.register({ ...user, username: 'likes' })), 'number');
      assert.ok((await app.reservedUsernames()).has('help'));
    } finally {
      await app.close();
      await database.drop();
    }
  });

  test('reservedSegments: fixed segments where a sibling route has the parameter', () => {
    const table = (...urls: string[]) => urls.map((url) => ({ method: 'GET', url }));
    const reserved = reservedSegments(
      [
        table('/', '/public', '/:username', '/:username/follow', '/static/style.css'),
        table('/msgs', '/msgs/:username', '/msgs/recent', '/fllws/:username'),
      ],
      'username',
    );
    // Per door: the API's /msgs does not hide the web's /msgs (another port).
    assert.deepEqual([...reserved].sort(), ['public', 'recent', 'static']);
  });
});

forEachDatabase('stored usernames registration refuses today', (kind) => {
  const server = useServer(kind);

  test('check-names lists them with the rule; the API still serves a reserved name', async () => {
    const clean = await runCommand(checkNamesCommand, [], { database: server.database.url });
    assert.equal(clean.code, 0, clean.out.join('\n'));
    const handle = openDatabase(server.database.url);
    try {
      for (const username of ['public', '..', 'x'.repeat(70), 'fine name']) {
        await handle.db
          .insertInto('users')
          .values({ username, email: 'old@x', pw_hash: 'x' })
          .execute();
      }
    } finally {
      await handle.close();
    }
    const found = await runCommand(checkNamesCommand, [], { database: server.database.url });
    assert.equal(found.code, 1);
    const text = found.out.join('\n');
    assert.match(text, /3 stored username\(s\)/);
    assert.match(text, /"public": The username "public" is taken by a page of MiniTwit/);
    assert.match(text, /"\.\.": The username cannot be "\.\."/);
    assert.match(text, /"x{70}": The username can be at most 64 characters long/);
    assert.doesNotMatch(text, /fine name/);
    assert.match(text, /rename it/);

    const api = new SimClient(server.apiUrl);
    assert.equal((await api.tweet('public', 'still here')).status, 204);
    const read = await api.get('/msgs/public');
    assert.equal(read.status, 200);
    assert.equal(read.json[0]?.content, 'still here');
  });

  test('import-legacy reports the legacy names it imported that registration refuses', async () => {
    const file = join(tmpdir(), `legacy-names-${process.pid}-${kind}.db`);
    copyFileSync(LEGACY, file);
    const legacy = new SQLite(file);
    legacy
      .prepare(
        "insert into user (username, email, pw_hash) values (?, 'l@x', 'pbkdf2:sha256:1$s$h')",
      )
      .run('register');
    legacy.close();
    const target = await createTestDatabase(kind);
    try {
      const result = await runCommand(importLegacyCommand, [file], { database: target.url });
      assert.equal(result.code, 0, result.err.join('\n'));
      const err = result.err.join('\n');
      assert.match(err, /imported 1 username\(s\) registration would refuse today/);
      assert.match(err, /"register": The username "register" is taken by a page of MiniTwit/);
    } finally {
      rmSync(file, { force: true });
      await target.drop();
    }
  });
});
