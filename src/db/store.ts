import { type CompiledQuery, type Kysely, type RawBuilder, sql } from 'kysely';
import type { Dialect } from './connect.js';
import { databaseCondition } from './errors.js';
import { type Prepared, prepare } from './prepared.js';
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

/** Which user a simulator action found missing: the acting one, or the one to (un)follow. */
export type MissingUser = 'user' | 'target';

/**
 * The rule of a visible message, for the message table under `alias`: every listing filters
 * with it (a further rule, such as a deletion mark, is added here once for all of them).
 *
 * `flagged` is 0 or 1 (moderation writes only those; legacy imports are normalised to them), so
 * `flagged < 1` means `flagged = 0`. Written as a range on purpose: on PostgreSQL tables whose
 * statistics are stale or missing (a new database right after a burst of inserts), the planner
 * takes an equality for 0.5 % of the rows, finds that fewer than a page of results, and sorts
 * the whole table instead of scanning the id index backwards (2 ms growing with the table
 * against 0.1 ms); a range it takes for a third, and the index scan stays its choice.
 * A message its author deleted (`deleted_at` set, the row kept) is not visible either; checked
 * with EXPLAIN on never-analysed and stale tables: the backward index scan stays.
 */
const visible = (alias: string) =>
  sql<boolean>`${sql.ref(`${alias}.flagged`)} < 1 and ${sql.ref(`${alias}.deleted_at`)} is null`;

/** The `latest` upsert (name 'latest' is the domain's LATEST). */
const upsertLatest = (value: unknown) =>
  sql`insert into settings (name, value) values ('latest', ${value}) on conflict (name) do update set value = excluded.value`;

const TIMELINE_COLUMNS = sql`m.message_id as "messageId", m.text as "text", m.pub_date as "pubDate", m.author_id as "authorId", u.username as "username", u.email as "email"`;

/**
 * The newest visible messages matching `where` (ids below `before` when given) with their
 * authors: a backward scan of the id index (or of (author_id, message_id)) that stops after
 * `limit` rows, one user lookup each. (Limiting in a subquery before the join was tried: SQLite
 * then plans for an unknown `limit ?` and builds a temporary index over the whole table, 17 ms
 * at 10 M messages.)
 */
function timelineSql(where: RawBuilder<unknown> | undefined, before: unknown, limit: unknown) {
  const conditions = [visible('m')];
  if (where) conditions.push(where as RawBuilder<boolean>);
  if (before !== undefined) conditions.push(sql<boolean>`m.message_id < ${before}`);
  return sql<TimelineEntry>`select ${TIMELINE_COLUMNS}
    from messages m join users u on u.user_id = m.author_id
    where ${sql.join(conditions, sql` and `)}
    order by m.message_id desc limit ${limit}`;
}

/** The queries of the request path, compiled once per store (see db/prepared.ts). */
function compileQueries(db: Kysely<Database>, dialect: Dialect) {
  const raw = <R>(query: RawBuilder<R>) => ({ compile: () => query.compile(db) });
  const postgres = dialect === 'postgres';
  return {
    userByName: prepare<{ username: string }, User>(['username'], (p) =>
      db.selectFrom('users').selectAll().where('username', '=', p.username),
    ),
    userIdByName: prepare<{ username: string }, { user_id: number }>(['username'], (p) =>
      db.selectFrom('users').select('user_id').where('username', '=', p.username),
    ),
    getSetting: prepare<{ name: string }, { value: number }>(['name'], (p) =>
      db.selectFrom('settings').select('value').where('name', '=', p.name),
    ),
    /**
     * Stores `latest`. On PostgreSQL its commit does not wait for the WAL flush (set for this
     * statement's own transaction): see setSetting.
     */
    storeLatest: prepare<{ value: number }, never>(['value'], (p) =>
      raw(
        postgres
          ? sql`with c as (select set_config('synchronous_commit', 'off', true))
              insert into settings (name, value) select 'latest', cast(${p.value} as bigint) from c
              on conflict (name) do update set value = excluded.value`
          : upsertLatest(p.value),
      ),
    ),
    /** The message of the user named `username`; no row when there is no such user. */
    postAs: prepare<{ username: string; text: string; pubDate: number }, { message_id: number }>(
      ['username', 'text', 'pubDate'],
      (p) =>
        raw(
          sql`insert into messages (author_id, text, pub_date, flagged)
            select user_id, ${p.text}, cast(${p.pubDate} as bigint), 0 from users where username = ${p.username}
            returning message_id`,
        ),
    ),
    /** PostgreSQL: `latest` stored and the message inserted in one statement. */
    postAsWithLatest: prepare<
      { latest: number; username: string; text: string; pubDate: number },
      { message_id: number }
    >(['latest', 'username', 'text', 'pubDate'], (p) =>
      raw(
        sql`with l as (${upsertLatest(sql`cast(${p.latest} as bigint)`)})
          insert into messages (author_id, text, pub_date, flagged)
          select user_id, ${p.text}, cast(${p.pubDate} as bigint), 0 from users where username = ${p.username}
          returning message_id`,
      ),
    ),
    /** Both users' ids (null when missing), for the follow actions. */
    twoUserIds: prepare<{ who: string; whom: string }, { who: number | null; whom: number | null }>(
      ['who', 'whom'],
      (p) =>
        raw(
          sql`select (select user_id from users where username = ${p.who}) as who,
            (select user_id from users where username = ${p.whom}) as whom`,
        ),
    ),
    /** PostgreSQL: `latest` (when given), both lookups and the (un)follow in one statement. */
    followAs: [false, true].map((unfollow) =>
      prepare<
        { latest: number | null; who: string; whom: string },
        { who: number | null; whom: number | null }
      >(['latest', 'who', 'whom'], (p) =>
        raw(
          sql`with l as (insert into settings (name, value) select 'latest', cast(${p.latest} as bigint)
              where cast(${p.latest} as bigint) is not null
              on conflict (name) do update set value = excluded.value),
            w as (select user_id from users where username = ${p.who}),
            t as (select user_id from users where username = ${p.whom}),
            a as (${
              unfollow
                ? sql`delete from followers f using w, t where f.who_id = w.user_id and f.whom_id = t.user_id`
                : sql`insert into followers (who_id, whom_id) select w.user_id, t.user_id from w, t on conflict do nothing`
            })
            select (select user_id from w) as who, (select user_id from t) as whom`,
        ),
      ),
    ) as [
      Prepared<
        { latest: number | null; who: string; whom: string },
        { who: number | null; whom: number | null }
      >,
      Prepared<
        { latest: number | null; who: string; whom: string },
        { who: number | null; whom: number | null }
      >,
    ],
    /** SQLite: the newest visible messages of the user named `username` (none: see the caller). */
    userTimelineOfName: prepare<{ username: string; limit: number }, TimelineEntry>(
      ['username', 'limit'],
      (p) => raw(timelineSql(sql`u.username = ${p.username}`, undefined, p.limit)),
    ),
    /** SQLite: whom the user named `username` follows, by id. */
    followedOfName: prepare<{ username: string; limit: number }, { username: string }>(
      ['username', 'limit'],
      (p) =>
        raw(
          sql`select u.username from users w join followers f on f.who_id = w.user_id
            join users u on u.user_id = f.whom_id where w.username = ${p.username}
            order by f.whom_id limit ${p.limit}`,
        ),
    ),
    follow: prepare<{ who: number; whom: number }, never>(['who', 'whom'], (p) =>
      db
        .insertInto('followers')
        .values({ who_id: p.who, whom_id: p.whom })
        .onConflict((oc) => oc.columns(['who_id', 'whom_id']).doNothing()),
    ),
    unfollow: prepare<{ who: number; whom: number }, never>(['who', 'whom'], (p) =>
      db.deleteFrom('followers').where('who_id', '=', p.who).where('whom_id', '=', p.whom),
    ),
    publicNewest: prepare<{ limit: number }, TimelineEntry>(['limit'], (p) =>
      raw(timelineSql(undefined, undefined, p.limit)),
    ),
    publicBefore: prepare<{ limit: number; before: number }, TimelineEntry>(
      ['limit', 'before'],
      (p) => raw(timelineSql(undefined, p.before, p.limit)),
    ),
    userNewest: prepare<{ author: number; limit: number }, TimelineEntry>(
      ['author', 'limit'],
      (p) => raw(timelineSql(sql`m.author_id = ${p.author}`, undefined, p.limit)),
    ),
    userBefore: prepare<{ author: number; limit: number; before: number }, TimelineEntry>(
      ['author', 'limit', 'before'],
      (p) => raw(timelineSql(sql`m.author_id = ${p.author}`, p.before, p.limit)),
    ),
    /**
     * PostgreSQL: the user named `username` and their newest visible messages in one statement;
     * no row at all when there is no such user, one row of nulls when they have no message.
     */
    userTimelineByName: prepare<
      { username: string; limit: number },
      Omit<TimelineEntry, 'messageId'> & { messageId: number | null }
    >(['username', 'limit'], (p) =>
      raw(
        sql`select m.message_id as "messageId", m.text as "text", m.pub_date as "pubDate",
            w.user_id as "authorId", w.username as "username", w.email as "email"
          from users w left join lateral (
            select m.message_id, m.text, m.pub_date from messages m
            where m.author_id = w.user_id and ${visible('m')}
            order by m.message_id desc limit ${p.limit}) m on true
          where w.username = ${p.username}
          order by m.message_id desc`,
      ),
    ),
    followedUsernames: prepare<{ who: number; limit: number }, { username: string }>(
      ['who', 'limit'],
      (p) =>
        db
          .selectFrom('followers as f')
          .innerJoin('users as u', 'u.user_id', 'f.whom_id')
          .select('u.username')
          .where('f.who_id', '=', p.who)
          .orderBy('f.whom_id')
          .limit(p.limit),
    ),
    /** PostgreSQL: the user named `username` (no row when missing) and whom they follow. */
    followedByName: prepare<{ username: string; limit: number }, { username: string | null }>(
      ['username', 'limit'],
      (p) =>
        raw(
          sql`select x.username from users w left join lateral (
              select u.username, f.whom_id from followers f join users u on u.user_id = f.whom_id
              where f.who_id = w.user_id order by f.whom_id limit ${p.limit}) x on true
            where w.username = ${p.username} order by x.whom_id`,
        ),
    ),
  };
}

/**
 * The only code that speaks SQL. Every query is written with Kysely and runs unchanged on
 * SQLite and PostgreSQL; the domain layer above never sees a query.
 */
export class Store {
  /** The home timeline's windows: the first span of ids and how many (8-fold) tries. */
  homeWindows = { first: HOME_FIRST_WINDOW, attempts: 5 };

  /** Ids above this cannot exist in this database (see LARGEST_ID). */
  readonly largestId: number;

  /** The request path's queries, compiled once. */
  private readonly q: ReturnType<typeof compileQueries>;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {
    this.largestId = LARGEST_ID[dialect];
    this.q = compileQueries(db, dialect);
  }

  private async rows<R>(query: CompiledQuery<R>): Promise<R[]> {
    return (await this.db.executeQuery(query)).rows;
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
    return (await this.rows(this.q.userByName.bind({ username })))[0];
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
    return (await this.rows(this.q.userIdByName.bind({ username })))[0]?.user_id;
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

  /**
   * Stores `latest` (when given) and then the message of the user named `username`, dated
   * `pubDate` (Unix seconds): one statement on PostgreSQL, two on SQLite. Returns the message's
   * id, or undefined when there is no such user (`latest` is stored all the same).
   */
  async postAs(
    username: string,
    text: string,
    pubDate: number,
    latest?: number,
  ): Promise<number | undefined> {
    let query: CompiledQuery<{ message_id: number }>;
    if (latest !== undefined && this.dialect === 'postgres') {
      query = this.q.postAsWithLatest.bind({ latest, username, text, pubDate });
    } else {
      if (latest !== undefined) await this.storeLatest(latest);
      query = this.q.postAs.bind({ username, text, pubDate });
    }
    return (await this.rows(query))[0]?.message_id;
  }

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
      .where(visible('m'));
  }

  /** Everyone's visible messages, newest first (ids grow with time). */
  async publicTimeline(page: PageQuery): Promise<TimelineEntry[]> {
    const before = this.bound(page.before);
    if (before === 'empty') return [];
    return this.rows(
      before === undefined
        ? this.q.publicNewest.bind({ limit: page.limit })
        : this.q.publicBefore.bind({ limit: page.limit, before }),
    );
  }

  /** One author's visible messages, newest first: a range scan of (author_id, message_id). */
  async userTimeline(authorId: number, page: PageQuery): Promise<TimelineEntry[]> {
    const before = this.bound(page.before);
    if (before === 'empty' || !this.possibleId(authorId)) return [];
    return this.rows(
      before === undefined
        ? this.q.userNewest.bind({ author: authorId, limit: page.limit })
        : this.q.userBefore.bind({ author: authorId, limit: page.limit, before }),
    );
  }

  /**
   * The newest `limit` visible messages of the user named `username`, or undefined when there is
   * no such user: one statement on PostgreSQL, the lookup and the range scan on SQLite.
   */
  async userTimelineByName(username: string, limit: number): Promise<TimelineEntry[] | undefined> {
    if (this.dialect !== 'postgres') {
      // One statement; the lookup alone only when it found nothing (no user, or no message).
      const rows = await this.rows(this.q.userTimelineOfName.bind({ username, limit }));
      if (rows.length > 0) return rows;
      return (await this.findUserIdByName(username)) === undefined ? undefined : [];
    }
    const rows = await this.rows(this.q.userTimelineByName.bind({ username, limit }));
    if (rows.length === 0) return undefined;
    return rows.filter((r): r is TimelineEntry => r.messageId !== null);
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
        .where(visible('messages'));
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
            .where(visible('messages'))
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
              .where(visible('messages'))
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
      .where(visible('messages'))
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
    await this.db.executeQuery(this.q.follow.bind({ who: whoId, whom: whomId }));
  }

  async unfollow(whoId: number, whomId: number): Promise<void> {
    await this.db.executeQuery(this.q.unfollow.bind({ who: whoId, whom: whomId }));
  }

  /**
   * Stores `latest` (when given), then makes the user named `who` follow (or, with `unfollow`,
   * stop following) the user named `whom`: one statement on PostgreSQL. Returns which user is
   * missing ('user' before 'target'), or undefined when the action was done (`latest` is
   * stored either way).
   */
  async followAs(
    who: string,
    whom: string,
    unfollow: boolean,
    latest?: number,
  ): Promise<MissingUser | undefined> {
    let ids: { who: number | null; whom: number | null } | undefined;
    if (this.dialect === 'postgres') {
      const query = this.q.followAs[unfollow ? 1 : 0].bind({ latest: latest ?? null, who, whom });
      ids = (await this.rows(query))[0];
    } else {
      // (One insert-or-delete by names, with the lookups only when it changed nothing, was
      // measured slower: the simulator often follows twice, and then it takes three statements.)
      if (latest !== undefined) await this.storeLatest(latest);
      ids = (await this.rows(this.q.twoUserIds.bind({ who, whom })))[0];
      if (ids && ids.who !== null && ids.whom !== null) {
        await (unfollow ? this.unfollow(ids.who, ids.whom) : this.follow(ids.who, ids.whom));
      }
    }
    if (ids?.who === null || ids?.who === undefined) return 'user';
    if (ids.whom === null) return 'target';
    return undefined;
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
    const rows = await this.rows(this.q.followedUsernames.bind({ who: whoId, limit }));
    return rows.map((r) => r.username);
  }

  /**
   * Usernames that the user named `username` follows, in the order of their user ids, or
   * undefined when there is no such user: one statement on PostgreSQL.
   */
  async followedUsernamesByName(username: string, limit: number): Promise<string[] | undefined> {
    if (this.dialect !== 'postgres') {
      // One statement; the lookup alone only when it found nothing.
      const rows = await this.rows(this.q.followedOfName.bind({ username, limit }));
      if (rows.length > 0) return rows.map((r) => r.username);
      return (await this.findUserIdByName(username)) === undefined ? undefined : [];
    }
    const rows = await this.rows(this.q.followedByName.bind({ username, limit }));
    if (rows.length === 0) return undefined;
    return rows.flatMap((r) => (r.username === null ? [] : [r.username]));
  }

  // ---- settings ----

  async getSetting(name: string): Promise<number | undefined> {
    const row = (await this.rows(this.q.getSetting.bind({ name })))[0];
    return row === undefined ? undefined : Number(row.value);
  }

  /**
   * Stores the simulator's `latest` (the settings row 'latest') in one statement; on PostgreSQL
   * its commit does not wait for the WAL flush (see setSetting).
   */
  async storeLatest(value: number): Promise<void> {
    await this.db.executeQuery(this.q.storeLatest.bind({ value }));
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
