import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { SimClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

const run = promisify(execFile);

async function minitwit(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/minitwit.js', ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('minitwit --help lists the commands', async () => {
  const res = await minitwit(['--help']);
  assert.equal(res.code, 0);
  for (const name of ['serve', 'migrate', 'messages', 'flag', 'unflag']) {
    assert.match(res.stdout, new RegExp(`^  ${name} `, 'm'), name);
  }
  const unknown = await minitwit(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});

forEachDatabase('operator CLI', (kind) => {
  const server = useServer(kind);
  let api: SimClient;
  let db: string;
  before(async () => {
    api = new SimClient(server.apiUrl);
    db = server.database.url;
    await api.register('mod');
    for (const text of ['one', 'two, with "quotes"', 'three']) await api.tweet('mod', text);
  });

  test('migrate is idempotent', async () => {
    const res = await minitwit(['migrate', '--database', db]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /up to date/);
  });

  test('messages lists id,author_id,text,flagged as CSV; flag and unflag by id', async () => {
    const list = await minitwit(['messages', '--database', db]);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines[0], 'id,author_id,text,flagged');
    assert.equal(lines.length, 4);
    assert.match(lines[2] ?? '', /^\d+,\d+,"two, with ""quotes""",0$/);
    const id = lines[2]?.split(',')[0] ?? '';

    const flag = await minitwit(['flag', id], { DATABASE_URL: db });
    assert.equal(flag.code, 0, flag.stderr);
    assert.deepEqual(
      (await api.get('/msgs/mod')).json.map((m: { content: string }) => m.content),
      ['three', 'one'],
    );
    const flagged = await minitwit(['messages', '--flagged', '--database', db]);
    assert.equal(flagged.stdout.trim().split('\n').length, 2);

    const unflag = await minitwit(['unflag', id, '--database', db]);
    assert.equal(unflag.code, 0);
    assert.equal((await api.get('/msgs/mod')).json.length, 3);

    const missing = await minitwit(['flag', '999999', '--database', db]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such message: 999999/);
  });

  test('injection through the ids is refused and flags nothing', async () => {
    for (const payload of ['1 OR 1=1', '1; DROP TABLE messages', '0', '-1', '1.5', '']) {
      const res = await minitwit(['flag', payload, '--database', db]);
      assert.equal(res.code, 1, payload);
      assert.match(res.stderr, /not a message id|give one or more|Unknown option/);
    }
    assert.equal((await api.get('/msgs/mod')).json.length, 3, 'nothing was flagged');
  });
});
