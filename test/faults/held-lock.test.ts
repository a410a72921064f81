import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { openDatabase, sqlitePath } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrations.js';
import { type ApiResponse, SimClient, WebClient } from '../helpers/clients.js';
import { createTestDatabase, forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

/** Another connection holding the write lock (SQLite) or locks on every table MiniTwit writes to. */
interface Holder {
  release(): Promise<void>;
}

async function holdLock(kind: 'sqlite' | 'postgres', url: string): Promise<Holder> {
  if (kind === 'sqlite') {
    const other = new SQLite(sqlitePath(url));
    other.exec('BEGIN IMMEDIATE');
    // A write of its own, as a long write by another tool would have.
    other.prepare("UPDATE settings SET value = value WHERE name = 'latest'").run();
    return {
      async release() {
        other.exec('COMMIT');
        other.close();
      },
    };
  }
  const other = new pg.Client({ connectionString: url });
  await other.connect();
  await other.query('BEGIN');
  // Every write of MiniTwit waits; reads (ACCESS SHARE) go on, as under SQLite's write lock.
  await other.query('LOCK TABLE messages, followers, settings IN EXCLUSIVE MODE');
  return {
    async release() {
      await other.query('COMMIT');
      await other.end();
    },
  };
}

/** Settles with the response, remembering whether it has settled yet. */
function watch<T>(promise: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined };
  const done = promise.then((value) => {
    state.settled = true;
    state.value = value;
    return value;
  });
  return { state, done };
}

forEachDatabase('a lock held by another connection', (kind) => {
  // The request path's wait for a lock is DATABASE_LOCK_TIMEOUT_MS on SQLite and the statement
  // timeout on PostgreSQL (lock waits count towards it).
  describe('held longer than the fail-fast wait', () => {
    const server = useServer(kind, {
      env: { DATABASE_LOCK_TIMEOUT_MS: '250', DATABASE_STATEMENT_TIMEOUT_MS: '500' },
    });

    test('reads and health answer, writes answer 503 with Retry-After in each door’s shape, nothing acknowledged is lost', async () => {
      const api = new SimClient(server.apiUrl);
      assert.equal((await api.register('locky')).status, 204);
      assert.equal((await api.get('/latest', { latest: 10 })).status, 200);
      const web = new WebClient(server.webUrl);
      await web.register('locky-web');
      await web.login('locky-web');
      const holder = await holdLock(kind, server.database.url);
      let writes: ApiResponse[];
      try {
        for (const path of ['/healthz', '/public']) {
          assert.equal((await fetch(`${server.webUrl}${path}`)).status, 200, path);
        }
        assert.equal((await api.get('/latest')).json.latest, 10);
        assert.equal((await api.get('/msgs')).status, 200);
        assert.equal((await fetch(`${server.apiUrl}/healthz`)).status, 200);
        // Every simulator request carrying ?latest= writes: it cannot be stored, so it is a 503.
        writes = [
          await api.get('/msgs', { latest: 11 }),
          await api.tweet('locky', 'during the lock'),
          await api.post('/fllws/locky', { follow: 'locky-web' }, { latest: 12 }),
          await api.tweet('locky', 'second try'),
        ];
        const page = await web.request(
          'POST',
          '/add_message',
          new URLSearchParams({ text: 'web during the lock' }),
        );
        assert.equal(page.status, 503);
        assert.ok(Number(page.headers.get('retry-after')) >= 1);
        assert.match(page.headers.get('content-type') ?? '', /text\/html/);
        assert.match(page.html, /busy saving other changes/);
      } finally {
        await holder.release();
      }
      for (const res of writes) {
        assert.equal(res.status, 503, res.text);
        assert.deepEqual(res.json, {
          status: 503,
          error_msg: 'The database is busy: retry shortly',
        });
        assert.ok(Number(res.headers.get('retry-after')) >= 1);
      }
      // The lock is gone: the same writes work, and only what was acknowledged is stored.
      assert.equal((await api.tweet('locky', 'after the lock')).status, 204);
      assert.equal((await api.get('/latest', { latest: 13 })).status, 200);
      assert.equal((await api.get('/latest')).json.latest, 13);
      const texts = (await api.get('/msgs/locky')).json.map((m: { content: string }) => m.content);
      assert.deepEqual(texts, ['after the lock']);
      assert.equal((await fetch(`${server.webUrl}/readyz`)).status, 200);
    });
  });

  describe('held shorter than the wait', () => {
    // A wait long enough that the lock is always released within it, however loaded the machine.
    const server = useServer(kind, {
      env: { DATABASE_LOCK_TIMEOUT_MS: '30000', DATABASE_STATEMENT_TIMEOUT_MS: '30000' },
    });

    test('the write waits without holding up other requests, then succeeds', async () => {
      const api = new SimClient(server.apiUrl);
      assert.equal((await api.register('patient')).status, 204);
      const holder = await holdLock(kind, server.database.url);
      const write = watch(api.tweet('patient', 'waited for the lock'));
      const latest = watch(api.get('/latest', { latest: 77 }));
      try {
        // While both writes wait for the lock, other requests are answered (the event loop runs).
        for (let i = 0; i < 3; i++) {
          assert.equal((await fetch(`${server.apiUrl}/healthz`)).status, 200);
          assert.equal((await api.get('/msgs')).status, 200);
          assert.equal((await fetch(`${server.webUrl}/public`)).status, 200);
          assert.equal((await fetch(`${server.apiUrl}/readyz`)).status, 200);
        }
        assert.equal(write.state.settled, false, 'the write is still waiting for the lock');
        assert.equal(latest.state.settled, false, 'the ?latest= write is still waiting');
      } finally {
        await holder.release();
      }
      assert.equal((await write.done).status, 204);
      assert.equal((await latest.done).status, 200);
      assert.equal((await api.get('/latest')).json.latest, 77);
      assert.deepEqual(
        (await api.get('/msgs/patient')).json.map((m: { content: string }) => m.content),
        ['waited for the lock'],
      );
    });
  });
});

describe('SQLite: waiting for a lock inside the driver', () => {
  const limits = { lockTimeoutMs: 30_000, connectTimeoutMs: 500, statementTimeoutMs: 0 };

  test('a transaction waits for the lock (BEGIN IMMEDIATE tried again) while other statements run', async () => {
    const database = await createTestDatabase('sqlite');
    const handle = openDatabase(database.url, { limits });
    try {
      await migrateToLatest(handle.db, handle.dialect);
      const other = new SQLite(sqlitePath(database.url));
      other.exec('BEGIN IMMEDIATE');
      const transaction = watch(
        handle.db.transaction().execute(async (trx) => {
          await trx.insertInto('settings').values({ name: 'in-transaction', value: 1 }).execute();
          return 'committed';
        }),
      );
      try {
        for (let i = 0; i < 3; i++) {
          const rows = await handle.db.selectFrom('settings').selectAll().execute();
          assert.ok(Array.isArray(rows));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal(transaction.state.settled, false, 'the transaction waits for the lock');
      } finally {
        other.exec('COMMIT');
        other.close();
      }
      assert.equal(await transaction.done, 'committed');
      assert.equal(
        (
          await handle.db
            .selectFrom('settings')
            .select('value')
            .where('name', '=', 'in-transaction')
            .executeTakeFirst()
        )?.value,
        1,
      );
    } finally {
      await handle.close();
      await database.drop();
    }
  });

  test('a statement from outside an open transaction waits for its end and is not part of it', async () => {
    const database = await createTestDatabase('sqlite');
    const handle = openDatabase(database.url, { limits });
    try {
      await migrateToLatest(handle.db, handle.dialect);
      let open!: () => void;
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      let finish!: () => void;
      const gate = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const transaction = handle.db.transaction().execute(async (trx) => {
        await trx.insertInto('settings').values({ name: 'rolled-back', value: 1 }).execute();
        open();
        await gate;
        throw new Error('roll it back');
      });
      await opened;
      const outside = watch(
        handle.db.insertInto('settings').values({ name: 'outside', value: 2 }).execute(),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(outside.state.settled, false, 'the outside write waits for the transaction');
      finish();
      await assert.rejects(transaction, /roll it back/);
      await outside.done;
      const names = (await handle.db.selectFrom('settings').select('name').execute()).map(
        (r) => r.name,
      );
      assert.ok(names.includes('outside'), 'the outside write stays');
      assert.ok(!names.includes('rolled-back'), 'the transaction was rolled back');
    } finally {
      await handle.close();
      await database.drop();
    }
  });
});
