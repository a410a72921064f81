/**
 * The store queries the web pages of issue 14 added, timed side by side with the first public
 * page on an existing (large) database, as ratios: newer pages (public, a user, a home), the
 * capped profile counts, a follower list, the suggestions. It reads only.
 *   npm run build && node dist/bench/web-queries.js <DATABASE_URL>
 * e.g. a copy of the 10 M template: sqlite:/work/bench-data/10m-<name>.db
 */
import { sql } from 'kysely';
import { openDatabase } from '../src/db/connect.js';
import { Store } from '../src/db/store.js';

const url = process.argv[2];
if (!url) {
  console.error('usage: node dist/bench/web-queries.js <DATABASE_URL>');
  process.exit(2);
}
const handle = openDatabase(url);
const store = new Store(handle.db, handle.dialect);

/** Mean milliseconds of `runs` calls of `fn` after one warm-up call. */
async function time(fn: () => Promise<unknown>, runs = 20): Promise<number> {
  await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1e6 / runs;
}

const first = async (query: ReturnType<typeof sql>) =>
  ((await query.execute(handle.db)).rows[0] ?? {}) as Record<string, unknown>;
const top = await first(
  sql`select author_id as id, count(*) as n from messages group by author_id order by n desc limit 1`,
);
const followed = await first(
  sql`select whom_id as id, count(*) as n from followers group by whom_id order by n desc limit 1`,
);
const follower = await first(
  sql`select who_id as id, count(*) as n from followers group by who_id order by n desc limit 1`,
);
const max = Number((await first(sql`select max(message_id) as m from messages`)).m);
const mid = Math.floor(max / 2);
const [author, popular, reader] = [top.id, followed.id, follower.id].map(Number) as [
  number,
  number,
  number,
];

const cases: [string, () => Promise<unknown>, number?][] = [
  ['public first page (the yardstick)', () => store.publicTimeline({ limit: 31 })],
  [
    'public older page (before = middle id)',
    () => store.publicTimeline({ limit: 31, before: mid }),
  ],
  ['public newer page (after = middle id)', () => store.timelineAfter({ kind: 'public' }, mid, 31)],
  [
    'newer page of the most prolific author',
    () => store.timelineAfter({ kind: 'user', authorId: author }, mid, 31),
  ],
  [
    'home older page of the top follower',
    () => store.homeTimeline(reader, { limit: 31, before: mid }),
    5,
  ],
  [
    'home newer page of the top follower',
    () => store.timelineAfter({ kind: 'home', userId: reader }, mid, 31),
    5,
  ],
  ['profile counts of the most prolific author', () => store.profileCounts(author)],
  ['profile counts of the most followed user', () => store.profileCounts(popular)],
  [
    'a followers page of the most followed user',
    () => store.followPage(popular, 'followers', { limit: 51, after: 1 }),
  ],
  ['suggestions (recent authors)', () => store.recentAuthors(reader, 5)],
];
console.log(
  `${handle.dialect}: ${max} message ids; author ${author}: ${top.n} messages; user ${popular}: ${followed.n} followers; user ${reader} follows ${follower.n}`,
);
let yardstick = 0;
for (const [label, fn, runs] of cases) {
  const ms = await time(fn, runs);
  if (yardstick === 0) yardstick = ms;
  console.log(
    `${label.padEnd(46)} ${ms.toFixed(3).padStart(10)} ms ${(ms / yardstick).toFixed(1).padStart(8)}x`,
  );
}
await handle.close();
