import { type Kysely, sql } from 'kysely';
import type { Dialect } from './connect.js';
import { databaseCondition } from './errors.js';
import type { Database, User } from './schema.js';

/** A message as the timelines show it: the message and its author. */
export interface TimelineEntry {
  messageId: number;
  text: string;
  pubDate: number;
  authorId: number;
  username: string;
  email: string;
}

/** One message as the moderation listing shows it. */
export interface ModerationEntry {
  messageId: number;
  authorId: number;
  text: string;
  flagged: number;
}

export interface PageQuery {
  limit: number;
  /** Only messages with a smaller id than this (the cursor of the previous page). */
  before?: number | undefined;
}

/** Which timeline: everyone's, one author's, or a user's home (theirs and whom they follow). */
export type TimelineScope =
  | { kind: 'public' }
  | { kind: 'user'; authorId: number }
  | { kind: 'home'; userId: number };

/** A user as the follow lists and suggestions show them. */
export interface UserEntry {
  userId: number;
  username: string;
  email: string;
}

/** How many visible messages a user has, how many they follow and how many follow them. */
export interface ProfileCounts {
  messages: number;
  following: number;
  followers: number;
}

export class UniqueViolation extends Error {}

/** SQLite's SQLITE_MAX_COMPOUND_SELECT is 500: stay well below it per statement. */
const AUTHORS_PER_QUERY = 200;
/** The home timeline's first window of message ids (see homeTimeline). */
const HOME_FIRST_WINDOW = 256;

/** Profile counts stop at this many (shown as "10,000+"): see profileCounts. */
export const COUNT_CAP = 10_000;

/** Shared counters pack `resetAt seconds * COUNTER_SCALE + count` into one settings value. */
const COUNTER_SCALE = 1_000_000;

const isUniqueViolation = (error: unknown) => databaseCondition(error) === 'unique';

/**
 * The largest id a row can have: PostgreSQL's `integer` columns are 32-bit; SQLite's rowids are
 * 64-bit, of which JavaScript numbers hold exactly up to 2^53 - 1.
 */
export const LARGEST_ID: Record<Dialect, number> = {
  postgres: 2_147_483_647,
  sqlite: Number.MAX_SAFE_INTEGER,
};

/**
 * The only code that speaks SQL. Every query is written with Kysely and runs unchanged on
 * SQLite and PostgreSQL; the domain layer above never sees a query.
 */
export class Store {
  /** The home timeline's windows: the first span of ids and how many (8-fold) tries. */
  homeWindows = { first: HOME_FIRST_WINDOW, attempts: 5 };

  /** Ids above this cannot exist in this database (see LARGEST_ID). */
  readonly largestId: number;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {
    this.largestId = LARGEST_ID[dialect];
  }

  /**
   * Every id and cursor that comes from outside is passed through these before it reaches SQL:
   * a number the column cannot hold never reaches the database (PostgreSQL would refuse the
   * statement with "out of range for type integer"). An id out of range names no row; a
   * `before` cursor above every possible id is no bound at all; one at or below the smallest id
   * bounds an empty page.
   */
  private possibleId(id: number) {
    return Number.isSafeInteger(id) && id >= 1 && id <= this.largestId;
  }

  /** The cursor as a bound that fits the column: undefined for none, 'empty' for no rows. */
  private bound(before: number | undefined): number | undefined | 'empty' {
    if (before === undefined || Number.isNaN(before)) return undefined;
    if (before > this.largestId) return undefined;
    if (before <= 1) return 'empty';
    return Math.ceil(before);
  }

  // ---- users ----

  async findUserByName(username: string): Promise<User | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
  }

  async findUserById(userId: number): Promise<User | undefined> {
    if (!this.possibleId(userId)) return undefined;
    return this.db.selectFrom('users').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  /** Up to `limit` users after `afterId`, by id: their id and name only (to walk every name). */
  async usernamesAfter(
    afterId: number,
    limit: number,
  ): Promise<{ user_id: number; username: string }[]> {
    return this.db
      .selectFrom('users')
      .select(['user_id', 'username'])
      .where('user_id', '>', afterId)
      .orderBy('user_id')
      .limit(limit)
      .execute();
  }

  async findUserIdByName(username: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select('user_id')
      .where('username', '=', username)
      .executeTakeFirst();
    return row?.user_id;
  }

  /** Inserts a user; throws UniqueViolation when the username is taken. */
  async createUser(user: { username: string; email: string; pwHash: string }): Promise<number> {
    try {
      const row = await this.db
        .insertInto('users')
        .values({ username: user.username, email: user.email, pw_hash: user.pwHash })
        .returning('user_id')
        .executeTakeFirstOrThrow();
      return row.user_id;
    } catch (error) {
      if (isUniqueViolation(error)) throw new UniqueViolation('username taken');
      throw error;
    }
  }

  async setPasswordHash(userId: number, pwHash: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ pw_hash: pwHash })
      .where('user_id', '=', userId)
      .execute();
  }

  // ---- messages ----

  async createMessage(authorId: number, text: string, pubDate: number): Promise<number> {
    const row = await this.db
      .insertInto('messages')
      .values({ author_id: authorId, text, pub_date: pubDate, flagged: 0 })
      .returning('message_id')
      .executeTakeFirstOrThrow();
    return row.message_id;
  }

  private timelineSelect() {
    return this.db
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.user_id', 'm.author_id')
      .select([
        'm.message_id as messageId',
        'm.text as text',
        'm.pub_date as pubDate',
        'm.author_id as authorId',
        'u.username as username',
        'u.email as email',
      ])
      .where('m.flagged', '=', 0)
      .where('m.deleted_at', 'is', null);
  }

  /** Everyone's visible messages, newest first (ids grow with time). */
  async publicTimeline(page: PageQuery): Promise<TimelineEntry[]> {
    const before = this.bound(page.before);
    if (before === 'empty') return [];
    let query = this.timelineSelect();
    if (before !== undefined) query = query.where('m.message_id', '<', before);
    return query.orderBy('m.message_id', 'desc').limit(page.limit).execute();
  }

  /** One author's visible messages, newest first: a range scan of (author_id, message_id). */
  async userTimeline(authorId: number, page: PageQuery): Promise<TimelineEntry[]> {
    const before = this.bound(page.before);
    if (before === 'empty' || !this.possibleId(authorId)) return [];
    let query = this.timelineSelect().where('m.author_id', '=', authorId);
    if (before !== undefined) query = query.where('m.message_id', '<', before);
    return query.orderBy('m.message_id', 'desc').limit(page.limit).execute();
  }

  /**
   * The messages of a user and of everyone they follow, newest first.
   *
   * First a window of the newest ids: `(author_id = me OR author_id IN (SELECT whom_id ...))
   * AND message_id in [lo, before)`, one index range per author (the follow list stays in the
   * database: no extra round trip, no 100-parameter statement to plan), growing 8-fold while
   * it holds fewer than `limit` messages.
   * Followed users who post often fill the first window in well under a millisecond. When
   * five windows are not enough (quiet authors), the per-author top-N merge takes over: at
   * most `limit` newest ids from each author's (author_id, message_id) range, the newest
   * `limit` of those kept. Either way the work is bounded whatever the table's size.
   */
  async homeTimeline(userId: number, request: PageQuery): Promise<TimelineEntry[]> {
    const before = this.bound(request.before);
    if (request.limit <= 0 || before === 'empty' || !this.possibleId(userId)) return [];
    const page = { limit: request.limit, before };
    const followedBy = this.db
      .selectFrom('followers')
      .select('whom_id')
      .where('who_id', '=', userId);
    const last = await this.db
      .selectFrom('messages')
      .select((eb) => eb.fn.max('message_id').as('id'))
      .executeTakeFirst();
    if (last?.id === null || last?.id === undefined) return [];
    // At most the largest id + 1: compared as `message_id <= upper - 1`, within the column.
    const upper = Math.min(page.before ?? Number.POSITIVE_INFINITY, Number(last.id) + 1);
    let span = this.homeWindows.first;
    for (let attempt = 0; attempt < this.homeWindows.attempts; attempt++, span *= 8) {
      const lower = Math.max(0, upper - span);
      const rows = await this.timelineSelect()
        .where((eb) => eb.or([eb('m.author_id', '=', userId), eb('m.author_id', 'in', followedBy)]))
        .where('m.message_id', '<=', upper - 1)
        .where('m.message_id', '>=', lower)
        .orderBy('m.message_id', 'desc')
        .limit(page.limit)
        .execute();
      // A full page, or a window reaching the first id, is the exact answer.
      if (rows.length === page.limit || lower === 0) return rows;
    }

    const followed = await this.db
      .selectFrom('followers')
      .select('whom_id')
      .where('who_id', '=', userId)
      .execute();
    const authors = [userId, ...followed.map((f) => f.whom_id).filter((id) => id !== userId)];
    const ids: number[] = [];
    for (let i = 0; i < authors.length; i += AUTHORS_PER_QUERY) {
      ids.push(...(await this.newestIdsOf(authors.slice(i, i + AUTHORS_PER_QUERY), page)));
    }
    if (ids.length === 0) return [];
    ids.sort((a, b) => b - a);
    const newest = ids.slice(0, page.limit);
    return this.timelineSelect()
      .where('m.message_id', 'in', newest)
      .orderBy('m.message_id', 'desc')
      .execute();
  }

  private async newestIdsOf(authors: number[], page: PageQuery): Promise<number[]> {
    const branch = (authorId: number) => {
      let query = this.db
        .selectFrom('messages')
        .select('message_id')
        .where('author_id', '=', authorId)
        .where('flagged', '=', 0)
        .where('deleted_at', 'is', null);
      if (page.before !== undefined) query = query.where('message_id', '<', page.before);
      return this.db
        .selectFrom(query.orderBy('message_id', 'desc').limit(page.limit).as(`a${authorId}`))
        .select('message_id');
    };
    const [first, ...rest] = authors;
    if (first === undefined) return [];
    let union = branch(first);
    for (const authorId of rest) union = union.unionAll(branch(authorId));
    const rows = await union.execute();
    return rows.map((r) => r.message_id);
  }

  /**
   * Up to `limit` visible messages of `scope` with an id above `after`, OLDEST first (the page
   * just newer than a cursor; the caller reverses it). Ids grow with time, so a page read this
   * way never shifts when messages are posted meanwhile.
   */
  async timelineAfter(
    scope: TimelineScope,
    after: number,
    limit: number,
  ): Promise<TimelineEntry[]> {
    if (limit <= 0 || !Number.isSafeInteger(after) || after < 0 || after >= this.largestId) {
      return [];
    }
    if (scope.kind === 'home') {
      if (!this.possibleId(scope.userId)) return [];
      const userId = scope.userId;
      const followedBy = this.db
        .selectFrom('followers')
        .select('whom_id')
        .where('who_id', '=', userId);
      // As homeTimeline, mirrored: windows of ids just above the cursor, growing 8-fold, for
      // authors who post often; then the per-author merge for quiet ones. Bounded either way.
      let span = this.homeWindows.first;
      for (let attempt = 0; attempt < this.homeWindows.attempts; attempt++, span *= 8) {
        const upper = Math.min(after + span, this.largestId);
        const rows = await this.timelineSelect()
          .where((eb) =>
            eb.or([eb('m.author_id', '=', userId), eb('m.author_id', 'in', followedBy)]),
          )
          .where('m.message_id', '>', after)
          .where('m.message_id', '<=', upper)
          .orderBy('m.message_id', 'asc')
          .limit(limit)
          .execute();
        if (rows.length === limit || upper === this.largestId) return rows;
      }
      const followed = await followedBy.execute();
      const authors = [userId, ...followed.map((f) => f.whom_id).filter((id) => id !== userId)];
      const ids: number[] = [];
      for (let i = 0; i < authors.length; i += AUTHORS_PER_QUERY) {
        ids.push(
          ...(await this.oldestIdsAfter(authors.slice(i, i + AUTHORS_PER_QUERY), after, limit)),
        );
      }
      if (ids.length === 0) return [];
      ids.sort((a, b) => a - b);
      return this.timelineSelect()
        .where('m.message_id', 'in', ids.slice(0, limit))
        .orderBy('m.message_id', 'asc')
        .execute();
    }
    let query = this.timelineSelect().where('m.message_id', '>', after);
    if (scope.kind === 'user') {
      if (!this.possibleId(scope.authorId)) return [];
      query = query.where('m.author_id', '=', scope.authorId);
    }
    return query.orderBy('m.message_id', 'asc').limit(limit).execute();
  }

  private async oldestIdsAfter(authors: number[], after: number, limit: number): Promise<number[]> {
    const branch = (authorId: number) =>
      this.db
        .selectFrom(
          this.db
            .selectFrom('messages')
            .select('message_id')
            .where('author_id', '=', authorId)
            .where('flagged', '=', 0)
            .where('deleted_at', 'is', null)
            .where('message_id', '>', after)
            .orderBy('message_id', 'asc')
            .limit(limit)
            .as(`a${authorId}`),
        )
        .select('message_id');
    const [first, ...rest] = authors;
    if (first === undefined) return [];
    let union = branch(first);
    for (const authorId of rest) union = union.unionAll(branch(authorId));
    return (await union.execute()).map((r) => r.message_id);
  }

  /**
   * A user's visible messages, and how many users they follow and are followed by, each
   * counted up to `cap` (a count of `cap` means "at least that many"): the work stays bounded
   * for an author with a million messages.
   */
  async profileCounts(userId: number, cap = COUNT_CAP): Promise<ProfileCounts> {
    if (!this.possibleId(userId)) return { messages: 0, following: 0, followers: 0 };
    const count = async (rows: Promise<{ n: string | number | bigint } | undefined>) =>
      Number((await rows)?.n ?? 0);
    const [messages, following, followers] = await Promise.all([
      count(
        this.db
          .selectFrom(
            this.db
              .selectFrom('messages')
              .select('message_id')
              .where('author_id', '=', userId)
              .where('flagged', '=', 0)
              .where('deleted_at', 'is', null)
              .limit(cap)
              .as('c'),
          )
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst(),
      ),
      count(
        this.db
          .selectFrom(
            this.db
              .selectFrom('followers')
              .select('whom_id')
              .where('who_id', '=', userId)
              .limit(cap)
              .as('c'),
          )
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst(),
      ),
      count(
        this.db
          .selectFrom(
            this.db
              .selectFrom('followers')
              .select('who_id')
              .where('whom_id', '=', userId)
              .limit(cap)
              .as('c'),
          )
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst(),
      ),
    ]);
    return { messages, following, followers };
  }

  /**
   * One page of the users `userId` follows (`side` 'following') or who follow them
   * ('followers'), by user id: ascending after `after`, or the `limit` just below `before`
   * (returned ascending too), or the first `limit`.
   */
  async followPage(
    userId: number,
    side: 'following' | 'followers',
    page: { limit: number; after?: number | undefined; before?: number | undefined },
  ): Promise<UserEntry[]> {
    if (page.limit <= 0 || !this.possibleId(userId)) return [];
    const [mine, theirs] =
      side === 'following'
        ? (['f.who_id', 'f.whom_id'] as const)
        : (['f.whom_id', 'f.who_id'] as const);
    let query = this.db
      .selectFrom('followers as f')
      .innerJoin('users as u', 'u.user_id', theirs)
      .select(['u.user_id as userId', 'u.username as username', 'u.email as email'])
      .where(mine, '=', userId);
    if (page.before !== undefined) {
      const rows = await query
        .where(theirs, '<', Math.min(page.before, this.largestId))
        .orderBy(theirs, 'desc')
        .limit(page.limit)
        .execute();
      return rows.reverse();
    }
    if (page.after !== undefined) {
      if (page.after >= this.largestId) return [];
      query = query.where(theirs, '>', page.after);
    }
    return query.orderBy(theirs, 'asc').limit(page.limit).execute();
  }

  /**
   * Up to `limit` users who posted among the newest `window` visible messages, most recent
   * first, leaving out `userId` and everyone they follow: the suggestions for a new account.
   */
  async recentAuthors(userId: number, limit: number, window = 500): Promise<UserEntry[]> {
    const recent = this.db
      .selectFrom('messages')
      .select(['author_id', 'message_id'])
      .where('flagged', '=', 0)
      .where('deleted_at', 'is', null)
      .orderBy('message_id', 'desc')
      .limit(window)
      .as('r');
    const followed = this.db.selectFrom('followers').select('whom_id').where('who_id', '=', userId);
    return this.db
      .selectFrom(recent)
      .innerJoin('users as u', 'u.user_id', 'r.author_id')
      .select(['u.user_id as userId', 'u.username as username', 'u.email as email'])
      .select((eb) => eb.fn.max('r.message_id').as('last'))
      .where('r.author_id', '<>', userId)
      .where('r.author_id', 'not in', followed)
      .groupBy(['u.user_id', 'u.username', 'u.email'])
      .orderBy('last', 'desc')
      .limit(limit)
      .execute()
      .then((rows) =>
        rows.map(({ userId: id, username, email }) => ({ userId: id, username, email })),
      );
  }

  // ---- follows ----

  async follow(whoId: number, whomId: number): Promise<void> {
    await this.db
      .insertInto('followers')
      .values({ who_id: whoId, whom_id: whomId })
      .onConflict((oc) => oc.columns(['who_id', 'whom_id']).doNothing())
      .execute();
  }

  async unfollow(whoId: number, whomId: number): Promise<void> {
    await this.db
      .deleteFrom('followers')
      .where('who_id', '=', whoId)
      .where('whom_id', '=', whomId)
      .execute();
  }

  async isFollowing(whoId: number, whomId: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('followers')
      .select('who_id')
      .where('who_id', '=', whoId)
      .where('whom_id', '=', whomId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Usernames that `whoId` follows, in the order of their user ids. */
  async followedUsernames(whoId: number, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('followers as f')
      .innerJoin('users as u', 'u.user_id', 'f.whom_id')
      .select('u.username')
      .where('f.who_id', '=', whoId)
      .orderBy('f.whom_id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.username);
  }

  // ---- settings ----

  async getSetting(name: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('settings')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.value);
  }

  async setSetting(name: string, value: number): Promise<void> {
    const upsert = (db: Kysely<Database>) =>
      db
        .insertInto('settings')
        .values({ name, value })
        .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
        .execute();
    if (this.dialect !== 'postgres') {
      await upsert(this.db);
      return;
    }
    // Every simulator request writes the one `latest` row, so each holds that row's lock until
    // its commit. A synchronous commit waits for the WAL flush under the lock, which limited the
    // whole API to one request per fsync (~300/s here). This commit does not wait for the flush:
    // the lock is released at once, and a database crash (not a restart) can lose the last
    // fraction of a second of `latest`; messages and follows keep synchronous commits.
    await this.db.transaction().execute(async (trx) => {
      await sql`set local synchronous_commit = off`.execute(trx);
      await upsert(trx);
    });
  }

  // ---- shared counters (the web form limits of every replica) ----
  //
  // A counter is one `settings` row whose value packs the end of its window (Unix seconds) and
  // the count: value = resetAt * 1e6 + count, count at most 999,999. One upsert reads, resets or
  // increments it atomically on both databases, so replicas and workers share one count.
  // (Packed values stay below 2^53 until the year 2255.)

  /**
   * Counts one event under `name` (a settings name such as `rl:login-ip:<hash>`) at `now`
   * (Unix ms). A window starts with its first event and lasts `windowMs` (rounded up to whole
   * seconds); an expired one starts over. Returns the count in the window, this event included
   * (at most 999,999), and when the window ends (Unix ms, a whole second).
   */
  async hitCounter(
    name: string,
    now: number,
    windowMs: number,
  ): Promise<{ count: number; resetAt: number }> {
    const nowSeconds = Math.floor(now / 1000);
    const fresh = Math.ceil((now + windowMs) / 1000) * COUNTER_SCALE + 1;
    const row = await this.db
      .insertInto('settings')
      .values({ name, value: fresh })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({
          value: sql<number>`case
            when settings.value / ${sql.lit(COUNTER_SCALE)} <= cast(${nowSeconds} as bigint)
              then cast(${fresh} as bigint)
            when settings.value % ${sql.lit(COUNTER_SCALE)} < ${sql.lit(COUNTER_SCALE - 1)}
              then settings.value + 1
            else settings.value end`,
        }),
      )
      .returning('value')
      .executeTakeFirstOrThrow();
    const value = Number(row.value);
    return {
      count: value % COUNTER_SCALE,
      resetAt: Math.floor(value / COUNTER_SCALE) * 1000,
    };
  }

  /** Takes one event back from the live window of `name` at `now` (Unix ms), if it has any. */
  async refundCounter(name: string, now: number): Promise<void> {
    await this.db
      .updateTable('settings')
      .set({ value: sql<number>`settings.value - 1` })
      .where('name', '=', name)
      .where(
        sql<boolean>`settings.value / ${sql.lit(COUNTER_SCALE)} > cast(${Math.floor(now / 1000)} as bigint)`,
      )
      .where(sql<boolean>`settings.value % ${sql.lit(COUNTER_SCALE)} > 0`)
      .execute();
  }

  /** Forgets the counter `name`. */
  async deleteCounter(name: string): Promise<void> {
    await this.db.deleteFrom('settings').where('name', '=', name).execute();
  }

  /**
   * Deletes the counters named `prefix…` whose window ended by `now` (Unix ms); returns how
   * many. `prefix` must end in ':' (the range scan runs to the next character, ';').
   */
  async deleteExpiredCounters(prefix: string, now: number): Promise<number> {
    if (!prefix.endsWith(':')) throw new Error(`counter prefix "${prefix}" must end in ':'`);
    const result = await this.db
      .deleteFrom('settings')
      .where('name', '>=', prefix)
      .where('name', '<', `${prefix.slice(0, -1)};`)
      .where(
        sql<boolean>`settings.value / ${sql.lit(COUNTER_SCALE)} <= cast(${Math.floor(now / 1000)} as bigint)`,
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // ---- sessions ----

  async createSession(id: string, userId: number, createdAt: number, expiresAt: number) {
    await this.db
      .insertInto('sessions')
      .values({ id, user_id: userId, created_at: createdAt, expires_at: expiresAt })
      .execute();
  }

  /**
   * The user of the live session with digest `id` at `now` (Unix seconds): its id, name and
   * email only. The password hash stays in the database: a signed-in request never carries it.
   */
  async findSessionUser(
    id: string,
    now: number,
  ): Promise<Pick<User, 'user_id' | 'username' | 'email'> | undefined> {
    return this.db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.user_id', 's.user_id')
      .select(['u.user_id', 'u.username', 'u.email'])
      .where('s.id', '=', id)
      .where('s.expires_at', '>', now)
      .executeTakeFirst();
  }

  async deleteSession(id: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id', '=', id).execute();
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    const result = await this.db
      .deleteFrom('sessions')
      .where('expires_at', '<=', now)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // ---- moderation ----

  /** Messages in id order, a page at a time, so that listing ten million rows stays flat. */
  async *allMessages(options: { flaggedOnly?: boolean; batch?: number } = {}) {
    const batch = options.batch ?? 1000;
    let after = 0;
    for (;;) {
      let query = this.db
        .selectFrom('messages')
        .select(['message_id as messageId', 'author_id as authorId', 'text', 'flagged'])
        .where('message_id', '>', after)
        .where('deleted_at', 'is', null);
      if (options.flaggedOnly) query = query.where('flagged', '<>', 0);
      const rows: ModerationEntry[] = await query.orderBy('message_id').limit(batch).execute();
      yield* rows;
      const last = rows.at(-1);
      if (last === undefined || rows.length < batch) return;
      after = last.messageId;
    }
  }

  /**
   * One message as the delete page shows it, deleted or not: its author, text, date and
   * `deletedAt` (Unix seconds, or null while it stands); undefined when no message has `messageId`.
   */
  async findMessage(
    messageId: number,
  ): Promise<(TimelineEntry & { flagged: number; deletedAt: number | null }) | undefined> {
    if (!this.possibleId(messageId)) return undefined;
    const row = await this.db
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.user_id', 'm.author_id')
      .select([
        'm.message_id as messageId',
        'm.text as text',
        'm.pub_date as pubDate',
        'm.author_id as authorId',
        'u.username as username',
        'u.email as email',
        'm.flagged as flagged',
        'm.deleted_at as deletedAt',
      ])
      .where('m.message_id', '=', messageId)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return { ...row, deletedAt: row.deletedAt === null ? null : Number(row.deletedAt) };
  }

  /**
   * Marks message `messageId` of author `authorId` deleted at `now` (Unix seconds), when it is
   * theirs and not deleted yet; true when this call deleted it (false: not theirs, missing, or
   * deleted already). The row stays: only `deleted_at` is set.
   */
  async softDeleteMessage(authorId: number, messageId: number, now: number): Promise<boolean> {
    if (!this.possibleId(messageId) || !this.possibleId(authorId)) return false;
    const result = await this.db
      .updateTable('messages')
      .set({ deleted_at: now })
      .where('message_id', '=', messageId)
      .where('author_id', '=', authorId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Sets `flagged` on the given messages; returns the ids that exist. */
  async setFlagged(messageIds: number[], flagged: 0 | 1): Promise<number[]> {
    const possible = messageIds.filter((id) => this.possibleId(id));
    if (possible.length === 0) return [];
    const rows = await this.db
      .updateTable('messages')
      .set({ flagged })
      .where('message_id', 'in', possible)
      .returning('message_id')
      .execute();
    return rows.map((r) => r.message_id).sort((a, b) => a - b);
  }

  // ---- health ----

  async ping(): Promise<void> {
    await this.db.selectFrom('settings').select('name').limit(1).execute();
  }

  async counts() {
    const count = async (table: keyof Database) => {
      const row = await this.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    };
    return {
      users: await count('users'),
      messages: await count('messages'),
      followers: await count('followers'),
    };
  }
}
