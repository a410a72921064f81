import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../db/connect.js';
import type { Database } from '../db/schema.js';
import { isEmpty } from './transfer.js';

/**
 * Bulk loading of generated data for benchmarks: batched multi-row inserts through Kysely,
 * inside transactions, with explicit ids. The only data-layer code outside store.ts.
 */

export interface SeedSize {
  users: number;
  messages: number;
  follows: number;
}

export interface SeedProgress {
  table: 'users' | 'messages' | 'followers';
  done: number;
  total: number;
}

/** The user every seeded database has that follows exactly this many others (the home-timeline case). */
export const SEED_HOME_FOLLOWS = 100;
/** The password of every seeded user (one argon2id hash is computed and shared). */
export const SEED_PASSWORD = 'seed-password';

/** The username of the seeded user with index `i` (0-based); index 0 is the home-timeline user. */
export const seedUsername = (i: number) => `seed${i}`;

/** A small, fast, seeded PRNG (mulberry32), so that a seed run is reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A Zipf-like sampler over ranks 0..n-1 (weight 1/(rank+1)^s): a few ranks get most draws,
 * most get very few, as activity does on a real social site.
 */
export function zipf(n: number, s: number, random: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += 1 / (i + 1) ** s;
    cumulative[i] = total;
  }
  return () => {
    const target = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Which user index holds activity rank `rank`: a fixed permutation, so that the busiest
 * authors are spread over the id range instead of being the first ids. Index 0 (the
 * home-timeline user) is never a rank: ranks map onto indexes 1..users-1.
 */
export function userIndexForRank(rank: number, users: number): number {
  const n = users - 1;
  if (n <= 1) return 1;
  let step = 7919 % n || 1;
  while (gcd(step, n) !== 1) step++;
  return 1 + ((rank * step) % n);
}

const WORDS = (
  'the a of to and in is it you that he was for on are with as his they be at one have this ' +
  'from or had by hot word but what some we can out other were all there when up use your how ' +
  'said an each she which do their time if will way about many then them write would like so ' +
  'these her long make thing see him two has look more day could go come did number sound no ' +
  'most people my over know water than call first who may down side been now find any new work ' +
  'part take get place made live where after back little only round man year came show every ' +
  'good me give our under name very through just form sentence great think say help low line'
).split(' ');

function sentence(random: () => number): string {
  const length = 4 + Math.floor(random() * 18);
  const words: string[] = [];
  for (let i = 0; i < length; i++) words.push(WORDS[Math.floor(random() * WORDS.length)] as string);
  const text = words.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/** Largest rows per INSERT so that a statement stays under both dialects' bind limits. */
function rowsPerStatement(dialect: Dialect, columns: number): number {
  const maxParams = dialect === 'postgres' ? 65_535 : 32_766;
  return Math.floor((maxParams - 1) / columns);
}

/** Rows per transaction: large enough to amortise commits, small enough to report progress. */
const ROWS_PER_TRANSACTION = 50_000;

async function insertAll<T>(
  db: Kysely<Database>,
  dialect: Dialect,
  total: number,
  columns: number,
  row: (i: number) => T,
  insert: (trx: Kysely<Database>, rows: T[]) => Promise<unknown>,
  progress: (done: number) => void,
) {
  const perStatement = rowsPerStatement(dialect, columns);
  for (let start = 0; start < total; start += ROWS_PER_TRANSACTION) {
    const end = Math.min(total, start + ROWS_PER_TRANSACTION);
    await db.transaction().execute(async (trx) => {
      for (let s = start; s < end; s += perStatement) {
        const rows: T[] = [];
        for (let i = s; i < Math.min(end, s + perStatement); i++) rows.push(row(i));
        await insert(trx, rows);
      }
    });
    progress(end);
  }
}

/** The most follow pairs a seed of `users` users makes (half of all pairs, so sampling ends). */
export const maxFollows = (users: number) => Math.floor(((users - 1) * (users - 1)) / 2);

export interface SeedOptions extends SeedSize {
  /** The pw_hash stored for every user. */
  pwHash: string;
  /** PRNG seed; the same seed and sizes give the same data. */
  seed?: number;
  /** Unix time of the newest message (default: now). */
  now?: number;
  onProgress?: (progress: SeedProgress) => void;
}

/**
 * Fills an empty, migrated database with `users` users, `messages` messages and `follows`
 * follow pairs. Authors and followed users follow a Zipf law over a fixed permutation of user
 * ids; user index 0 (`seed0`) follows exactly SEED_HOME_FOLLOWS of the most followed users.
 * Message ids grow with pub_date, as they do when messages are posted.
 */
export async function seedDatabase(
  db: Kysely<Database>,
  dialect: Dialect,
  options: SeedOptions,
): Promise<void> {
  const { users, messages, follows } = options;
  if (users < 2) throw new Error('--users must be at least 2');
  if (follows > 0 && follows < Math.min(SEED_HOME_FOLLOWS, users - 1)) {
    throw new Error(`--follows must be 0 or at least ${Math.min(SEED_HOME_FOLLOWS, users - 1)}`);
  }
  if (follows > maxFollows(users)) {
    throw new Error(`--follows must be at most ${maxFollows(users)} with ${users} users`);
  }
  // Only the tables a seed writes: seeding never mixes with real data.
  if (!(await isEmpty(db, ['users', 'messages', 'followers']))) {
    throw new Error('the database already holds users, messages or follows: seed an empty one');
  }
  const random = prng(options.seed ?? 20_260_101);
  const report = options.onProgress ?? (() => {});
  const now = options.now ?? Math.floor(Date.now() / 1000);

  await insertAll(
    db,
    dialect,
    users,
    4,
    (i) => ({
      user_id: i + 1,
      username: seedUsername(i),
      email: `${seedUsername(i)}@example.com`,
      pw_hash: options.pwHash,
    }),
    (trx, rows) => trx.insertInto('users').values(rows).execute(),
    (done) => report({ table: 'users', done, total: users }),
  );

  // Messages: authors by Zipf (s = 1.05) over the activity permutation; about 1 in 1,000 flagged.
  const author = zipf(users - 1, 1.05, random);
  const span = 2 * 365 * 24 * 3600;
  await insertAll(
    db,
    dialect,
    messages,
    5,
    (i) => ({
      message_id: i + 1,
      author_id: userIndexForRank(author(), users) + 1,
      text: sentence(random),
      pub_date: now - span + Math.floor((span * (i + 1)) / messages),
      flagged: random() < 0.001 ? 1 : 0,
    }),
    (trx, rows) => trx.insertInto('messages').values(rows).execute(),
    (done) => report({ table: 'messages', done, total: messages }),
  );

  // Follows: followers by Zipf over another permutation (a few follow many), followed users
  // by the activity Zipf (the busiest are the most followed). Pairs are unique.
  const pairs: { who_id: number; whom_id: number }[] = [];
  const seen = new Set<number>();
  const add = (who: number, whom: number) => {
    const key = who * users + whom;
    if (who === whom || seen.has(key)) return false;
    seen.add(key);
    pairs.push({ who_id: who + 1, whom_id: whom + 1 });
    return true;
  };
  if (follows > 0) {
    const home = Math.min(SEED_HOME_FOLLOWS, users - 1);
    for (let rank = 0; pairs.length < home; rank++) add(0, userIndexForRank(rank, users));
    const followerRank = zipf(users - 1, 0.8, random);
    const followed = zipf(users - 1, 1.05, random);
    while (pairs.length < follows) {
      // Reverse the permutation for followers so they are not the same people as the authors.
      const who = userIndexForRank(users - 2 - followerRank(), users);
      add(who, userIndexForRank(followed(), users));
    }
  }
  seen.clear();
  await insertAll(
    db,
    dialect,
    pairs.length,
    2,
    (i) => pairs[i] as { who_id: number; whom_id: number },
    (trx, rows) => trx.insertInto('followers').values(rows).execute(),
    (done) => report({ table: 'followers', done, total: pairs.length }),
  );

  if (dialect === 'postgres') {
    // Explicit ids do not move identity sequences: advance them, or the next insert collides.
    await sql`select setval(pg_get_serial_sequence('users', 'user_id'), ${users})`.execute(db);
    if (messages > 0) {
      await sql`select setval(pg_get_serial_sequence('messages', 'message_id'), ${messages})`.execute(
        db,
      );
    }
    await sql`analyze`.execute(db);
  } else {
    await sql`analyze`.execute(db);
  }
}

/** Settings that make a one-off bulk load faster on SQLite; durability is restored after. */
export async function prepareForBulkLoad(db: Kysely<Database>, dialect: Dialect) {
  if (dialect === 'sqlite') {
    await sql`pragma cache_size = -262144`.execute(db);
    await sql`pragma synchronous = OFF`.execute(db);
  } else {
    await sql`set synchronous_commit = off`.execute(db);
  }
}

export async function finishBulkLoad(db: Kysely<Database>, dialect: Dialect) {
  if (dialect === 'sqlite') {
    await sql`pragma synchronous = NORMAL`.execute(db);
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
  }
}
