import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { openDatabase, sqlitePath } from '../db/connect.js';
import {
  type BackupFormat,
  EXTENSIONS,
  formatOf,
  type LoadFileOptions,
  loadInto,
  type Manifest,
  manifestPath,
  readManifest,
  rowsInFile,
  rowsOfFile,
  withDatabase,
} from './load.js';
import { pgDump, pgToolsAvailable, readPgDump } from './pgdump.js';
import { readPortable, writePortable } from './portable.js';
import { type Log, noProgress, type ProgressSink, silent, totalOf } from './reporting.js';
import { sqliteIntegrity, sqliteOnlineBackup } from './sqlite-backup.js';
import {
  type AnyDb,
  countAll,
  counted,
  openSqliteReadonly,
  type RowSource,
  readDatabase,
  type Summary,
  SummaryBuilder,
  summarize,
  withSnapshot,
} from './transfer.js';

const NAME = /^minitwit-\d{8}T\d{9}Z\.(sqlite|pgdump|jsonl\.gz)$/;

function stamp(date: Date) {
  return date.toISOString().replace(/[-:]/g, '').replace('.', '');
}

async function summaryOf(source: RowSource, onRows?: (rows: number) => void): Promise<Summary> {
  const builder = new SummaryBuilder();
  for await (const batch of counted(source, onRows)) builder.add(batch.table, batch.rows);
  return builder.get();
}

/** Deletes the oldest backups in `dir` beyond the newest `keep`; returns the deleted names. */
export function applyRetention(dir: string, keep: number): string[] {
  const backups = readdirSync(dir)
    .filter((name) => NAME.test(name))
    .sort()
    .reverse();
  const removed = backups.slice(keep);
  for (const name of removed) {
    rmSync(join(dir, name), { force: true });
    rmSync(manifestPath(join(dir, name)), { force: true });
  }
  return removed;
}

export interface BackupResult {
  file: string;
  manifest: Manifest;
  removed: string[];
}

export interface BackupOptions {
  /** The database to back up: `sqlite:…` or `postgres://…`. */
  url: string;
  /** The folder the backup and its manifest go to (created when missing). */
  dir: string;
  /**
   * The file format; `auto` (the default) is `sqlite` for SQLite, `pgdump` for PostgreSQL when
   * pg_dump is installed, else `portable`.
   */
  format?: BackupFormat | 'auto';
  /** Keep only the newest `keep` backups in `dir` (default: delete none). */
  keep?: number;
  /** Lines for the operator (such as a fallback to the portable format). */
  log?: Log;
  /** The phases: `copy` (or `pg_dump`, `export`), `check` (SQLite), `verify` (rows read back). */
  progress?: ProgressSink;
}

/**
 * Takes, verifies and records one backup; the function behind `minitwit backup`. The file is
 * `minitwit-<UTC stamp>.<ext>` in `dir`, read back after writing (SQLite's integrity check, a
 * dump or export read in full) and described by a `.manifest.json` beside it. Throws, leaving no
 * file behind, when the format does not fit the database or the check fails.
 */
export async function takeBackup(options: BackupOptions): Promise<BackupResult> {
  const log = options.log ?? silent;
  const progress = options.progress ?? noProgress;
  const handle = openDatabase(options.url, { poolMax: 4 });
  const started = performance.now();
  const created = new Date();
  let format = options.format ?? 'auto';
  if (format === 'auto') {
    if (handle.dialect === 'sqlite') format = 'sqlite';
    else if (pgToolsAvailable()) format = 'pgdump';
    else {
      log('pg_dump is not installed: writing a portable export instead');
      format = 'portable';
    }
  }
  if (format === 'sqlite' && handle.dialect !== 'sqlite') {
    await handle.close();
    throw new Error('--format sqlite needs a SQLite database');
  }
  if (format === 'pgdump' && handle.dialect !== 'postgres') {
    await handle.close();
    throw new Error('--format pgdump needs a PostgreSQL database');
  }
  mkdirSync(options.dir, { recursive: true });
  const file = resolve(options.dir, `minitwit-${stamp(created)}${EXTENSIONS[format]}`);
  let tables: Summary;
  try {
    if (format === 'sqlite') {
      // One step, so one snapshot: the copy cannot report pages as it goes.
      const copyPhase = progress.phase('copy', { unit: 'pages' });
      const { totalPages } = await sqliteOnlineBackup(sqlitePath(options.url), file);
      copyPhase.setTotal(totalPages);
      copyPhase.set(totalPages);
      copyPhase.finish();
      const checkPhase = progress.phase('check');
      const integrity = sqliteIntegrity(file);
      checkPhase.finish();
      if (integrity !== 'ok') throw new Error(`the backup fails SQLite's check: ${integrity}`);
      const copy = openSqliteReadonly(file);
      try {
        const verify = progress.phase('verify', { total: totalOf(await countAll(copy.db)) });
        tables = await summarize(copy.db, 'sqlite', (n) => verify.add(n));
        verify.finish();
      } finally {
        await copy.close();
      }
    } else if (format === 'pgdump') {
      // Counted before the dump's own snapshot: close to what it holds, for progress only.
      const total = totalOf(await countAll(handle.db));
      const dumpPhase = progress.phase('pg_dump');
      await pgDump(options.url, file);
      dumpPhase.finish();
      // Read the dump back: proves it restores, and counts what it holds.
      const verify = progress.phase('verify', { total });
      tables = await summaryOf(readPgDump(file), (n) => verify.add(n));
      verify.finish();
    } else {
      const rows = await withSnapshot(handle.db, handle.dialect, async (snapshot: AnyDb) => {
        const counts = await countAll(snapshot);
        const phase = progress.phase('export', { total: totalOf(counts) });
        await writePortable(
          counted(readDatabase(snapshot), (n) => phase.add(n)),
          file,
          { source: handle.dialect, rows: counts },
        );
        phase.finish();
        return totalOf(counts);
      });
      const verify = progress.phase('verify', { total: rows });
      tables = await summaryOf(readPortable(file), (n) => verify.add(n));
      verify.finish();
    }
  } catch (error) {
    rmSync(file, { force: true });
    throw error;
  } finally {
    await handle.close();
  }
  const manifest: Manifest = {
    file: basename(file),
    format,
    created: created.toISOString(),
    source: handle.safeUrl,
    bytes: statSync(file).size,
    ms: Math.round(performance.now() - started),
    tables,
  };
  writeFileSync(manifestPath(file), `${JSON.stringify(manifest, null, 2)}\n`);
  const removed = options.keep !== undefined ? applyRetention(options.dir, options.keep) : [];
  return { file, manifest, removed };
}

export interface RestoreResult {
  /** The target's URL without its password. */
  target: string;
  /** What was loaded (rows and checksum of every table). */
  loaded: Summary;
  /** The backup's manifest, when one lay beside it (the load was checked against it). */
  manifest?: Manifest;
}

/**
 * Loads a backup of any format (`file`) into an empty database of either kind, checked against the
 * manifest beside the file when there is one (and `log`s when there is none): the function
 * behind `minitwit restore`. Errors as `loadInto`, and for a file whose format is unknown.
 */
export async function restoreBackup(options: LoadFileOptions): Promise<RestoreResult> {
  const { file } = options;
  const format = formatOf(file);
  const manifest = readManifest(file);
  if (!manifest)
    options.log(`no manifest next to ${file}: the result is checked against the file only`);
  const total = await rowsInFile(file, format, manifest);
  return withDatabase(options.url, async (target) => {
    const loaded = await loadInto(target, rowsOfFile(file, format), {
      ...options,
      expected: manifest?.tables,
      total,
    });
    return { target: target.safeUrl, loaded, manifest };
  });
}
