import { sql } from 'kysely';
import type { Dialect } from '../db/connect.js';
import { type AnyDb, deleteFollow, insertRows, type Row, SPECS } from './transfer.js';

/**
 * A change log on the source of a live migration: triggers record the key of every follower row
 * inserted or deleted and of every user or message updated or deleted, so each pass (and the
 * final one, under the write pause) re-reads only the rows that changed instead of diffing whole
 * tables. New users and messages need no log: they are found by id.
 */
export const CHANGES_TABLE = 'minitwit_migration_changes';
const LOGGED = ['users', 'messages', 'followers'] as const;
type Logged = (typeof LOGGED)[number];

export async function installChangeLog(db: AnyDb, dialect: Dialect): Promise<void> {
  await removeChangeLog(db, dialect);
  await db.schema
    .createTable(CHANGES_TABLE)
    .addColumn('seq', 'integer', (c) =>
      dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey(),
    )
    .addColumn('tbl', 'text', (c) => c.notNull())
    .addColumn('k1', 'bigint', (c) => c.notNull())
    .addColumn('k2', 'bigint', (c) => c.notNull())
    .execute();
  const log = sql.table(CHANGES_TABLE);
  if (dialect === 'postgres') {
    for (const table of LOGGED) {
      const [k1, k2] = SPECS[table].key as [string, string | undefined];
      const key = (rec: string) =>
        sql.raw(`${rec}.${k1}, ${k2 === undefined ? '0' : `${rec}.${k2}`}`);
      await sql`create or replace function ${sql.raw(`minitwit_log_${table}`)}() returns trigger language plpgsql as $$ begin if tg_op = 'DELETE' then insert into ${log} (tbl, k1, k2) values ('${sql.raw(table)}', ${key('old')}); else insert into ${log} (tbl, k1, k2) values ('${sql.raw(table)}', ${key('new')}); end if; return null; end $$`.execute(
        db,
      );
      const ops = table === 'followers' ? 'insert or delete' : 'update or delete';
      await sql`create trigger minitwit_log after ${sql.raw(ops)} on ${sql.table(table)} for each row execute function ${sql.raw(`minitwit_log_${table}`)}()`.execute(
        db,
      );
    }
    return;
  }
  for (const table of LOGGED) {
    const [k1, k2] = SPECS[table].key as [string, string | undefined];
    const ops = table === 'followers' ? ['insert', 'delete'] : ['update', 'delete'];
    for (const op of ops) {
      const rec = op === 'delete' ? 'old' : 'new';
      const key = sql.raw(`${rec}.${k1}, ${k2 === undefined ? '0' : `${rec}.${k2}`}`);
      await sql`create trigger ${sql.raw(`minitwit_log_${table}_${op}`)} after ${sql.raw(op)} on ${sql.table(table)} begin insert into ${log} (tbl, k1, k2) values ('${sql.raw(table)}', ${key}); end`.execute(
        db,
      );
    }
  }
}

export async function removeChangeLog(db: AnyDb, dialect: Dialect): Promise<void> {
  for (const table of LOGGED) {
    if (dialect === 'postgres') {
      await sql`drop trigger if exists minitwit_log on ${sql.table(table)}`.execute(db);
      await sql`drop function if exists ${sql.raw(`minitwit_log_${table}`)}()`.execute(db);
    } else {
      for (const op of ['insert', 'update', 'delete']) {
        await sql`drop trigger if exists ${sql.raw(`minitwit_log_${table}_${op}`)}`.execute(db);
      }
    }
  }
  await db.schema.dropTable(CHANGES_TABLE).ifExists().execute();
}

export interface ReplayState {
  /** The last log entry applied. */
  seq: number;
  /** Follow keys that named users not copied yet: tried again next pass. */
  deferred: Set<string>;
}

const IN_LIST = 500;

/**
 * Applies the logged changes after `state.seq` from `from` to `to`: each changed row is read
 * again from the source and written over the target's, or deleted there when the source no
 * longer has it. Rows not copied yet are left to the id-based copy. Returns rows written.
 */
export async function replayChanges(
  from: AnyDb,
  to: AnyDb,
  state: ReplayState,
  copiedUsers: Set<number>,
): Promise<number> {
  const keys: Record<Logged, Set<string>> = {
    users: new Set(),
    messages: new Set(),
    followers: new Set(state.deferred),
  };
  state.deferred.clear();
  for (;;) {
    const rows = await from
      .selectFrom(CHANGES_TABLE)
      .select(['seq', 'tbl', 'k1', 'k2'])
      .where('seq', '>', state.seq)
      .orderBy('seq')
      .limit(5000)
      .execute();
    for (const r of rows) {
      const table = r.tbl as Logged;
      keys[table]?.add(table === 'followers' ? `${r.k1},${r.k2}` : String(r.k1));
    }
    if (rows.length > 0) state.seq = Number(rows.at(-1)?.seq);
    if (rows.length < 5000) break;
  }

  let moved = 0;
  for (const table of ['users', 'messages'] as const) {
    const spec = SPECS[table];
    const key = spec.key[0] as string;
    const ids = [...keys[table]].map(Number);
    for (let i = 0; i < ids.length; i += IN_LIST) {
      const chunk = ids.slice(i, i + IN_LIST);
      const current = await from
        .selectFrom(table)
        .select(spec.columns)
        .where(key, 'in', chunk)
        .execute();
      const present = new Set(current.map((r) => Number(r[key])));
      for (const row of current) {
        const values = Object.fromEntries(
          spec.columns.filter((c) => c !== key).map((c) => [c, row[c]]),
        );
        await to.updateTable(table).set(values).where(key, '=', row[key]).execute();
        moved++;
      }
      const gone = chunk.filter((id) => !present.has(id));
      if (gone.length > 0) {
        await to.deleteFrom(table).where(key, 'in', gone).execute();
        moved += gone.length;
      }
    }
  }

  const pairs = [...keys.followers].map((k) => k.split(',').map(Number) as [number, number]);
  for (let i = 0; i < pairs.length; i += IN_LIST) {
    const chunk = pairs.slice(i, i + IN_LIST);
    const whos = [...new Set(chunk.map(([who]) => who))];
    const existing = new Set(
      (
        await from
          .selectFrom('followers')
          .select(['who_id', 'whom_id'])
          .where('who_id', 'in', whos)
          .execute()
      ).map((r) => `${r.who_id},${r.whom_id}`),
    );
    const insert: Row[] = [];
    for (const [who, whom] of chunk) {
      if (!existing.has(`${who},${whom}`)) {
        await deleteFollow(to, who, whom);
        moved++;
      } else if (copiedUsers.has(who) && copiedUsers.has(whom)) {
        insert.push({ who_id: who, whom_id: whom });
      } else {
        state.deferred.add(`${who},${whom}`);
      }
    }
    await insertRows(to, 'followers', insert, 'ignore');
    moved += insert.length;
  }
  return moved;
}
