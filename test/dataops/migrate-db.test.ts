import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { importLegacyCommand } from '../../src/cli/commands/import-legacy.js';
import { migrateDbCommand } from '../../src/cli/commands/migrate-db.js';
import { legacyDatabase } from '../../src/config/paths.js';
import type { LiveMigrationResult } from '../../src/dataops/live-migration.js';
import { migrateLive } from '../../src/dataops/live-migration.js';
import { migrateDatabase } from '../../src/dataops/migrate-db.js';
import { summarize } from '../../src/dataops/transfer.js';
import { openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrations.js';
import { Store } from '../../src/db/store.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { createTestDatabase, postgresProblem } from '../helpers/databases.js';
import { needs } from '../helpers/prerequisites.js';
import { startServer } from '../helpers/server.js';
import { actualState, expectedState, missing, runCommand, trackedReplay } from './state.js';

const LINES = 3000;
const MIGRATE_AT = 600;

describe('migrate-db from SQLite to PostgreSQL while the scenario replays against the source', () => {
  test('no acknowledged write is missing after the switch, new writes succeed, the pause is measured', async (t) => {
    if (!needs(t, 'PostgreSQL', await postgresProblem(), 'migrate-db')) return;
    const source = await startServer('sqlite');
    const targetDb = await createTestDatabase('postgres');
    // The new server is up before the move but gets traffic only once the target is ready.
    const target = await startServer('postgres', { database: targetDb });
    try {
      let current = source.apiUrl;
      let switchedAt = 0;
      let migration: Promise<LiveMigrationResult> | undefined;
      const stderr: string[] = [];
      const replayed = await trackedReplay({
        lines: LINES,
        url: () => current,
        beforeAction: (index) => {
          if (index !== MIGRATE_AT) return;
          migration = migrateDatabase({
            from: source.database.url,
            to: targetDb.url,
            log: (line) => stderr.push(line),
            onReady: () => {
              // What a load balancer does when the operator switches: new requests go there.
              current = target.apiUrl;
              switchedAt = performance.now();
            },
          });
          migration.catch(() => {});
        },
        onUnavailable: async () => {
          const deadline = performance.now() + 60_000;
          while (current === source.apiUrl && performance.now() < deadline) {
            await new Promise((r) => setTimeout(r, 5));
          }
        },
      });
      assert.ok(migration, 'the migration started');
      const result = await migration;
      assert.ok(switchedAt > 0);

      assert.deepEqual(replayed.failed, [], 'every action was acknowledged in the end');
      const viaSource = replayed.acked.filter((a) => a.via === source.apiUrl).length;
      const viaTarget = replayed.acked.filter((a) => a.via === target.apiUrl).length;
      const retried = replayed.acked.filter((a) => a.retried).length;
      assert.ok(viaSource > MIGRATE_AT, 'the source served during the copy');
      assert.ok(viaTarget > 0, 'the replay went on against the target');

      // Every acknowledged action, on either side of the switch, is in the target; nothing else.
      const expected = expectedState(replayed.acked);
      const actual = await actualState(targetDb.url);
      assert.deepEqual(missing(expected, actual), []);
      assert.equal(actual.users.size, expected.users.size);
      assert.equal(actual.follows.size, expected.follows.size);
      const total = (s: typeof expected) => [...s.tweets.values()].reduce((a, n) => a + n, 0);
      assert.equal(total(actual), total(expected));
      assert.equal(actual.latest, LINES - 1);

      // New writes after the replay succeed on the target (sequences advanced past copied ids).
      const api = new SimClient(target.apiUrl);
      assert.equal((await api.register('After The Move')).status, 204);
      assert.equal((await api.tweet('After The Move', 'hello from PostgreSQL')).status, 204);
      // The old database refuses writes with a clear 503, never a 500.
      const old = new SimClient(source.apiUrl);
      const refused = await old.tweet('Roger Histand', 'too late');
      assert.equal(refused.status, 503);
      assert.equal(refused.json.status, 503);
      assert.match(refused.json.error_msg, /database is moving/);
      // The web app says so too: signing in writes a session, and gets a 503 page.
      const web = new WebClient(source.webUrl);
      const signIn = await web.post('/login', {
        username: 'Roger Histand',
        password: ']=)[X{Km{z',
      });
      assert.equal(signIn.status, 503);
      assert.match(signIn.html, /moving to a new database/);
      // An operator can reopen the old database on purpose.
      const reopened = await runCommand(migrateDbCommand, [], {
        unseal: true,
        from: source.database.url,
      });
      assert.equal(reopened.code, 0, reopened.err.join('\n'));
      assert.equal((await old.tweet('Roger Histand', 'reopened')).status, 204);

      assert.ok(Number.isFinite(result.pauseMs) && result.pauseMs > 0);
      assert.ok(result.passes.some((p) => p.phase === 'catch-up'));
      assert.ok(result.checked.length >= 6);
      t.diagnostic(
        `write pause ${Math.round(result.pauseMs)} ms; ${result.rowsMoved} rows moved in ${Math.round(result.totalMs)} ms; ` +
          `${viaSource} actions via the source, ${viaTarget} via the target, ${retried} retried after a 503`,
      );
      for (const p of result.passes)
        t.diagnostic(`${p.phase}: ${p.rows} rows, ${Math.round(p.ms)} ms`);
    } finally {
      await target.close();
      await source.close();
    }
  });
});

describe('migrate-db carries over what changes without new ids', () => {
  test('PostgreSQL to SQLite: flags, unfollows, follows, password upgrades, latest, new rows', async (t) => {
    if (!needs(t, 'PostgreSQL', await postgresProblem(), 'migrate-db')) return;
    const sourceDb = await createTestDatabase('postgres');
    const targetDb = await createTestDatabase('sqlite');
    const from = openDatabase(sourceDb.url);
    const to = openDatabase(targetDb.url);
    try {
      const imported = await runCommand(importLegacyCommand, [legacyDatabase], {
        database: sourceDb.url,
      });
      assert.equal(imported.code, 0, imported.err.join('\n'));
      const store = new Store(from.db, from.dialect);
      const a = await from.db
        .selectFrom('followers')
        .selectAll()
        .orderBy('who_id')
        .orderBy('whom_id')
        .executeTakeFirstOrThrow();
      await migrateToLatest(to.db, to.dialect);
      const result = await migrateLive({
        from,
        to,
        events: {
          pass: async (phase) => {
            if (phase !== 'bulk') return;
            // Changes to rows that were already copied, while the source serves.
            await store.setFlagged([10], 1);
            await store.setFlagged([5], 0);
            await store.unfollow(a.who_id, a.whom_id);
            await store.follow(2, 3);
            await store.setPasswordHash(1, '$argon2id$v=19$m=19456,t=2,p=1$changed');
            await store.setSetting('latest', 4242);
            const id = await store.createUser({ username: 'New One', email: 'n@o', pwHash: 'x' });
            await store.createMessage(id, 'written during the copy', 1);
            await store.createSession('s1', id, 1, 2);
          },
        },
      });
      assert.deepEqual(await summarize(to.db, to.dialect), await summarize(from.db, from.dialect));
      const target = new Store(to.db, to.dialect);
      assert.equal(await target.getSetting('latest'), 4242);
      assert.equal(await target.isFollowing(a.who_id, a.whom_id), false);
      assert.equal(await target.isFollowing(2, 3), true);
      assert.equal(
        (await target.findUserById(1))?.pw_hash,
        '$argon2id$v=19$m=19456,t=2,p=1$changed',
      );
      const flagged = [];
      for await (const m of target.allMessages({ flaggedOnly: true })) flagged.push(m.messageId);
      assert.deepEqual(flagged, [10, 2322]);
      assert.ok((await target.findUserByName('New One')) !== undefined);
      t.diagnostic(`pause ${Math.round(result.pauseMs)} ms, ${result.rowsMoved} rows moved`);
    } finally {
      await from.close();
      await to.close();
      await sourceDb.drop();
      await targetDb.drop();
    }
  });

  test('refuses a target that holds data, or the same database twice', async () => {
    const one = await createTestDatabase('sqlite');
    const two = await createTestDatabase('sqlite');
    try {
      const legacy = legacyDatabase;
      for (const db of [one, two]) {
        const r = await runCommand(importLegacyCommand, [legacy], { database: db.url });
        assert.equal(r.code, 0, r.err.join('\n'));
      }
      const busy = await runCommand(migrateDbCommand, [], { from: one.url, to: two.url });
      assert.equal(busy.code, 1);
      assert.match(busy.err.join('\n'), /already holds data/);
      const same = await runCommand(migrateDbCommand, [], { from: one.url, to: one.url });
      assert.equal(same.code, 1);
      const none = await runCommand(migrateDbCommand, [], { from: one.url });
      assert.equal(none.code, 1);
      assert.match(none.err.join('\n'), /--to/);
    } finally {
      await one.drop();
      await two.drop();
    }
  });
});
