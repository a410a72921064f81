import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { exportCommand } from '../../src/cli/commands/export.js';
import { importCommand } from '../../src/cli/commands/import.js';
import { migrateDbCommand } from '../../src/cli/commands/migrate-db.js';
import { restoreCommand } from '../../src/cli/commands/restore.js';
import { takeBackup } from '../../src/dataops/backup.js';
import { summarize } from '../../src/dataops/transfer.js';
import { openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrations.js';
import { SearchStore } from '../../src/db/search.js';
import { Store } from '../../src/db/store.js';
import {
  createTestDatabase,
  type DatabaseKind,
  forEachDatabase,
  type TestDatabase,
} from '../helpers/databases.js';
import { runCommand } from './state.js';

/** Every message's id and deleted_at, by id. */
async function deletedAts(url: string): Promise<[number, number | null][]> {
  const handle = openDatabase(url);
  try {
    const rows = await handle.db
      .selectFrom('messages')
      .select(['message_id', 'deleted_at'])
      .orderBy('message_id')
      .execute();
    return rows.map((r) => [r.message_id, r.deleted_at === null ? null : Number(r.deleted_at)]);
  } finally {
    await handle.close();
  }
}

async function summaryOf(url: string) {
  const handle = openDatabase(url);
  try {
    return await summarize(handle.db, handle.dialect);
  } finally {
    await handle.close();
  }
}

/** The texts the public timeline shows, newest first. */
async function publicTexts(url: string): Promise<string[]> {
  const handle = openDatabase(url);
  try {
    const store = new Store(handle.db, handle.dialect);
    return (await store.publicTimeline({ limit: 100 })).map((m) => m.text);
  } finally {
    await handle.close();
  }
}

/** The texts a search for `words` finds on `url`, newest first; the index must be complete. */
async function searchTexts(url: string, words: string[]): Promise<string[]> {
  const handle = openDatabase(url);
  try {
    const index = new SearchStore(handle.db, handle.dialect);
    assert.equal((await index.backfillState()).done, true, 'nothing left for the indexer');
    return (await index.messages(words, { limit: 100 })).map((m) => m.text);
  } finally {
    await handle.close();
  }
}

forEachDatabase(
  'deleted messages are kept, deleted, and the search index in step, by every data operation',
  (kind) => {
    const other: DatabaseKind = kind === 'sqlite' ? 'postgres' : 'sqlite';
    let source: TestDatabase;
    let dir: string;
    let expected: [number, number | null][];
    const made: TestDatabase[] = [];
    const fresh = async (k: DatabaseKind) => {
      const db = await createTestDatabase(k);
      made.push(db);
      return db;
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'minitwit-deleted-'));
      source = await fresh(kind);
      const handle = openDatabase(source.url);
      try {
        await migrateToLatest(handle.db, handle.dialect);
        const store = new Store(handle.db, handle.dialect);
        const ann = await store.createUser({ username: 'ann', email: 'a@x.dk', pwHash: 'x' });
        const ben = await store.createUser({ username: 'ben', email: 'b@x.dk', pwHash: 'x' });
        const ids: number[] = [];
        for (let i = 0; i < 6; i++) {
          ids.push(
            await store.createMessage(i % 2 ? ben : ann, `note number ${i}`, 1_700_000_000 + i),
          );
        }
        assert.equal(await store.softDeleteMessage(ann, ids[0] as number, 1_800_000_000), true);
        assert.equal(await store.softDeleteMessage(ben, ids[3] as number, 1_800_000_123), true);
        // Not the author: nothing happens.
        assert.equal(await store.softDeleteMessage(ann, ids[5] as number, 1_800_000_000), false);
      } finally {
        await handle.close();
      }
      expected = await deletedAts(source.url);
      assert.deepEqual(
        expected.filter(([, at]) => at !== null).map(([, at]) => at),
        [1_800_000_000, 1_800_000_123],
      );
    });
    after(async () => {
      rmSync(dir, { recursive: true, force: true });
      for (const db of made) await db.drop();
    });

    const visible = ['note number 5', 'note number 4', 'note number 2', 'note number 1'];

    test('export, then import into both kinds: deleted_at arrives unchanged, still hidden', async () => {
      const file = join(dir, 'export.jsonl.gz');
      const exported = await runCommand(exportCommand, [file], { database: source.url });
      assert.equal(exported.code, 0, exported.err.join('\n'));
      for (const k of [kind, other]) {
        const target = await fresh(k);
        const loaded = await runCommand(importCommand, [file], { database: target.url });
        assert.equal(loaded.code, 0, loaded.err.join('\n'));
        assert.deepEqual(await deletedAts(target.url), expected, k);
        assert.deepEqual(await summaryOf(target.url), await summaryOf(source.url), k);
        assert.deepEqual(await publicTexts(target.url), visible, k);
        assert.deepEqual(await searchTexts(target.url, ['note']), visible, k);
        assert.deepEqual(await searchTexts(target.url, ['number', '2']), ['note number 2'], k);
      }
    });

    test('a file written before deleted_at existed imports with every message standing', async () => {
      const file = join(dir, 'export.jsonl.gz');
      const lines = gunzipSync(readFileSync(file)).toString().trimEnd().split('\n');
      // Drop the column from every message and recompute nothing: the old checksums must match
      // for rows that were not deleted, so keep only those.
      const kept: string[] = [];
      const deletedIds = new Set(expected.filter(([, at]) => at !== null).map(([id]) => id));
      let dropped = 0;
      for (const line of lines) {
        const value = JSON.parse(line);
        if (value.table === 'messages') {
          if (deletedIds.has(value.row.message_id)) {
            dropped++;
            continue;
          }
          delete value.row.deleted_at;
        }
        if (value.end) value.end.messages.rows -= dropped;
        kept.push(JSON.stringify(value));
      }
      // The end line's checksum covered the deleted rows: rebuild it from a database holding the
      // same standing rows, to show the checksum of a row without deleted_at is the old one.
      const old = join(dir, 'old.jsonl.gz');
      const target = await fresh(other);
      const handle = openDatabase(source.url);
      let checksum: string;
      try {
        const copy = await fresh(kind);
        const h2 = openDatabase(copy.url);
        try {
          await migrateToLatest(h2.db, h2.dialect);
          const rows = await handle.db
            .selectFrom('messages')
            .selectAll()
            .where('deleted_at', 'is', null)
            .execute();
          await h2.db
            .insertInto('users')
            .values(await handle.db.selectFrom('users').selectAll().execute())
            .execute();
          await h2.db.insertInto('messages').values(rows).execute();
          checksum = (await summarize(h2.db, h2.dialect)).messages.checksum;
        } finally {
          await h2.close();
        }
      } finally {
        await handle.close();
      }
      const end = JSON.parse(kept.at(-1) as string);
      end.end.messages.checksum = checksum;
      kept[kept.length - 1] = JSON.stringify(end);
      writeFileSync(old, gzipSync(`${kept.join('\n')}\n`));
      const loaded = await runCommand(importCommand, [old], { database: target.url });
      assert.equal(loaded.code, 0, loaded.err.join('\n'));
      assert.deepEqual(
        (await deletedAts(target.url)).map(([, at]) => at),
        [null, null, null, null],
      );
    });

    test('backup and restore: deleted_at kept, still hidden', async () => {
      const backup = await takeBackup({ url: source.url, dir: join(dir, 'backups') });
      const target = await fresh(kind);
      const restored = await runCommand(restoreCommand, [backup.file], { database: target.url });
      assert.equal(restored.code, 0, restored.err.join('\n'));
      assert.deepEqual(await deletedAts(target.url), expected);
      assert.deepEqual(await publicTexts(target.url), visible);
      assert.deepEqual(await searchTexts(target.url, ['note']), visible);
      const portable = await takeBackup({
        url: source.url,
        dir: join(dir, 'portable'),
        format: 'portable',
      });
      const into = await fresh(other);
      const again = await runCommand(restoreCommand, [portable.file], { database: into.url });
      assert.equal(again.code, 0, again.err.join('\n'));
      assert.deepEqual(await deletedAts(into.url), expected);
      assert.deepEqual(await searchTexts(into.url, ['note']), visible);
    });

    test('migrate-db to the other kind: deleted_at kept, still hidden', async () => {
      const target = await fresh(other);
      const moved = await runCommand(migrateDbCommand, [], { from: source.url, to: target.url });
      assert.equal(moved.code, 0, moved.err.join('\n'));
      assert.deepEqual(await deletedAts(target.url), expected);
      assert.deepEqual(await publicTexts(target.url), visible);
      assert.deepEqual(await searchTexts(target.url, ['note']), visible);
      assert.deepEqual(await searchTexts(target.url, ['number', '5']), ['note number 5']);
    });
  },
);
