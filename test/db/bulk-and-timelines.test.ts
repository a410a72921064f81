import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEED_HOME_FOLLOWS, seedDatabase, seedUsername } from '../../src/dataops/bulk.js';
import { openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrations.js';
import { Store } from '../../src/db/store.js';
import { MiniTwit } from '../../src/domain/minitwit.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/databases.js';

const SIZE = { users: 300, messages: 6000, follows: 3000 };

forEachDatabase('seeded data and the timelines over it', (kind) => {
  let database: TestDatabase;
  let handle: ReturnType<typeof openDatabase>;
  let store: Store;
  before(async () => {
    database = await createTestDatabase(kind);
    handle = openDatabase(database.url, { poolMax: 2 });
    await migrateToLatest(handle.db, handle.dialect);
    await seedDatabase(handle.db, handle.dialect, { ...SIZE, pwHash: 'x', seed: 7 });
    store = new Store(handle.db, handle.dialect);
  });
  after(async () => {
    await handle.close();
    await database.drop();
  });

  test('the seed writes the sizes asked for, skewed, and seed0 follows exactly 100', async () => {
    assert.deepEqual(await store.counts(), {
      users: SIZE.users,
      messages: SIZE.messages,
      followers: SIZE.follows,
    });
    const perAuthor = new Map<number, number>();
    for await (const m of store.allMessages()) {
      perAuthor.set(m.authorId, (perAuthor.get(m.authorId) ?? 0) + 1);
    }
    const counts = [...perAuthor.values()].sort((a, b) => b - a);
    // Skewed: the busiest tenth of the authors writes more than half the messages.
    const top = counts.slice(0, Math.ceil(SIZE.users / 10)).reduce((a, b) => a + b, 0);
    assert.ok(top > SIZE.messages / 2, `top tenth wrote ${top}`);
    const seed0 = await store.findUserIdByName(seedUsername(0));
    assert.equal((await store.followedUsernames(seed0 as number, 1000)).length, SEED_HOME_FOLLOWS);
  });

  test('a second seed into the same database is refused', async () => {
    await assert.rejects(
      seedDatabase(handle.db, handle.dialect, { ...SIZE, pwHash: 'x' }),
      /already holds/,
    );
  });

  test('ids continue after the seeded ones (sequences advanced on PostgreSQL)', async () => {
    const domain = new MiniTwit(store);
    const userId = await domain.register({ username: 'after seed', email: 'a@b.c', password: 'p' });
    assert.equal(userId, SIZE.users + 1);
    const messageId = await domain.post(userId, 'hello');
    assert.equal(messageId, SIZE.messages + 1);
  });

  test('home timelines, windowed or merged, equal a brute-force answer on every page', async () => {
    const all: { messageId: number; authorId: number; flagged: number }[] = [];
    for await (const m of store.allMessages()) all.push(m);
    // seed0 (busy authors: the window path), a quiet follower, and a user following nobody.
    const quiet = await busiestFollowerOfQuietAuthors(store);
    for (const username of [seedUsername(0), quiet, seedUsername(SIZE.users - 1), 'after seed']) {
      const userId = (await store.findUserIdByName(username)) as number;
      const followed = new Set([userId]);
      for (const name of await store.followedUsernames(userId, 10_000)) {
        followed.add((await store.findUserIdByName(name)) as number);
      }
      const expected = all
        .filter((m) => followed.has(m.authorId) && m.flagged === 0)
        .map((m) => m.messageId)
        .sort((a, b) => b - a);
      // The default windows, small windows that often fall through, and the merge alone.
      for (const windows of [
        store.homeWindows,
        { first: 8, attempts: 2 },
        { first: 1, attempts: 0 },
      ]) {
        const saved = store.homeWindows;
        store.homeWindows = windows;
        try {
          let beforeId: number | undefined;
          const got: number[] = [];
          for (let pages = 0; pages < 400; pages++) {
            const rows = await store.homeTimeline(userId, { limit: 31, before: beforeId });
            got.push(...rows.map((r) => r.messageId));
            if (rows.length < 31) break;
            beforeId = rows.at(-1)?.messageId;
          }
          assert.deepEqual(got, expected, `${username} ${JSON.stringify(windows)}`);
        } finally {
          store.homeWindows = saved;
        }
      }
    }
  });
});

/** A user who follows only authors with few messages, so the windows fail and the merge runs. */
async function busiestFollowerOfQuietAuthors(store: Store): Promise<string> {
  const domain = new MiniTwit(store);
  const id = await domain.register({ username: 'quiet follower', email: 'q@b.c', password: 'p' });
  const perAuthor = new Map<number, number>();
  for await (const m of store.allMessages()) {
    perAuthor.set(m.authorId, (perAuthor.get(m.authorId) ?? 0) + 1);
  }
  const quiet = [...perAuthor].filter(([, n]) => n <= 3).slice(0, 5);
  assert.ok(quiet.length >= 3, 'the seed has quiet authors');
  for (const [author] of quiet) await store.follow(id, author);
  return 'quiet follower';
}
