import { existsSync, readFileSync } from 'node:fs';
import { type DatabaseHandle, openDatabase } from '../db/connect.js';
import { databaseCondition } from '../db/errors.js';
import { migrateToLatest } from '../db/migrations.js';
import { readPgDump } from './pgdump.js';
import { readPortable, readPortableHeader } from './portable.js';
import { type Log, noProgress, type ProgressSink, totalOf } from './reporting.js';
import {
  compareSummaries,
  countAll,
  isEmpty,
  loadRows,
  openSqliteReadonly,
  type RowSource,
  readDatabase,
  type Summary,
  summarize,
  TABLES,
  wipe,
} from './transfer.js';

export type BackupFormat = 'sqlite' | 'pgdump' | 'portable';

export const EXTENSIONS: Record<BackupFormat, string> = {
  sqlite: '.sqlite',
  pgdump: '.pgdump',
  portable: '.jsonl.gz',
};

/** What `backup` writes next to each backup file. */
export interface Manifest {
  file: string;
  format: BackupFormat;
  created: string;
  source: string;
  bytes: number;
  ms: number;
  tables: Summary;
}

export function manifestPath(file: string) {
  return `${file}.manifest.json`;
}

export function formatOf(file: string): BackupFormat {
  for (const [format, ext] of Object.entries(EXTENSIONS)) {
    if (file.endsWith(ext)) return format as BackupFormat;
  }
  if (file.endsWith('.db')) return 'sqlite';
  if (file.endsWith('.gz')) return 'portable';
  throw new Error(
    `cannot tell the format of ${file}: expected ${Object.values(EXTENSIONS).join(', ')}`,
  );
}

/** The rows of a backup or export file, whatever its format. */
export async function* rowsOfFile(file: string, format: BackupFormat): RowSource {
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  if (format === 'portable') {
    yield* readPortable(file);
  } else if (format === 'pgdump') {
    yield* readPgDump(file);
  } else {
    const source = openSqliteReadonly(file);
    try {
      yield* readDatabase(source.db);
    } finally {
      await source.close();
    }
  }
}

/**
 * The rows `file` holds, when that is cheap to know before reading it: from its manifest, a
 * SQLite file's counts, or a portable file's header; undefined otherwise (progress then shows
 * no total).
 */
export async function rowsInFile(
  file: string,
  format: BackupFormat,
  manifest?: Manifest,
): Promise<number | undefined> {
  if (manifest) return TABLES.reduce((n, t) => n + (manifest.tables[t]?.rows ?? 0), 0);
  if (!existsSync(file)) return undefined;
  if (format === 'portable') {
    const rows = (await readPortableHeader(file))?.rows;
    return rows ? totalOf(rows) : undefined;
  }
  if (format === 'sqlite') {
    const source = openSqliteReadonly(file);
    try {
      return totalOf(await countAll(source.db));
    } catch {
      return undefined;
    } finally {
      await source.close();
    }
  }
  return undefined;
}

export function readManifest(file: string): Manifest | undefined {
  const path = manifestPath(file);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
}

export function describeCounts(summary: Summary | Record<string, number>): string {
  return TABLES.map((t) => {
    const v = (summary as Record<string, unknown>)[t];
    const n = typeof v === 'number' ? v : ((v as { rows: number } | undefined)?.rows ?? 0);
    return `${t}=${n}`;
  }).join(' ');
}

/**
 * Opens the database at `url` (`sqlite:…` or `postgres://…`; at most 4 PostgreSQL connections),
 * runs `work` with it and closes it, whether `work` succeeds or throws. An error of the database
 * itself (see db/errors.ts) is raised again with the database named (its file or redacted URL)
 * at the front of the message; the original stays its `cause`.
 */
export async function withDatabase<T>(
  url: string,
  work: (handle: DatabaseHandle) => Promise<T>,
  poolMax = 4,
): Promise<T> {
  const handle = openDatabase(url, { poolMax });
  try {
    return await work(handle);
  } catch (error) {
    throw naming(handle.where, error);
  } finally {
    await handle.close();
  }
}

/** `error`, or when it is a database condition not naming `where` yet, one that does. */
function naming(where: string, error: unknown): unknown {
  if (!(error instanceof Error) || databaseCondition(error) === undefined) return error;
  if (error.message.includes(where)) return error;
  return new Error(`${where}: ${error.message}`, { cause: error });
}

/**
 * Makes `target` ready to receive a copy: migrates its schema, then refuses when it already
 * holds data (the error says what and names --force) unless `force`, in which case every row is
 * deleted first and `log` says so. `noun` names the target in the error.
 */
export async function prepareTarget(
  target: DatabaseHandle,
  options: { force: boolean; log: Log; noun?: string },
): Promise<void> {
  await migrateToLatest(target.db, target.dialect, target.where);
  if (await isEmpty(target.db)) return;
  if (!options.force) {
    const counts = describeCounts(await countAll(target.db));
    throw new Error(
      `${options.noun ?? 'the target database'} already holds data (${counts}); give --force to replace it`,
    );
  }
  options.log(`--force: emptying ${target.safeUrl} first`);
  await wipe(target.db);
}

export interface LoadOptions {
  /** Replace the data of a target that is not empty (default: refuse). */
  force?: boolean;
  /** Lines for the operator. */
  log: Log;
  /** The `load` phase: rows as they are written (with the total when known). */
  progress?: ProgressSink;
  /** The summary the rows must match (a backup's manifest), besides what was read. */
  expected?: Summary;
  /** The rows the source holds, when known without `expected` (for progress only). */
  total?: number;
}

/** What every load of a file into a database takes (restore, import, import-legacy). */
export interface LoadFileOptions extends Omit<LoadOptions, 'expected' | 'total'> {
  /** The file to load. */
  file: string;
  /** The database to load it into: `sqlite:…` or `postgres://…`. */
  url: string;
}

/**
 * Loads rows into a database: migrates its schema, refuses when it already holds data unless
 * `force` (then empties it first), writes, advances sequences, and checks what the database now
 * holds against what was read (and against `expected`, a manifest's summary). On any failure the
 * target is emptied again, so it is never left half-loaded. Returns the summary of the rows
 * written.
 */
export async function loadInto(
  target: DatabaseHandle,
  source: RowSource,
  options: LoadOptions,
): Promise<Summary> {
  await prepareTarget(target, { force: options.force === true, log: options.log });
  const expected = options.expected;
  const total = expected ? TABLES.reduce((n, t) => n + (expected[t]?.rows ?? 0), 0) : options.total;
  const phase = (options.progress ?? noProgress).phase('load', { total });
  try {
    const loaded = await loadRows(target.db, target.dialect, source, (_t, n) => phase.add(n));
    phase.finish();
    const problems = [
      ...(expected ? compareSummaries(expected, loaded) : []),
      ...compareSummaries(loaded, await summarize(target.db, target.dialect)),
    ];
    if (problems.length > 0) throw new Error(`verification failed: ${problems.join('; ')}`);
    return loaded;
  } catch (error) {
    await wipe(target.db).catch(() => {});
    throw error;
  }
}
