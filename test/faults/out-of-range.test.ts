import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { LARGEST_ID } from '../../src/db/store.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

const run = promisify(execFile);

async function minitwit(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/minitwit.js', ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * Whole numbers at and beyond the edges of every id column: PostgreSQL's integer (2^31 - 1),
 * 2^32, JavaScript's exact integers (2^53 - 1, 2^53), SQLite's and bigint's 64 bits, and more
 * digits than any of them.
 */
const LARGE = [
  '2147483647',
  '2147483648',
  '4294967296',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '9223372036854775807',
  '9223372036854775808',
  '18446744073709551616',
  `1${'0'.repeat(40)}`,
  `9${'9'.repeat(400)}`,
];

forEachDatabase('ids and cursors beyond the column type', (kind) => {
  const server = useServer(kind);
  let api: SimClient;
  let newest: string;
  before(async () => {
    api = new SimClient(server.apiUrl);
    assert.equal((await api.register('ranger')).status, 204);
    for (let i = 1; i <= 3; i++)
      assert.equal((await api.tweet('ranger', `range ${i}`)).status, 204);
    newest = 'range 3';
  });

  test('web: a before= cursor above every id is the first page; 1 is an empty page', async () => {
    const web = new WebClient(server.webUrl);
    await web.register('range-reader');
    await web.login('range-reader');
    for (const before of LARGE) {
      for (const path of ['/public', '/ranger']) {
        const res = await web.get(`${path}?before=${before}`);
        assert.equal(res.status, 200, `${path}?before=${before}`);
        assert.ok(res.html.includes(newest), `${path}?before=${before} shows the newest message`);
      }
      const home = await web.get(`/?before=${before}`);
      assert.equal(home.status, 200, `/?before=${before}`);
    }
    for (const path of ['/public', '/ranger', '/']) {
      const first = await web.get(`${path}?before=1`);
      assert.equal(first.status, 200, `${path}?before=1`);
      assert.ok(!first.html.includes('range 1'), `${path}?before=1 is empty`);
    }
    // Not whole numbers, or not positive: a clear 400, as before.
    for (const bad of ['0', '-1', '-2147483649', '1e5', '2147483648.5', '0x10']) {
      assert.equal((await web.get(`/public?before=${bad}`)).status, 400, bad);
    }
  });

  test('API: ?no= of any size lists at most MAX_NO rows; ?latest= up to 2^53 - 1 is stored', async () => {
    for (const no of LARGE) {
      for (const path of ['/msgs', '/msgs/ranger', '/fllws/ranger']) {
        const res = await api.get(`${path}?no=${no}`);
        assert.equal(res.status, 200, `${path}?no=${no}: ${res.text}`);
      }
      assert.equal((await api.get(`/msgs?no=${no}`)).json[0].content, newest);
    }
    for (const latest of ['2147483648', '-2147483649', '9007199254740991', '-9007199254740991']) {
      assert.equal((await api.get('/msgs?no=1', { latest })).status, 200);
      assert.equal((await api.get('/latest')).json.latest, Number(latest), latest);
    }
    // Beyond 2^53 - 1 a value cannot be kept exactly: ignored, never an error.
    for (const latest of ['9007199254740992', '9223372036854775808', LARGE.at(-1) ?? '']) {
      assert.equal((await api.get('/msgs?no=1', { latest })).status, 200, latest);
      assert.equal((await api.get('/latest')).json.latest, -9007199254740991);
    }
  });

  test('store: ids out of range name no row, cursors out of range bound nothing', async () => {
    const store = server.app.store;
    assert.equal(store.largestId, LARGEST_ID[kind]);
    const user = await store.findUserByName('ranger');
    assert.ok(user);
    for (const id of [2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, -1, -(2 ** 31) - 1, 0, 1.5, Number.NaN]) {
      assert.equal(await store.findUserById(id), undefined, String(id));
      assert.deepEqual(await store.setFlagged([id], 1), [], String(id));
      assert.deepEqual(await store.userTimeline(id, { limit: 5 }), [], String(id));
      assert.deepEqual(await store.homeTimeline(id, { limit: 5 }), [], String(id));
    }
    for (const before of [2 ** 31, 2 ** 53, Number.MAX_VALUE, Number.POSITIVE_INFINITY]) {
      assert.equal((await store.publicTimeline({ limit: 1, before }))[0]?.text, newest);
      assert.equal((await store.userTimeline(user.user_id, { limit: 1, before }))[0]?.text, newest);
      assert.equal((await store.homeTimeline(user.user_id, { limit: 1, before }))[0]?.text, newest);
    }
    for (const before of [1, 0, -1, -(2 ** 31) - 1, -(2 ** 53)]) {
      assert.deepEqual(await store.publicTimeline({ limit: 5, before }), [], String(before));
      assert.deepEqual(await store.userTimeline(user.user_id, { limit: 5, before }), []);
      assert.deepEqual(await store.homeTimeline(user.user_id, { limit: 5, before }), []);
    }
  });

  test('CLI: flag and unflag ids beyond the column: the others are changed, those reported missing', async () => {
    const db = server.database.url;
    const list = await minitwit(['messages', '--database', db]);
    const id = list.stdout.trim().split('\n')[1]?.split(',')[0] ?? '';
    assert.match(id, /^\d+$/);
    for (const command of ['flag', 'unflag']) {
      const res = await minitwit([
        command,
        id,
        '2147483648',
        '9007199254740993',
        LARGE.at(-2) ?? '',
        '--database',
        db,
      ]);
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stdout, new RegExp(`${command}ged 1 message\\(s\\): ${id}\\b`));
      assert.equal(
        res.stderr.trim(),
        `no such message: 2147483648 9007199254740993 ${LARGE.at(-2)}`,
      );
    }
    assert.equal((await api.get('/msgs/ranger')).json.length, 3, 'unflagged again');
  });
});
