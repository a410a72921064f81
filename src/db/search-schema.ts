import { type Kysely, sql } from 'kysely';
import type { Dialect } from './connect.js';

/**
 * The search structures (migration 0003_search). Everything search adds to a database is named
 * `search_…`, so data operations (which copy MiniTwit's own tables, src/dataops/transfer.ts)
 * leave it out: a copy is indexed again on its target, by the triggers as rows arrive.
 *
 * - `search_state`: one row per index, `next_below`: messages with a smaller id are not indexed
 *   yet (the background indexer lowers it batch by batch to 1); messages with an id at or above
 *   it are indexed by triggers as they are written.
 * - SQLite: `search_messages`, a contentless FTS5 table (the text is not stored twice; rowid =
 *   message_id) that accepts deletes; `search_users` likewise over usernames, with prefix
 *   indexes for names typed in part. Triggers keep both in step with inserts, deletes and text
 *   changes.
 * - PostgreSQL: `search_messages (message_id, doc tsvector)` with a GIN index on `doc` (the
 *   document of a text is `search_document(text)`: its letters and digits as words), filled
 *   by an insert/update trigger and emptied by ON DELETE CASCADE; users through a GIN
 *   expression index on `search_document(username)` (built here: users are few).
 *
 * Words are compared as the tokenizers see them: SQLite's unicode61 (case and diacritics
 * folded) and PostgreSQL's `simple` configuration (case folded, no stemming).
 */
export const SEARCH_PREFIX = 'search_';

/** The text search configuration on PostgreSQL: no stemming and no stop words. */
export const PG_CONFIG = 'simple';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the schema as it was then
export async function createSearch(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await sql`create table search_state (name text primary key, next_below bigint not null)`.execute(
    db,
  );
  if (dialect === 'sqlite') {
    const fts = "tokenize = 'unicode61 remove_diacritics 2', content = '', contentless_delete = 1";
    await sql.raw(`create virtual table search_messages using fts5(text, ${fts})`).execute(db);
    await sql
      .raw(`create virtual table search_users using fts5(username, ${fts}, prefix = '1 2 3')`)
      .execute(db);
    // Triggers first, then the high-water mark: SQLite has one writer, so no row falls between.
    for (const statement of [
      `create trigger search_messages_insert after insert on messages begin
         insert into search_messages (rowid, text) values (new.message_id, new.text); end`,
      // Deleting a rowid the index does not hold is a no-op in a contentless_delete table.
      `create trigger search_messages_delete after delete on messages begin
         delete from search_messages where rowid = old.message_id; end`,
      // A row the indexer has not reached yet is indexed (with its new text) when it gets there.
      `create trigger search_messages_update after update of text on messages
         when old.message_id >= (select next_below from search_state where name = 'messages')
         begin
           delete from search_messages where rowid = old.message_id;
           insert into search_messages (rowid, text) values (new.message_id, new.text);
         end`,
      `create trigger search_users_insert after insert on users begin
         insert into search_users (rowid, username) values (new.user_id, new.username); end`,
      `create trigger search_users_delete after delete on users begin
         delete from search_users where rowid = old.user_id; end`,
      `create trigger search_users_update after update of username on users begin
         delete from search_users where rowid = old.user_id;
         insert into search_users (rowid, username) values (new.user_id, new.username); end`,
    ]) {
      await sql.raw(statement).execute(db);
    }
    await sql`insert into search_users (rowid, username) select user_id, username from users`.execute(
      db,
    );
  } else {
    await sql`create table search_messages (
        message_id integer primary key references messages (message_id) on delete cascade,
        doc tsvector not null)`.execute(db);
    // A small pending list: new entries wait there for a merge, and every search reads it
    // through; 4 MB (the default) of waiting entries made a search of an absent word take 10 ms.
    await sql`create index search_messages_doc on search_messages using gin (doc)
        with (gin_pending_list_limit = 512)`.execute(db);
    // Only letters and digits make words, as in SQLite's tokenizer and in the query (domain/
    // search.ts): PostgreSQL's parser would otherwise read `<b>…</b>` as markup and drop it,
    // or keep `a@b.dk` as one e-mail token that no word of a query can match.
    await sql
      .raw(
        `create function search_document(body text) returns tsvector language sql immutable
           parallel safe return to_tsvector('${PG_CONFIG}', regexp_replace(body, '[^[:alnum:]]+', ' ', 'g'))`,
      )
      .execute(db);
    await sql
      .raw(
        `create function search_messages_index() returns trigger language plpgsql as $$ begin
           insert into search_messages (message_id, doc)
             values (new.message_id, search_document(new.text))
             on conflict (message_id) do update set doc = excluded.doc;
           return null; end $$`,
      )
      .execute(db);
    // Creating the trigger waits for transactions writing messages and then holds them off
    // until this migration commits, so the high-water mark read below misses no row.
    await sql`create trigger search_messages_insert after insert on messages
        for each row execute function search_messages_index()`.execute(db);
    await sql`create trigger search_messages_update after update of text on messages
        for each row execute function search_messages_index()`.execute(db);
    await sql
      .raw('create index search_users_name on users using gin (search_document(username))')
      .execute(db);
  }
  await sql`insert into search_state (name, next_below)
      select 'messages', coalesce(max(message_id), 0) + 1 from messages`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: as above
export async function dropSearch(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') {
    for (const name of [
      'search_messages_insert',
      'search_messages_delete',
      'search_messages_update',
      'search_users_insert',
      'search_users_delete',
      'search_users_update',
    ]) {
      await sql.raw(`drop trigger if exists ${name}`).execute(db);
    }
    await sql`drop table if exists search_users`.execute(db);
  } else {
    await sql`drop trigger if exists search_messages_insert on messages`.execute(db);
    await sql`drop trigger if exists search_messages_update on messages`.execute(db);
    await sql`drop function if exists search_messages_index()`.execute(db);
    await sql`drop function if exists search_document(text)`.execute(db);
    await sql`drop index if exists search_users_name`.execute(db);
  }
  await sql`drop table if exists search_messages`.execute(db);
  await sql`drop table if exists search_state`.execute(db);
}
