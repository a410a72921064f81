import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { type DatabaseHandle, openDatabase } from '../../src/db/connect.js';
import { createMigrator, migrateToLatest } from '../../src/db/migrations.js';
import { SearchStore } from '../../src/db/search.js';
import { SearchBackfill } from '../../src/domain/search-backfill.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/databases.js';
import { startServer } from '../helpers/server.js';

const OLD = 25;

/** A database at the schema before search (0002), holding OLD messages by one user. */
async function beforeSearch(database: TestDatabase): Promise<DatabaseHandle> {
  const handle = openDatabase(database.url);
  const result = await createMigrator(handle.db, handle.dialect).migrateTo(
    '0002_messages_deleted_at',
  );
  assert.equal(result.error, undefined);
  const user = await handle.db
    .insertInto('users')
    .values({ username: 'olduser', email: 'o@x.dk', pw_hash: 'x' })
    .returning('user_id')
    .executeTakeFirstOrThrow();
  await handle.db
    .insertInto('messages')
    .values(
      Array.from({ length: OLD }, (_, i) => ({
        author_id: user.user_id,
        text: `archived word${i + 1} common`,
        pub_date: 1_600_000_000 + i,
        flagged: 0,
      })),
    )
    .execute();
  return handle;
}

const ids = async (index: SearchStore, words: string[], limit = 100) =>
  (await index.messages(words, { limit })).map((m) => m.messageId);

forEachDatabase('the search index: built in the background, kept in step by triggers', (kind) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let index: SearchStore;
  before(async () => {
    database = await createTestDatabase(kind);
    handle = await beforeSearch(database);
    assert.deepEqual(await migrateToLatest(handle.db, handle.dialect), ['0003_search']);
    index = new SearchStore(handle.db, handle.dialect);
  });
  after(async () => {
    await handle.close();
    await database.drop();
  });

  test('the migration indexes nothing old; new messages are found at once', async () => {
    assert.deepEqual(await index.backfillState(), { nextBelow: OLD + 1, done: false });
    assert.deepEqual(await ids(index, ['common']), []);
    const user = await handle.db.selectFrom('users').select('user_id').executeTakeFirstOrThrow();
    await handle.db
      .insertInto('messages')
      .values({
        author_id: user.user_id,
        text: 'fresh common',
        pub_date: 1_700_000_000,
        flagged: 0,
      })
      .execute();
    assert.deepEqual(await ids(index, ['common']), [OLD + 1]);
    assert.deepEqual(await ids(index, ['fresh']), [OLD + 1]);
  });

  test('batches index newest first; changes to rows not reached yet are not lost or doubled', async () => {
    // Before the indexer reaches them: one old message is removed, one has its text changed.
    await handle.db.deleteFrom('messages').where('message_id', '=', 3).execute();
    await handle.db
      .updateTable('messages')
      .set({ text: 'rewritten common' })
      .where('message_id', '=', 5)
      .execute();
    const step = await index.backfillBatch(10);
    assert.deepEqual(step, { nextBelow: OLD + 1 - 10, done: false, indexed: 10 });
    assert.deepEqual(await ids(index, ['archived']), [25, 24, 23, 22, 21, 20, 19, 18, 17, 16]);
    const summary = await new SearchBackfill(index, { batch: 7 }).runToEnd();
    // 15 ids left, one removed; PostgreSQL's trigger already indexed the changed row.
    assert.equal(summary.indexed, kind === 'postgres' ? OLD - 10 - 2 : OLD - 10 - 1);
    assert.deepEqual(await index.backfillState(), { nextBelow: 1, done: true });
    const all = await ids(index, ['common']);
    assert.equal(all.length, OLD - 1 + 1, 'every message once (one removed, one new)');
    assert.equal(new Set(all).size, all.length);
    assert.ok(!all.includes(3));
    assert.deepEqual(await ids(index, ['rewritten']), [5]);
    assert.deepEqual(await ids(index, ['word5']), []);
    // Changes after the indexer passed: kept in step by the triggers.
    await handle.db
      .updateTable('messages')
      .set({ text: 'changed again' })
      .where('message_id', '=', 7)
      .execute();
    assert.deepEqual(await ids(index, ['word7']), []);
    assert.deepEqual(await ids(index, ['changed', 'again']), [7]);
    await handle.db.deleteFrom('messages').where('message_id', '=', 8).execute();
    assert.deepEqual(await ids(index, ['word8']), []);
    // Hidden rows stay indexed but are never returned.
    await handle.db
      .updateTable('messages')
      .set({ flagged: 1 })
      .where('message_id', '=', 9)
      .execute();
    await handle.db
      .updateTable('messages')
      .set({ deleted_at: 1 })
      .where('message_id', '=', 10)
      .execute();
    assert.deepEqual(await ids(index, ['word9']), []);
    assert.deepEqual(await ids(index, ['word10']), []);
    assert.deepEqual(await ids(index, ['word11']), [11]);
  });

  test('paging: newest first, `before` bounds, limit respected', async () => {
    const first = await index.messages(['archived'], { limit: 5 });
    assert.deepEqual(
      first.map((m) => m.messageId),
      [25, 24, 23, 22, 21],
    );
    const second = await index.messages(['archived'], { limit: 5, before: 21 });
    assert.deepEqual(
      second.map((m) => m.messageId),
      [20, 19, 18, 17, 16],
    );
    assert.deepEqual(await index.messages(['archived'], { limit: 5, before: 1 }), []);
  });

  test('users by name: prefixes of words, kept in step with new and renamed users', async () => {
    await handle.db
      .insertInto('users')
      .values({ username: 'Jane Doe-Smith', email: 'j@x.dk', pw_hash: 'x' })
      .execute();
    assert.deepEqual(
      (await index.users(['old'], 10)).map((u) => u.username),
      ['olduser'],
    );
    assert.deepEqual(
      (await index.users(['smi'], 10)).map((u) => u.username),
      ['Jane Doe-Smith'],
    );
    assert.deepEqual(
      (await index.users(['jane', 'doe'], 10)).map((u) => u.username),
      ['Jane Doe-Smith'],
    );
    await handle.db
      .updateTable('users')
      .set({ username: 'Janet' })
      .where('username', '=', 'Jane Doe-Smith')
      .execute();
    assert.deepEqual(await index.users(['smi'], 10), []);
    assert.deepEqual(
      (await index.users(['janet'], 10)).map((u) => u.username),
      ['Janet'],
    );
  });

  test('rare, sparse and common words page the same way (every PostgreSQL plan: windows, GIN)', async () => {
    const user = await handle.db.selectFrom('users').select('user_id').executeTakeFirstOrThrow();
    const first =
      Number(
        (
          await handle.db
            .selectFrom('messages')
            .select((eb) => eb.fn.max('message_id').as('m'))
            .executeTakeFirstOrThrow()
        ).m,
      ) + 1;
    const total = 12_000;
    const text = (i: number) =>
      `filler ${i % 3 === 0 ? 'often' : ''} ${i % 150 === 0 ? 'sometimes' : ''} ${[7, 4_000, 11_999].includes(i) ? 'seldom' : ''}`;
    for (let start = 0; start < total; start += 1000) {
      await handle.db
        .insertInto('messages')
        .values(
          Array.from({ length: 1000 }, (_, j) => ({
            author_id: user.user_id,
            text: text(start + j),
            pub_date: 1_650_000_000 + start + j,
            flagged: 0,
          })),
        )
        .execute();
    }
    const expected = (pick: (i: number) => boolean) =>
      Array.from({ length: total }, (_, i) => i)
        .filter(pick)
        .map((i) => first + i)
        .reverse();
    // PostgreSQL: once without statistics (windows that grow, then the index), once with them
    // (the plan chosen from the words' frequencies).
    const rounds: SearchStore[] = [index];
    if (kind === 'postgres') {
      await sql`analyze search_messages`.execute(handle.db);
      rounds.push(new SearchStore(handle.db, handle.dialect));
    }
    for (const store of rounds)
      for (const [word, pick] of [
        ['often', (i: number) => i % 3 === 0],
        ['sometimes', (i: number) => i % 150 === 0],
        ['seldom', (i: number) => [7, 4_000, 11_999].includes(i)],
      ] as const) {
        const want = expected(pick);
        // Walk every page of 30 and compare with the truth.
        const got: number[] = [];
        let before: number | undefined;
        for (;;) {
          const page = await store.messages([word], { limit: 30, ...(before ? { before } : {}) });
          got.push(...page.map((m) => m.messageId));
          if (page.length < 30) break;
          before = page.at(-1)?.messageId;
        }
        if (word === 'often') assert.deepEqual(got.slice(0, 100), want.slice(0, 100), word);
        assert.deepEqual(
          got.filter((id) => id >= first),
          want,
          word,
        );
      }
  });

  test('resetting empties the message index and the indexer builds it again', async () => {
    const found = await ids(index, ['common'], 1000);
    assert.equal(
      found.length,
      21,
      '25 old + 1 new - 2 removed - 1 changed - 1 flagged - 1 deleted',
    );
    await index.resetMessageIndex();
    assert.deepEqual(await ids(index, ['common']), []);
    await new SearchBackfill(index, { batch: 4 }).runToEnd();
    assert.deepEqual(await ids(index, ['common'], 1000), found);
  });
});

forEachDatabase('the server starts without waiting for the search index', (kind) => {
  test('start-up, writes and searches go on while the background indexer runs; it finishes and says so', async () => {
    const database = await createTestDatabase(kind);
    const handle = await beforeSearch(database);
    // Many more old messages, so the indexer is still busy when the server is up.
    const user = await handle.db.selectFrom('users').select('user_id').executeTakeFirstOrThrow();
    for (let i = 0; i < 6; i++) {
      await handle.db
        .insertInto('messages')
        .values(
          Array.from({ length: 1000 }, (_, j) => ({
            author_id: user.user_id,
            text: `bulk message ${i * 1000 + j} common`,
            pub_date: 1_600_100_000 + i * 1000 + j,
            flagged: 0,
          })),
        )
        .execute();
    }
    await handle.close();
    const server = await startServer(kind, { database });
    try {
      const api = (path: string, init: RequestInit = {}) =>
        fetch(`${server.apiUrl}${path}`, {
          ...init,
          headers: {
            Authorization: 'Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh',
            'content-type': 'application/json',
          },
        });
      const posted = await api('/msgs/olduser', {
        method: 'POST',
        body: JSON.stringify({ content: 'written while indexing' }),
      });
      assert.equal(posted.status, 204);
      const early = await fetch(`${server.webUrl}/search?q=written`);
      assert.equal(early.status, 200);
      assert.match(await early.text(), /written while indexing/);
      const index = server.app.domain.searchIndex;
      for (let i = 0; i < 600 && !(await index.backfillState()).done; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await index.backfillState()).done, true, 'the indexer finished');
      const page = await (await fetch(`${server.webUrl}/search?q=archived`)).text();
      assert.match(page, /archived word24 common/);
      assert.doesNotMatch(page, /still being built/);
      const logs = server.logs.join('\n');
      assert.match(logs, /search index: indexing older messages/);
      assert.match(logs, /search index: complete/);
      if (server.metricsUrl) {
        const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
        assert.match(metrics, /^minitwit_search_backfill_pending_ids 0$/m);
      }
      const count = await sql<{ n: number | string }>`select count(*) as n from messages`.execute(
        server.app.database.db,
      );
      assert.equal(Number(count.rows[0]?.n), OLD + 6000 + 1);
    } finally {
      await server.close();
    }
  });
});
