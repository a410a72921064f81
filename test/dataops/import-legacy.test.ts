import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { importLegacyCommand } from '../../src/cli/commands/import-legacy.js';
import { legacyDatabase } from '../../src/config/paths.js';
import { openDatabase } from '../../src/db/connect.js';
import { readScenario } from '../../src/sim/scenario.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';
import { runCommand, SCENARIO } from './state.js';

const LEGACY = legacyDatabase;

function importLegacy(url: string, extra: Record<string, string | boolean> = {}) {
  return runCommand(importLegacyCommand, [LEGACY], { database: url, ...extra });
}

/** The scenario's register lines among its first 3,000: user -> password. */
async function scenarioPasswords(): Promise<Map<string, string>> {
  const passwords = new Map<string, string>();
  for await (const a of readScenario(SCENARIO, { lines: 3000 })) {
    if (a.command === 'register') passwords.set(a.user, a.pwd ?? '');
  }
  return passwords;
}

forEachDatabase('import-legacy of the reference minitwit.db', (kind) => {
  const server = useServer(kind);
  let output: string[];

  before(async () => {
    const result = await importLegacy(server.database.url);
    assert.equal(result.code, 0, result.err.join('\n'));
    output = result.out;
  });

  test('counts match the legacy file after de-duplication, latest comes along', async () => {
    // fixtures/README.md: 131 users, 2,322 messages, 506 follower rows of which 505 distinct.
    assert.deepEqual(await server.app.store.counts(), {
      users: 131,
      messages: 2322,
      followers: 505,
    });
    assert.match(output.join('\n'), /follower rows 506 -> 505 distinct follows/);
    const api = new SimClient(server.apiUrl);
    assert.deepEqual((await api.get('/latest')).json, { latest: 2999 });
  });

  test('flagged and NULL-flagged messages stay hidden; numbers stored by SQLite come back as text', async () => {
    const api = new SimClient(server.apiUrl);
    const all = await api.get('/msgs?no=10000');
    assert.equal(all.status, 200);
    assert.equal(all.json.length, 2320);
    const contents = all.json.map((m: { content: string }) => m.content);
    assert.equal(contents.includes('a 2020-era message with flagged NULL'), false);
    const numbers = await api.get('/msgs/1234?no=10');
    assert.equal(numbers.status, 200);
    // The legacy file holds the integer 7 (the reference's numeric affinity ate "007").
    assert.deepEqual(
      numbers.json.map((m: { content: unknown }) => m.content),
      ['7'],
    );
    const handle = openDatabase(server.database.url);
    try {
      const hidden = await handle.db
        .selectFrom('messages')
        .select(['message_id', 'flagged'])
        .where('flagged', '<>', 0)
        .orderBy('message_id')
        .execute();
      assert.deepEqual(
        hidden.map((m) => m.message_id),
        [5, 2322],
      );
      const user = await handle.db
        .selectFrom('users')
        .select(['username'])
        .where('username', '=', '1234')
        .executeTakeFirst();
      assert.equal(typeof user?.username, 'string');
    } finally {
      await handle.close();
    }
  });

  test('users log in through the web app with their old passwords, and get argon2id', async () => {
    const passwords = await scenarioPasswords();
    const sample = [...passwords].slice(0, 3);
    sample.push(['1234', 'secret'], ['Werkzeug Three', 'scrypt-pass']);
    for (const [username, password] of sample) {
      const web = new WebClient(server.webUrl);
      const wrong = await web.login(username, `${password}x`);
      assert.match(wrong.html, /Invalid password/, username);
      const page = await web.login(username, password);
      assert.match(page.html, /You were logged in/, username);
      assert.match(page.html, /My Timeline/, username);
      const user = await server.app.store.findUserByName(username);
      assert.match(user?.pw_hash ?? '', /^\$argon2id\$/, username);
    }
  });

  test('new users and messages get fresh ids after the import', async () => {
    const api = new SimClient(server.apiUrl);
    assert.equal((await api.register('After Import')).status, 204);
    assert.equal((await api.tweet('After Import', 'first post')).status, 204);
    const user = await server.app.store.findUserByName('After Import');
    assert.equal(user?.user_id, 132);
  });

  test('a second import is refused without --force', async () => {
    const again = await importLegacy(server.database.url);
    assert.notEqual(again.code, 0);
    assert.equal((await server.app.store.counts()).users, 132);
  });
});
