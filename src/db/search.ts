import { type Kysely, sql } from 'kysely';
import type { Dialect } from './connect.js';
import type { Database } from './schema.js';
import { PG_CONFIG } from './search-schema.js';
import type { PageQuery, TimelineEntry } from './store.js';

/** The first window of ids a PostgreSQL search walks (see postgresMessages). */
const FIRST_WINDOW = 4096;
/** The largest window of ids worth walking; fewer matches than this implies: the GIN index. */
const MAX_WINDOW = 65_536;
/** Expected matches below which the GIN index (which reads every match) is the cheaper way. */
const RARE_MATCHES = 2_000;

/** A user found by name. */
export interface UserHit {
  userId: number;
  username: string;
}

/** How far the background indexer has come: messages below `nextBelow` are not indexed yet. */
export interface BackfillState {
  /** 1 when every message is indexed (ids start at 1). */
  nextBelow: number;
  done: boolean;
}

/**
 * The search side of the store (the only other code that speaks SQL besides store.ts): the
 * queries over the structures of search-schema.ts, and the steps of the background indexer.
 * `words` are always letters and digits only (see domain/search.ts), so they can be written into
 * an FTS5 or tsquery expression without any of those languages' syntax reaching it.
 */
export class SearchStore {
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {}

  /**
   * Visible messages (not flagged, not deleted) holding every one of `words`, newest first,
   * `page.limit` at most, with ids below `page.before` when given. Cost: SQLite walks the FTS5
   * doclists backwards from `before`; PostgreSQL's planner picks a backward primary-key walk
   * (common words) or the GIN index (rare words).
   */
  async messages(words: string[], page: PageQuery): Promise<TimelineEntry[]> {
    if (words.length === 0 || page.limit <= 0) return [];
    const before = page.before === undefined ? Number.MAX_SAFE_INTEGER : page.before;
    if (this.dialect === 'sqlite') {
      const match = words.map((w) => `"${w}"`).join(' ');
      const result = await sql<TimelineEntry>`
        select m.message_id as "messageId", m.text as text, m.pub_date as "pubDate",
               m.author_id as "authorId", u.username as username, u.email as email
        from search_messages s
        join messages m on m.message_id = s.rowid
        join users u on u.user_id = m.author_id
        where search_messages match ${match} and s.rowid < ${before}
          and m.flagged = 0 and m.deleted_at is null
        order by s.rowid desc
        limit ${page.limit}`.execute(this.db);
      return result.rows;
    }
    return this.postgresMessages(words.join(' '), page.limit, Math.min(before, 2_147_483_647));
  }

  /**
   * PostgreSQL cannot read a GIN index in id order, and its planner guesses a word's frequency
   * poorly (a word it has no statistics for looks common), so the plan is chosen here:
   * windows of ids walked down the primary key, newest first, each row tested against the query
   * without the index (`ts_match_vq`: cheap per row), the next window sized from the matches
   * seen so far; when too few rows match for a window of at most MAX_WINDOW ids to fill the
   * page, the GIN index finds the few that remain. A common word costs a window of a few
   * hundred ids, a rare or absent one a GIN lookup of its few entries. JIT compilation and
   * parallel workers are off: starting them costs more than these millisecond queries.
   */
  private async postgresMessages(
    query: string,
    limit: number,
    before: number,
  ): Promise<TimelineEntry[]> {
    const select = sql`select m.message_id as "messageId", m.text as text, m.pub_date as "pubDate",
        m.author_id as "authorId", u.username as username, u.email as email
      from search_messages s
      join messages m on m.message_id = s.message_id
      join users u on u.user_id = m.author_id`;
    const visible = sql`m.flagged = 0 and m.deleted_at is null`;
    const tsquery = sql`plainto_tsquery(${sql.lit(PG_CONFIG)}, ${query})`;
    const rows = await this.db.transaction().execute(async (trx) => {
      // One round trip: the settings for this transaction, and the newest indexed id.
      const top = await sql<{ m: number | string | null }>`
        select set_config('jit', 'off', true) as j,
               set_config('max_parallel_workers_per_gather', '0', true) as p,
               (select max(message_id) from search_messages) as m`.execute(trx);
      let high = Math.min(before, Number(top.rows[0]?.m ?? 0) + 1);
      const found: TimelineEntry[] = [];
      const share = await this.matchShare(trx, query);
      const gin = async (missing: number) => {
        // `+ 0` keeps the planner from walking the primary key instead.
        const rest = await sql<TimelineEntry>`${select}
          where s.doc @@ ${tsquery} and s.message_id + 0 < ${high} and ${visible}
          order by s.message_id + 0 desc
          limit ${missing}`.execute(trx);
        found.push(...rest.rows);
      };
      // Known to be rare (or absent) among the ids below `high`: straight to the index.
      if (share !== undefined && share * high < RARE_MATCHES) {
        await gin(limit);
        return found;
      }
      let window =
        share === undefined
          ? FIRST_WINDOW
          : Math.min(MAX_WINDOW, Math.ceil((limit / share) * 1.5) + 64);
      let scanned = 0;
      while (high > 1 && found.length < limit) {
        const low = Math.max(1, high - window);
        const part = await sql<TimelineEntry>`${select}
          where s.message_id >= ${low} and s.message_id < ${high}
            and ts_match_vq(s.doc, ${tsquery}) and ${visible}
          order by s.message_id desc
          limit ${limit - found.length}`.execute(trx);
        found.push(...part.rows);
        const poor = part.rows.length === 0;
        scanned += high - low;
        high = low;
        const missing = limit - found.length;
        if (missing <= 0 || high <= 1) break;
        // The words' share (statistics, else what the windows found so far) sizes the next
        // window; matches are not spread evenly (a burst of other posts), so one poor window
        // does not make a common word rare. The GIN index, which reads every match, is taken
        // when few are expected below `high`, or after 4 * MAX_WINDOW ids walked in vain.
        const density = share ?? (found.length > 0 ? found.length / scanned : undefined);
        if (
          (density !== undefined && density * high < RARE_MATCHES) ||
          scanned >= 4 * MAX_WINDOW ||
          (density === undefined && scanned >= MAX_WINDOW)
        ) {
          await gin(missing);
          break;
        }
        window =
          density === undefined
            ? window * 8
            : Math.min(
                MAX_WINDOW,
                Math.max(Math.ceil((missing / density) * 1.25) + 64, poor ? window * 2 : 0),
              );
      }
      return found;
    });
    return rows.map((r) => ({ ...r, pubDate: Number(r.pubDate) }));
  }

  /**
   * The share of messages that hold every word of `query` as PostgreSQL's statistics of
   * `search_messages.doc` tell it (ANALYZE, run by autovacuum, keeps the most common lexemes
   * and their frequencies): the product of the words' frequencies, 0 when a word is not among
   * them (rarer than all of those). Undefined without statistics (a new index).
   * Cached for five minutes (ten seconds while there are none).
   */
  private async matchShare(trx: Kysely<Database>, query: string): Promise<number | undefined> {
    const now = Date.now();
    const age = this.lexemes?.known ? 300_000 : 10_000;
    if (this.lexemes === undefined || now - this.lexemes.at > age) {
      const stats = await sql<{ elems: string[] | null; freqs: number[] | null }>`
        select most_common_elems::text::text[] as elems, most_common_elem_freqs as freqs
        from pg_stats
        where schemaname = current_schema() and tablename = 'search_messages' and attname = 'doc'`.execute(
        trx,
      );
      const row = stats.rows[0];
      const map = new Map<string, number>();
      if (row?.elems && row.freqs) {
        for (const [i, e] of row.elems.entries()) map.set(e, Number(row.freqs[i] ?? 0));
      }
      this.lexemes = { at: now, map, known: map.size > 0 };
    }
    const { map, known } = this.lexemes;
    if (!known) return undefined;
    // The words are letters and digits, lower-cased: `simple` makes each its own lexeme. A word
    // outside the most common ones is rare: its matches are few, and the index lists them.
    let share = 1;
    for (const word of query.split(' ')) share *= map.get(word) ?? 0;
    return share;
  }
  private lexemes: { at: number; map: Map<string, number>; known: boolean } | undefined;

  /**
   * Users with a word in their name starting with each of `words` (case folded), at most
   * `limit`, oldest account first.
   */
  async users(words: string[], limit: number): Promise<UserHit[]> {
    if (words.length === 0 || limit <= 0) return [];
    if (this.dialect === 'sqlite') {
      const match = words.map((w) => `"${w}"*`).join(' ');
      const result = await sql<UserHit>`
        select u.user_id as "userId", u.username as username
        from search_users s join users u on u.user_id = s.rowid
        where search_users match ${match}
        order by s.rowid
        limit ${limit}`.execute(this.db);
      return result.rows;
    }
    const query = words.map((w) => `${w}:*`).join(' & ');
    // `+ 0`: walking users_pkey in order, testing every name (the planner's choice for a
    // LIMIT), took 100 ms at 100,000 users; the GIN index answers in well under one.
    // A GIN lookup and a sort of its few rows: far below the costs that start JIT or workers.
    const result = await sql<UserHit>`
      select user_id as "userId", username from users
      where search_document(username) @@ to_tsquery(${sql.lit(PG_CONFIG)}, ${query})
      order by user_id + 0
      limit ${limit}`.execute(this.db);
    return result.rows;
  }

  /** The background indexer's progress (done when there is no search_state row: nothing to do). */
  async backfillState(): Promise<BackfillState> {
    // Once complete, an index stays complete (until resetMessageIndex): asked again each minute.
    if (this.doneAt !== undefined && Date.now() - this.doneAt < 60_000) {
      return { nextBelow: 1, done: true };
    }
    const state = await this.readBackfillState();
    this.doneAt = state.done ? Date.now() : undefined;
    return state;
  }
  private doneAt: number | undefined;

  private async readBackfillState(): Promise<BackfillState> {
    const result = await sql<{ next_below: number | string }>`
      select next_below from search_state where name = 'messages'`.execute(this.db);
    const nextBelow = Number(result.rows[0]?.next_below ?? 1);
    return { nextBelow, done: nextBelow <= 1 };
  }

  /**
   * Indexes the not yet indexed messages with ids in [next_below - `batch`, next_below), newest
   * first, and lowers next_below to the start of that range, in one transaction; returns the
   * new state and how many messages it indexed. Safe to run from several processes at once
   * (PostgreSQL locks the state row; SQLite has one writer).
   */
  async backfillBatch(batch: number): Promise<BackfillState & { indexed: number }> {
    return this.db.transaction().execute(async (trx) => {
      const lock = this.dialect === 'postgres' ? sql` for update` : sql``;
      const state = await sql<{ next_below: number | string }>`
        select next_below from search_state where name = 'messages'${lock}`.execute(trx);
      const high = Number(state.rows[0]?.next_below ?? 1);
      if (high <= 1) return { nextBelow: high, done: true, indexed: 0 };
      const low = Math.max(1, high - batch);
      const inserted =
        this.dialect === 'sqlite'
          ? await sql`insert into search_messages (rowid, text)
              select message_id, text from messages
              where message_id >= ${low} and message_id < ${high}`.execute(trx)
          : await sql`insert into search_messages (message_id, doc)
              select message_id, search_document(text) from messages
              where message_id >= ${low} and message_id < ${high}
              on conflict (message_id) do nothing`.execute(trx);
      await sql`update search_state set next_below = ${low} where name = 'messages'`.execute(trx);
      return { nextBelow: low, done: low <= 1, indexed: Number(inserted.numAffectedRows ?? 0) };
    });
  }

  /**
   * Empties the message index and marks every message as not indexed yet, so the background
   * indexer builds it again (a repair, and how the benchmark times a full build). New messages
   * are indexed by the triggers meanwhile, as after the migration.
   */
  async resetMessageIndex(): Promise<void> {
    this.doneAt = undefined;
    await this.db.transaction().execute(async (trx) => {
      if (this.dialect === 'sqlite') {
        await sql`insert into search_messages (search_messages) values ('delete-all')`.execute(trx);
      } else {
        await sql`lock table messages in share row exclusive mode`.execute(trx);
        await sql`truncate search_messages`.execute(trx);
      }
      await sql`update search_state set next_below = (select coalesce(max(message_id), 0) + 1 from messages)
          where name = 'messages'`.execute(trx);
    });
  }

  /**
   * Bytes the search structures take: SQLite's FTS5 tables (dbstat), PostgreSQL's
   * search_messages table with its indexes plus the users' name index.
   */
  async indexBytes(): Promise<{ messages: number; users: number }> {
    if (this.dialect === 'sqlite') {
      const result = await sql<{ name: string; bytes: number }>`
        select name, sum(pgsize) as bytes from dbstat
        where name like 'search\\_%' escape '\\' group by name`.execute(this.db);
      let messages = 0;
      let users = 0;
      for (const row of result.rows) {
        if (row.name.startsWith('search_messages')) messages += Number(row.bytes);
        else if (row.name.startsWith('search_users')) users += Number(row.bytes);
      }
      return { messages, users };
    }
    const result = await sql<{ messages: string; users: string }>`
      select pg_total_relation_size('search_messages') as messages,
             pg_relation_size('search_users_name') as users`.execute(this.db);
    const row = result.rows[0];
    return { messages: Number(row?.messages ?? 0), users: Number(row?.users ?? 0) };
  }
}
