import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from '../../src/db/connect.js';
import { migrateToLatest, migrations, pendingMigrations } from '../../src/db/migrations.js';
import { Store } from '../../src/db/store.js';
import { createTestDatabase, forEachDatabase } from '../helpers/databases.js';

forEachDatabase('migrations', (kind) => {
  test('apply once, then running them again changes nothing', async () => {
    const database = await createTestDatabase(kind);
    const handle = openDatabase(database.url);
    try {
      assert.deepEqual(
        await pendingMigrations(handle.db, handle.dialect),
        Object.keys(migrations(kind)),
      );
      assert.deepEqual(
        await migrateToLatest(handle.db, handle.dialect),
        Object.keys(migrations(kind)),
      );
      assert.deepEqual(await migrateToLatest(handle.db, handle.dialect), []);
      assert.deepEqual(await pendingMigrations(handle.db, handle.dialect), []);
      const tables = (await handle.db.introspection.getTables()).map((t) => t.name).sort();
      for (const table of ['followers', 'messages', 'sessions', 'settings', 'users']) {
        assert.ok(tables.includes(table), table);
      }
    } finally {
      await handle.close();
      await database.drop();
    }
  });

  test('the schema enforces unique names, one row per follow, foreign keys and text as text', async () => {
    const database = await createTestDatabase(kind);
    const handle = openDatabase(database.url);
    try {
      await migrateToLatest(handle.db, handle.dialect);
      const store = new Store(handle.db, handle.dialect);
      const a = await store.createUser({ username: '1234', email: 'a@b', pwHash: 'x' });
      const b = await store.createUser({ username: 'b', email: 'b@b', pwHash: 'x' });
      await assert.rejects(store.createUser({ username: '1234', email: 'c@c', pwHash: 'x' }));
      await store.follow(a, b);
      await store.follow(a, b);
      assert.equal((await store.counts()).followers, 1);
      await assert.rejects(store.follow(a, 999_999), 'foreign key on followers');
      await assert.rejects(store.createMessage(999_999, 'x', 1), 'foreign key on messages');
      await store.createMessage(a, '007', 1);
      const [row] = await store.userTimeline(a, { limit: 1 });
      assert.equal(row?.text, '007');
      assert.equal(row?.username, '1234');
      assert.equal(typeof row?.pubDate, 'number');
    } finally {
      await handle.close();
      await database.drop();
    }
  });
});
