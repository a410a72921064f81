import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { DatabaseFaults } from '../../src/db/faults.js';
import { createLogger } from '../../src/observability/logger.js';
import { freePort } from '../deploy/processes.js';
import { SimClient } from '../helpers/clients.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { waitForStatus } from '../helpers/fault-load.js';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);

/** Overwrites page `page` (1-based) of the SQLite file at `path` with garbage. */
function damagePage(path: string, page: number, pageSize: number) {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

const quiet = () => createLogger({ level: 'silent', destination: { write: () => {} } });

/**
 * 13.8: a SQLite file with damaged pages must not look healthy. The server still starts at once
 * (the check runs in the background), then reports not-ready naming the file, and requests that
 * meet the damage answer 503 in each door's shape instead of 500.
 */
describe('a damaged SQLite file', () => {
  let database: TestDatabase;
  let server: TestServer;
  let file: string;

  before(async () => {
    database = await createTestDatabase('sqlite');
    file = database.url.slice('sqlite:'.length);
    const first = await startServer('sqlite', { database });
    const api = new SimClient(first.apiUrl);
    assert.equal((await api.register('victim')).status, 204);
    await first.stop();
    // Enough messages that the (author_id, message_id) index spans several pages.
    const db = new SQLite(file);
    db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
      INSERT INTO messages (author_id, text, pub_date, flagged)
      SELECT 1, 'message ' || i, 1700000000 + i, 0 FROM n;
    `);
    const { rootpage } = db
      .prepare("SELECT rootpage FROM sqlite_master WHERE name = 'messages_author_id_message_id'")
      .get() as { rootpage: number };
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    damagePage(file, rootpage, pageSize);
    server = await startServer('sqlite', { database });
  });

  after(async () => {
    await server?.close();
  });

  test('starts, then /readyz says corrupt naming the file; /healthz stays 200', async () => {
    const ready = JSON.parse(await waitForStatus(`${server.apiUrl}/readyz`, 503));
    assert.ok(ready.checks.database.startsWith(`corrupt: ${file}: `), ready.checks.database);
    assert.equal((await fetch(`${server.webUrl}/healthz`)).status, 200);
  });

  test('requests meeting the damage answer 503 with Retry-After in each door’s shape', async () => {
    const api = await new SimClient(server.apiUrl).get('/msgs/victim');
    assert.equal(api.status, 503, api.text);
    assert.deepEqual(api.json, {
      status: 503,
      error_msg: 'The database is damaged: the operators must repair it; retry later',
    });
    assert.ok(Number(api.headers.get('retry-after')) >= 1);
    const page = await fetch(`${server.webUrl}/victim`);
    assert.equal(page.status, 503);
    assert.match(await page.text(), /operators must repair the database/);
    assert.ok(Number(page.headers.get('retry-after')) >= 1);
  });
});

describe('database faults are tracked until their cause is gone', () => {
  test('a damaged page met by a query is a fault naming the file; a clean check clears it', async () => {
    const database = await createTestDatabase('sqlite');
    const file = database.url.slice('sqlite:'.length);
    try {
      new SQLite(file).close();
      const faults = new DatabaseFaults(file, file);
      const damaged = Object.assign(new Error('database disk image is malformed'), {
        code: 'SQLITE_CORRUPT',
      });
      assert.equal(faults.noteError(damaged), 'corrupt');
      const [fault] = faults.current();
      assert.equal(fault?.condition, 'corrupt');
      assert.equal(fault?.detail, `${file}: database disk image is malformed`);
      await faults.checkIntegrity();
      assert.deepEqual(faults.current(), []);
    } finally {
      await database.drop();
    }
  });

  test('PostgreSQL: a full disk is reported for a while, then tried again', () => {
    let now = 1_000_000;
    const faults = new DatabaseFaults('postgres://u:***@db/x', undefined, () => now);
    const full = Object.assign(new Error('could not extend file'), { code: '53100' });
    assert.equal(faults.noteError(full), 'full');
    assert.equal(
      faults.current()[0]?.detail,
      'postgres://u:***@db/x: writes fail: could not extend file',
    );
    now += 60_000;
    assert.deepEqual(faults.current(), []);
  });
});

describe('errors about a database name it', () => {
  const config = (url: string) =>
    loadConfig({
      DATABASE_URL: url,
      SESSION_SECRET: TEST_SECRET,
      METRICS_ENABLED: 'false',
      HOST: '127.0.0.1',
    });
  const scratch = mkdtempSync(join(tmpdir(), 'minitwit-named-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('a SQLite file that cannot be opened, or is not a database', async () => {
    const notADir = join(scratch, 'plain-file');
    writeFileSync(notADir, 'x');
    const inside = join(notADir, 'minitwit.db');
    await assert.rejects(
      createApp(config(`sqlite:${inside}`), { logger: quiet() }),
      (error: Error) => error.message.startsWith(`cannot open the SQLite database ${inside}: `),
    );
    const garbage = join(scratch, 'garbage.db');
    writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
    await assert.rejects(
      createApp(config(`sqlite:${garbage}`), { logger: quiet() }),
      (error: Error) => error.message.includes(garbage) && /not a database/.test(error.message),
    );
  });

  test('an unreachable PostgreSQL: the redacted URL, never the password or "migration unknown"', async () => {
    const port = await freePort();
    const url = `postgres://postgres:hunter2@127.0.0.1:${port}/nowhere`;
    await assert.rejects(createApp(config(url), { logger: quiet() }), (error: Error) => {
      assert.ok(
        error.message.includes(`postgres://postgres:***@127.0.0.1:${port}/nowhere`),
        error.message,
      );
      assert.ok(!error.message.includes('hunter2'));
      assert.ok(!error.message.includes('migration unknown'));
      return true;
    });
    const cli = await run(process.execPath, [
      'bin/minitwit.js',
      'messages',
      '--database',
      url,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /the database cannot be reached/);
    assert.ok(cli.stderr.includes(`postgres://postgres:***@127.0.0.1:${port}/nowhere`), cli.stderr);
    assert.ok(!cli.stderr.includes('hunter2'));
  });
});
