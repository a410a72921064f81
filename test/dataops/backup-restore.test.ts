import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { restoreCommand } from '../../src/cli/commands/restore.js';
import { applyRetention, takeBackup } from '../../src/dataops/backup.js';
import type { Manifest } from '../../src/dataops/load.js';
import { pgToolsAvailable } from '../../src/dataops/pgdump.js';
import { openDatabase } from '../../src/db/connect.js';
import { SimClient } from '../helpers/clients.js';
import { createTestDatabase, forEachDatabase, postgresProblem } from '../helpers/databases.js';
import { needs, partlyNeeds } from '../helpers/prerequisites.js';
import { startServer, useServer } from '../helpers/server.js';
import {
  actualState,
  expectedState,
  missing,
  runCommand,
  type State,
  trackedReplay,
} from './state.js';

const LINES = 1200;
const BACKUP_AT = 400;

function restore(file: string, url: string, force = false) {
  return runCommand(restoreCommand, [file], { database: url, force });
}

forEachDatabase('backup while the scenario replays, restore into both kinds', (kind) => {
  let dir: string;
  const backups: { format: string; file: string; manifest: Manifest }[] = [];
  let atBackup: State;
  let finalAcked: ReturnType<typeof expectedState>;
  let allActions: Awaited<ReturnType<typeof trackedReplay>>;

  before(() => {
    if (kind === 'postgres') {
      const problem = pgToolsAvailable()
        ? undefined
        : 'not installed; apt-get install postgresql-client';
      partlyNeeds('pg_dump/pg_restore', problem, 'the pg_dump backup is NOT tested');
    }
  });
  const server = useServer(kind);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'minitwit-backups-'));
    let cut = -1;
    let pending: Promise<void> | undefined;
    allActions = await trackedReplay({
      lines: LINES,
      url: () => server.apiUrl,
      beforeAction: (index, acked) => {
        if (index !== BACKUP_AT) return;
        cut = acked;
        // Not awaited: the replay keeps writing while both backups are taken.
        pending = (async () => {
          for (const format of ['auto', 'portable'] as const) {
            if (format === 'auto' && kind === 'postgres' && !pgToolsAvailable()) continue;
            const result = await takeBackup({ url: server.database.url, dir, format });
            backups.push({ format, file: result.file, manifest: result.manifest });
          }
        })();
      },
    });
    await pending;
    assert.deepEqual(allActions.failed, []);
    atBackup = expectedState(allActions.acked.slice(0, cut));
    finalAcked = expectedState(allActions.acked);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('the backups were verified and record their row counts', () => {
    assert.equal(backups.length, kind === 'postgres' && !pgToolsAvailable() ? 1 : 2);
    for (const b of backups) {
      assert.ok(b.manifest.tables.users.rows >= atBackup.users.size, b.file);
      assert.match(b.manifest.tables.messages.checksum, /^[0-9a-f]{32}$/);
      assert.ok(b.manifest.bytes > 0);
      // Taken mid-replay: the replay wrote more messages after the snapshot.
      const tweets = [...finalAcked.tweets.values()].reduce((a, n) => a + n, 0);
      assert.ok(b.manifest.tables.messages.rows < tweets, `${b.format} taken mid-replay`);
    }
  });

  for (const target of ['sqlite', 'postgres'] as const) {
    test(`every backup restores into a fresh ${target} database that serves and takes writes`, async (t) => {
      if (target === 'postgres' && !needs(t, 'PostgreSQL', await postgresProblem())) return;
      for (const b of backups) {
        const database = await createTestDatabase(target);
        try {
          const result = await restore(b.file, database.url);
          assert.equal(result.code, 0, result.err.join('\n'));
          const actual = await actualState(database.url);
          // Everything acknowledged before the backup started is in it ...
          const cutState = { ...atBackup, follows: new Set<string>() };
          // ... follows too, unless a later action removed them again.
          for (const f of atBackup.follows) if (finalAcked.follows.has(f)) cutState.follows.add(f);
          assert.deepEqual(missing(cutState, actual), [], `${b.format} backup into ${target}`);
          assert.ok(actual.latest >= atBackup.latest);
          assert.equal(actual.users.size, b.manifest.tables.users.rows);

          // A restore refuses a database that holds data, unless told.
          const again = await restore(b.file, database.url);
          assert.equal(again.code === 0, false);

          // The restored database serves and accepts new writes (sequences advanced).
          const restored = await startServer(target, { database });
          try {
            const api = new SimClient(restored.apiUrl);
            assert.equal((await api.register('Restored User')).status, 204);
            assert.equal((await api.tweet('Restored User', 'after the restore')).status, 204);
            const roger = [...atBackup.users][0] as string;
            assert.equal((await api.tweet(roger, 'an old user writes again')).status, 204);
            assert.equal((await api.follow('Restored User', roger)).status, 204);
            const msgs = await api.get('/msgs?no=2');
            assert.deepEqual(
              msgs.json.map((m: { content: string }) => m.content),
              ['an old user writes again', 'after the restore'],
            );
          } finally {
            await restored.stop();
          }
        } finally {
          await database.drop();
        }
      }
    });
  }

  test('--force replaces the data of a non-empty database', async () => {
    const b = backups.at(-1);
    assert.ok(b);
    const database = await createTestDatabase('sqlite');
    try {
      const first = await restore(b.file, database.url);
      assert.equal(first.code, 0);
      const handle = openDatabase(database.url);
      await handle.db
        .insertInto('users')
        .values({ username: 'extra', email: 'e@x', pw_hash: 'x' })
        .execute();
      await handle.close();
      const forced = await restore(b.file, database.url, true);
      assert.equal(forced.code, 0, forced.err.join('\n'));
      const actual = await actualState(database.url);
      assert.equal(actual.users.has('extra'), false);
      assert.equal(actual.users.size, b.manifest.tables.users.rows);
    } finally {
      await database.drop();
    }
  });

  test('a damaged backup is refused and leaves the target empty', async () => {
    const b = backups.find((x) => x.format === 'portable');
    assert.ok(b);
    const broken = join(dir, 'minitwit-broken.jsonl.gz');
    writeFileSync(broken, Buffer.from('not gzip at all'));
    const database = await createTestDatabase('sqlite');
    try {
      const result = await restore(broken, database.url);
      assert.equal(result.code === 0, false);
      assert.equal((await actualState(database.url)).users.size, 0);
    } finally {
      await database.drop();
      rmSync(broken);
    }
  });
});

test('retention keeps the newest N backups and their manifests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'minitwit-retention-'));
  try {
    const names = [
      'minitwit-20260101T000000000Z.sqlite',
      'minitwit-20260102T000000000Z.pgdump',
      'minitwit-20260103T000000000Z.jsonl.gz',
      'minitwit-20260104T000000000Z.sqlite',
    ];
    for (const n of names) {
      writeFileSync(join(dir, n), 'x');
      writeFileSync(join(dir, `${n}.manifest.json`), '{}');
    }
    writeFileSync(join(dir, 'unrelated.txt'), 'keep me');
    const removed = applyRetention(dir, 2);
    assert.deepEqual(removed.sort(), names.slice(0, 2));
    assert.deepEqual(readdirSync(dir).sort(), [
      `${names[2]}`,
      `${names[2]}.manifest.json`,
      `${names[3]}`,
      `${names[3]}.manifest.json`,
      'unrelated.txt',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
