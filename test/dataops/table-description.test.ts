import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { SPECS, TABLES, type TableName, type TableSpec } from '../../src/dataops/transfer.js';
import { type DatabaseHandle, openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrations.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/databases.js';

/** A column as the database has it: its name and whether it holds integers. */
interface RealColumn {
  name: string;
  integer: boolean;
}

/**
 * MiniTwit's tables as a migrated database holds them (Kysely's own bookkeeping and the search
 * index's `search_…` tables left out: data operations copy rows, and the search index is rebuilt
 * from them on the target; see src/db/search-schema.ts).
 */
async function realTables(handle: DatabaseHandle): Promise<Map<string, RealColumn[]>> {
  const tables = new Map<string, RealColumn[]>();
  if (handle.dialect === 'sqlite') {
    const names = await sql<{ name: string }>`
      select name from sqlite_master
      where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%'
        and name not like 'search\\_%' escape '\\'`.execute(handle.db);
    for (const { name } of names.rows) {
      const info = await sql<{ name: string; type: string }>`
        select name, type from pragma_table_info(${name}) order by cid`.execute(handle.db);
      // SQLite's rule for integer affinity: the declared type contains "INT".
      tables.set(
        name,
        info.rows.map((c) => ({ name: c.name, integer: /int/i.test(c.type) })),
      );
    }
    return tables;
  }
  const columns = await sql<{ table_name: string; column_name: string; data_type: string }>`
    select c.table_name, c.column_name, c.data_type
    from information_schema.columns c
    join information_schema.tables t
      on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
      and c.table_name not like 'kysely_%' and c.table_name not like 'search\\_%'
    order by c.table_name, c.ordinal_position`.execute(handle.db);
  for (const c of columns.rows) {
    const list = tables.get(c.table_name) ?? [];
    list.push({
      name: c.column_name,
      integer: ['smallint', 'integer', 'bigint'].includes(c.data_type),
    });
    tables.set(c.table_name, list);
  }
  return tables;
}

/**
 * Where a table description and the real tables disagree, as readable lines (none when they
 * agree): tables or columns on one side only, integer columns not described as numeric, and
 * numeric ones that are not integers in the database.
 */
function differences(
  description: Record<TableName, TableSpec>,
  real: Map<string, RealColumn[]>,
): string[] {
  const out: string[] = [];
  for (const table of real.keys()) {
    if (!(TABLES as readonly string[]).includes(table)) out.push(`table ${table} is not described`);
  }
  for (const table of TABLES) {
    const spec = description[table];
    const columns = real.get(table);
    if (!columns) {
      out.push(`table ${table} is described but not in the database`);
      continue;
    }
    for (const column of columns) {
      if (!spec.columns.includes(column.name)) {
        out.push(`${table}.${column.name} is in the database but not described`);
      } else if (column.integer && !spec.numeric.includes(column.name)) {
        out.push(`${table}.${column.name} holds integers but is not described as numeric`);
      } else if (!column.integer && spec.numeric.includes(column.name)) {
        out.push(`${table}.${column.name} is described as numeric but does not hold integers`);
      }
    }
    for (const name of spec.columns) {
      if (!columns.some((c) => c.name === name)) {
        out.push(`${table}.${name} is described but not in the database`);
      }
    }
  }
  return out;
}

/** SPECS with one table's description replaced. */
function changed(table: TableName, spec: TableSpec): Record<TableName, TableSpec> {
  return { ...SPECS, [table]: spec };
}

forEachDatabase('the table description of data operations matches the migrated tables', (kind) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let real: Map<string, RealColumn[]>;
  before(async () => {
    database = await createTestDatabase(kind);
    handle = openDatabase(database.url);
    await migrateToLatest(handle.db, handle.dialect);
    real = await realTables(handle);
  });
  after(async () => {
    await handle.close();
    await database.drop();
  });

  test('every real column is described and every described column is real; integers are numeric', () => {
    assert.deepEqual([...real.keys()].sort(), [...TABLES].sort());
    assert.deepEqual(differences(SPECS, real), []);
  });

  test('the comparison reports a column left out of the description, or not numeric', () => {
    const users = SPECS.users;
    const withoutEmail = changed('users', {
      ...users,
      columns: users.columns.filter((c) => c !== 'email'),
    });
    assert.deepEqual(differences(withoutEmail, real), [
      'users.email is in the database but not described',
    ]);
    const messages = SPECS.messages;
    const pubDateAsText = changed('messages', {
      ...messages,
      numeric: messages.numeric.filter((c) => c !== 'pub_date'),
    });
    assert.deepEqual(differences(pubDateAsText, real), [
      'messages.pub_date holds integers but is not described as numeric',
    ]);
    const extra = changed('followers', {
      ...SPECS.followers,
      columns: [...SPECS.followers.columns, 'since'],
    });
    assert.deepEqual(differences(extra, real), [
      'followers.since is described but not in the database',
    ]);
  });
});
