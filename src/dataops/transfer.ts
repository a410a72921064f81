import { createHash } from 'node:crypto';
import SQLite from 'better-sqlite3';
import { Kysely, type SelectType, SqliteDialect, sql } from 'kysely';
import type { Dialect } from '../db/connect.js';
import type { Database } from '../db/schema.js';

/**
 * Moving MiniTwit's data between databases: tables in dependency order, streaming reads in key
 * order, batched inserts, sequence reset, and per-table counts and checksums that come out the
 * same on SQLite and PostgreSQL for the same rows. Every data operation in src/dataops that
 * copies data (backup, restore, export, import, import-legacy, migrate-db) goes through this file.
 */

// biome-ignore lint/suspicious/noExplicitAny: generic over the five tables, by name
export type AnyDb = Kysely<any>;
/** A row as data operations move it; null only in the nullable columns (see `nullable`). */
export type Row = Record<string, string | number | null>;

/** Every table, parents before children: the order of every copy and of every export file. */
export const TABLES = [
  'users',
  'messages',
  'followers',
  'settings',
  'sessions',
] as const satisfies readonly (keyof Database)[];
export type TableName = (typeof TABLES)[number];

/** The columns of a table as src/db/schema.ts declares them. */
export type ColumnOf<T extends TableName> = Extract<keyof Database[T], string>;

/** The columns of a table whose selected value is a number (integer or bigint in SQL). */
export type NumericColumnOf<T extends TableName> = {
  [C in ColumnOf<T>]: SelectType<Database[T][C]> extends number ? C : never;
}[ColumnOf<T>];

/** The columns of a table whose selected value is a number or null (nullable integers). */
export type NullableNumericColumnOf<T extends TableName> = {
  [C in ColumnOf<T>]: null extends SelectType<Database[T][C]>
    ? NonNullable<SelectType<Database[T][C]>> extends number
      ? C
      : never
    : never;
}[ColumnOf<T>];

/** How data operations see one table, checked against its interface in src/db/schema.ts. */
export interface TableDescription<T extends TableName> {
  /** Every column, in the order of checksums and export rows (never reorder: see below). */
  columns: readonly ColumnOf<T>[];
  /** The primary key, used for keyset paging. */
  key: readonly ColumnOf<T>[];
  /** The identity column whose sequence must be advanced after explicit ids (PostgreSQL). */
  serial?: ColumnOf<T>;
  /** Columns of type integer/bigint: values are numbers in every format. */
  numeric: readonly NumericColumnOf<T>[];
  /**
   * Nullable integer columns (also listed in `numeric`): null, or absent in a file written
   * before the column existed, is read as null. Added after the first release, so they come
   * last in `columns`, and a null there is left out of the row's checksum: checksums of files
   * and manifests written before the column existed still match.
   */
  nullable?: readonly NullableNumericColumnOf<T>[];
}

/**
 * The tables as data operations copy them. A column named here that the schema does not
 * declare, or a numeric one that is not a number there, fails `satisfies`; a declared column
 * left out fails `DescriptionIsComplete` below. The column order is part of every checksum
 * (and so of every backup manifest and export file already written): add, never reorder.
 */
const DESCRIPTION = {
  users: {
    columns: ['user_id', 'username', 'email', 'pw_hash'],
    key: ['user_id'],
    serial: 'user_id',
    numeric: ['user_id'],
  },
  messages: {
    columns: ['message_id', 'author_id', 'text', 'pub_date', 'flagged', 'deleted_at'],
    key: ['message_id'],
    serial: 'message_id',
    numeric: ['message_id', 'author_id', 'pub_date', 'flagged', 'deleted_at'],
    nullable: ['deleted_at'],
  },
  followers: {
    columns: ['who_id', 'whom_id'],
    key: ['who_id', 'whom_id'],
    numeric: ['who_id', 'whom_id'],
  },
  settings: { columns: ['name', 'value'], key: ['name'], numeric: ['value'] },
  sessions: {
    columns: ['id', 'user_id', 'created_at', 'expires_at'],
    key: ['id'],
    numeric: ['user_id', 'created_at', 'expires_at'],
  },
} as const satisfies {
  [T in TableName]: Omit<TableDescription<T>, 'numeric'> & {
    numeric: readonly (NumericColumnOf<T> | NullableNumericColumnOf<T>)[];
  };
};

/** Compiles only when X is never; the error names what X holds (e.g. "users.bio"). */
type MustBeNever<X extends never> = X;
type Described<T extends TableName> = (typeof DESCRIPTION)[T];

/**
 * The compile-time half of the check (test/dataops/table-description.test.ts compares with the
 * real tables): every table of `Database` is in TABLES, every column of every table is
 * described, and every numeric column is described as numeric.
 */
export type DescriptionIsComplete = [
  MustBeNever<Exclude<keyof Database, TableName>>,
  MustBeNever<
    { [T in TableName]: `${T}.${Exclude<ColumnOf<T>, Described<T>['columns'][number]>}` }[TableName]
  >,
  MustBeNever<
    {
      [T in TableName]: `${T}.${Exclude<NumericColumnOf<T>, Described<T>['numeric'][number]>}`;
    }[TableName]
  >,
  MustBeNever<
    {
      [T in TableName]: `${T}.${Exclude<NullableNumericColumnOf<T>, NullableOf<T>>}`;
    }[TableName]
  >,
];

/** The nullable columns a table's description names (none when it has no `nullable`). */
type NullableOf<T extends TableName> =
  Described<T> extends { nullable: readonly (infer C)[] } ? C : never;

/** One table's description with plain column names, for code generic over the tables. */
export interface TableSpec {
  columns: readonly string[];
  key: readonly string[];
  serial?: string;
  numeric: readonly string[];
  nullable?: readonly string[];
}

export const SPECS: Record<TableName, TableSpec> = DESCRIPTION;

export function isTableName(name: unknown): name is TableName {
  return typeof name === 'string' && (TABLES as readonly string[]).includes(name);
}

/** Rows of one table, a batch at a time; sources yield tables in TABLES order. */
export interface Batch {
  table: TableName;
  rows: Row[];
}
export type RowSource = AsyncIterable<Batch>;

export const BATCH_ROWS = 1000;

/** Keeps only the table's columns, numbers as numbers and text as text. */
export function normalizeRow(table: TableName, row: Record<string, unknown>): Row {
  const spec = SPECS[table];
  const out: Row = {};
  for (const column of spec.columns) {
    const value = row[column];
    if (value === undefined || value === null) {
      if (spec.nullable?.includes(column)) {
        out[column] = null;
        continue;
      }
      throw new Error(`${table}.${column} is missing in a row`);
    }
    out[column] = spec.numeric.includes(column) ? Number(value) : String(value);
    if (spec.numeric.includes(column) && !Number.isFinite(out[column])) {
      throw new Error(`${table}.${column} is not a number: ${String(value)}`);
    }
  }
  return out;
}

// ---- checksums ----

/**
 * An order-independent checksum of a table: the sum, modulo 2^128, of the SHA-256 (first 16
 * bytes) of each row's canonical JSON. Independent of order, so SQLite's and PostgreSQL's
 * different text collations do not matter, and it can be accumulated while streaming.
 */
export class TableChecksum {
  count = 0;
  private sum = 0n;
  private static readonly MOD = 1n << 128n;

  constructor(readonly table: TableName) {}

  add(row: Row) {
    const spec = SPECS[this.table];
    const values = spec.columns.map((c) => row[c] ?? null);
    // Trailing nulls of nullable columns are left out (see TableDescription.nullable).
    while (
      values.length > 0 &&
      values.at(-1) === null &&
      spec.nullable?.includes(spec.columns[values.length - 1] as string)
    ) {
      values.pop();
    }
    const canonical = JSON.stringify(values);
    const digest = createHash('sha256').update(canonical).digest();
    this.sum =
      (this.sum + BigInt(`0x${digest.subarray(0, 16).toString('hex')}`)) % TableChecksum.MOD;
    this.count++;
  }

  get hex(): string {
    return this.sum.toString(16).padStart(32, '0');
  }
}

export interface TableSummary {
  rows: number;
  checksum: string;
}
export type Summary = Record<TableName, TableSummary>;

export class SummaryBuilder {
  private readonly sums = new Map<TableName, TableChecksum>(
    TABLES.map((t) => [t, new TableChecksum(t)]),
  );

  add(table: TableName, rows: Row[]) {
    const sum = this.sums.get(table) as TableChecksum;
    for (const row of rows) sum.add(row);
  }

  get(): Summary {
    const out = {} as Summary;
    for (const table of TABLES) {
      const s = this.sums.get(table) as TableChecksum;
      out[table] = { rows: s.count, checksum: s.hex };
    }
    return out;
  }
}

/** Tables whose rows or checksums differ between two summaries, as readable lines. */
export function compareSummaries(expected: Summary, actual: Summary, tables = TABLES): string[] {
  const problems: string[] = [];
  for (const table of tables) {
    const e = expected[table];
    const a = actual[table];
    if (!e || !a) continue;
    if (e.rows !== a.rows) problems.push(`${table}: ${e.rows} rows expected, ${a.rows} found`);
    else if (e.checksum !== a.checksum) problems.push(`${table}: checksum differs`);
  }
  return problems;
}

// ---- reading ----

export interface ReadOptions {
  batch?: number;
  /** Only rows whose (single-column) key is greater than this. */
  after?: number;
  /** Only rows whose (single-column) key is at most this. */
  upTo?: number;
}

/** One table in key order, a batch at a time (keyset paging: flat memory at any size). */
export async function* readTable(
  db: AnyDb,
  table: TableName,
  options: ReadOptions = {},
): AsyncGenerator<Row[]> {
  const spec = SPECS[table];
  const batch = options.batch ?? BATCH_ROWS;
  let last: Row | undefined;
  for (;;) {
    let query = db.selectFrom(table).select(spec.columns);
    const [k1, k2] = spec.key as readonly [string, string | undefined];
    // One lower bound on the key, never two: given `id > after AND id > last`, SQLite ranges
    // over the first and filters by the second, so every batch rescanned the table from
    // `after` and a copy of n rows took time in n² (1.5 M messages: 28,000 rows/s falling to 4,000).
    const prev = last;
    if (prev === undefined) {
      if (options.after !== undefined) query = query.where(k1, '>', options.after);
    } else if (k2 === undefined) {
      query = query.where(k1, '>', prev[k1] as number);
    } else {
      if (options.after !== undefined) query = query.where(k1, '>', options.after);
      query = query.where((eb) =>
        eb.or([eb(k1, '>', prev[k1]), eb.and([eb(k1, '=', prev[k1]), eb(k2, '>', prev[k2])])]),
      );
    }
    if (options.upTo !== undefined) query = query.where(k1, '<=', options.upTo);
    for (const k of spec.key) query = query.orderBy(k);
    const raw = await query.limit(batch).execute();
    const rows = raw.map((r) => normalizeRow(table, r));
    if (rows.length > 0) yield rows;
    if (rows.length < batch) return;
    last = rows.at(-1);
  }
}

/** Every table of a database, in TABLES order. */
export async function* readDatabase(db: AnyDb, batch = BATCH_ROWS): RowSource {
  for (const table of TABLES) {
    for await (const rows of readTable(db, table, { batch })) yield { table, rows };
  }
}

/**
 * Runs `work` inside one read-only snapshot, so everything it reads is one consistent moment
 * while other connections keep writing: REPEATABLE READ on PostgreSQL, a read transaction on
 * SQLite (WAL mode keeps the snapshot without blocking writers).
 */
export async function withSnapshot<T>(
  db: AnyDb,
  dialect: Dialect,
  work: (snapshot: AnyDb) => Promise<T>,
): Promise<T> {
  if (dialect === 'postgres') {
    return db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(work);
  }
  return db.transaction().execute(work);
}

export async function countRows(db: AnyDb, table: TableName): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countAll(db: AnyDb): Promise<Record<TableName, number>> {
  const out = {} as Record<TableName, number>;
  for (const table of TABLES) out[table] = await countRows(db, table);
  return out;
}

/** Counts and checksums of every table, read in one snapshot; `onRows` hears of each batch read. */
export async function summarize(
  db: AnyDb,
  dialect: Dialect,
  onRows?: (rows: number) => void,
): Promise<Summary> {
  return withSnapshot(db, dialect, async (snapshot) => {
    const builder = new SummaryBuilder();
    for await (const batch of counted(readDatabase(snapshot), onRows)) {
      builder.add(batch.table, batch.rows);
    }
    return builder.get();
  });
}

/** `source` unchanged, telling `onRows` how many rows each batch holds as it passes. */
export async function* counted(source: RowSource, onRows?: (rows: number) => void): RowSource {
  for await (const batch of source) {
    onRows?.(batch.rows.length);
    yield batch;
  }
}

export async function maxKey(db: AnyDb, table: 'users' | 'messages'): Promise<number> {
  const column = SPECS[table].key[0] as string;
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.max(column).as('m'))
    .executeTakeFirst();
  return Number(row?.m ?? 0);
}

// ---- writing ----

export type ConflictMode = 'fail' | 'ignore';

/** Inserts rows in statements of at most `BATCH_ROWS` rows. */
export async function insertRows(
  db: AnyDb,
  table: TableName,
  rows: Row[],
  mode: ConflictMode = 'fail',
): Promise<void> {
  const spec = SPECS[table];
  for (let i = 0; i < rows.length; i += BATCH_ROWS) {
    const chunk = rows.slice(i, i + BATCH_ROWS);
    let query = db.insertInto(table).values(chunk);
    if (mode === 'ignore') query = query.onConflict((oc) => oc.columns(spec.key).doNothing());
    await query.execute();
  }
}

/** Deletes the follow of `who` to `whom` (user ids), if there is one. */
export async function deleteFollow(db: AnyDb, who: number, whom: number): Promise<void> {
  await db.deleteFrom('followers').where('who_id', '=', who).where('whom_id', '=', whom).execute();
}

/** True when none of `tables` (default: all of MiniTwit's) holds a row (the schema may exist). */
export async function isEmpty(db: AnyDb, tables: readonly TableName[] = TABLES): Promise<boolean> {
  for (const table of tables) {
    const row = await db
      .selectFrom(table)
      .select(sql<number>`1`.as('one'))
      .limit(1)
      .executeTakeFirst();
    if (row !== undefined) return false;
  }
  return true;
}

/** Deletes every row of MiniTwit's tables (children first); the schema stays. */
export async function wipe(db: AnyDb): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const table of [...TABLES].reverse()) await trx.deleteFrom(table).execute();
  });
}

/**
 * After rows were inserted with explicit ids, moves each PostgreSQL identity sequence past the
 * largest id, so the next insert does not collide. SQLite's rowid needs nothing.
 */
export async function resetSequences(db: AnyDb, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  for (const table of TABLES) {
    const column = SPECS[table].serial;
    if (!column) continue;
    await sql`select setval(pg_get_serial_sequence(${table}, ${column}), coalesce((select max(${sql.ref(column)}) from ${sql.table(table)}), 0) + 1, false)`.execute(
      db,
    );
  }
}

export type CopyProgress = (table: TableName, rows: number) => void;

/**
 * Writes every batch of `source` into `target` (batches of one table inside one transaction per
 * batch), then advances the sequences. Returns the summary of what was written.
 */
export async function loadRows(
  target: AnyDb,
  dialect: Dialect,
  source: RowSource,
  onBatch?: CopyProgress,
): Promise<Summary> {
  const builder = new SummaryBuilder();
  for await (const batch of source) {
    await insertRows(target, batch.table, batch.rows);
    builder.add(batch.table, batch.rows);
    onBatch?.(batch.table, batch.rows.length);
  }
  await resetSequences(target, dialect);
  return builder.get();
}

// ---- files ----

/** A SQLite file opened read-only (never written, not even its journal mode), for reading. */
export function openSqliteReadonly(path: string): {
  db: AnyDb;
  raw: SQLite.Database;
  close(): Promise<void>;
} {
  const raw = new SQLite(path, { readonly: true, fileMustExist: true });
  const db: AnyDb = new Kysely({ dialect: new SqliteDialect({ database: raw }) });
  return { db, raw, close: () => db.destroy() };
}
