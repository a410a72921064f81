import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from '../cli/command.js';
import { openConfiguredDatabase } from '../cli/database.js';
import { loadConfig } from '../config/config.js';
import { sqlitePath } from '../db/connect.js';
import {
  type BackupFormat,
  describeCounts,
  EXTENSIONS,
  formatOf,
  loadInto,
  type Manifest,
  manifestPath,
  readManifest,
  rowsOfFile,
} from './load.js';
import { pgDump, pgToolsAvailable, readPgDump } from './pgdump.js';
import { readPortable, writePortable } from './portable.js';
import { sqliteIntegrity, sqliteOnlineBackup } from './sqlite-backup.js';
import {
  type AnyDb,
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

async function summaryOf(source: RowSource): Promise<Summary> {
  const builder = new SummaryBuilder();
  for await (const batch of source) builder.add(batch.table, batch.rows);
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

/** Takes, verifies and records one backup; the function behind `minitwit backup`. */
export async function takeBackup(options: {
  url: string;
  dir: string;
  format?: BackupFormat | 'auto';
  keep?: number;
  err?: (line: string) => void;
}): Promise<BackupResult> {
  const err = options.err ?? (() => {});
  const handle = openConfiguredDatabase(options.url);
  const started = performance.now();
  const created = new Date();
  let format = options.format ?? 'auto';
  if (format === 'auto') {
    if (handle.dialect === 'sqlite') format = 'sqlite';
    else if (pgToolsAvailable()) format = 'pgdump';
    else {
      err('pg_dump is not installed: writing a portable export instead');
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
      await sqliteOnlineBackup(sqlitePath(options.url), file);
      const integrity = sqliteIntegrity(file);
      if (integrity !== 'ok') throw new Error(`the backup fails SQLite's check: ${integrity}`);
      const copy = openSqliteReadonly(file);
      try {
        tables = await summarize(copy.db, 'sqlite');
      } finally {
        await copy.close();
      }
    } else if (format === 'pgdump') {
      await pgDump(options.url, file);
      // Read the dump back: proves it restores, and counts what it holds.
      tables = await summaryOf(readPgDump(file));
    } else {
      await withSnapshot(handle.db, handle.dialect, (snapshot: AnyDb) =>
        writePortable(readDatabase(snapshot), file, { source: handle.dialect }),
      );
      tables = await summaryOf(readPortable(file));
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

function positiveInteger(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,6}$/.test(value) || Number(value) < 1) {
    throw new Error(`${name} must be a whole number of 1 or more`);
  }
  return Number(value);
}

export const backupCommand: Command = {
  name: 'backup',
  summary: 'write a verified, consistent backup while the server runs (--keep N to rotate)',
  usage:
    'minitwit backup [--dir ./backups] [--keep N] [--format auto|sqlite|pgdump|portable] [--database URL]',
  options: { dir: { type: 'string' }, keep: { type: 'string' }, format: { type: 'string' } },
  async run({ values, out, err }) {
    const format = (values.format as string | undefined) ?? 'auto';
    if (!['auto', 'sqlite', 'pgdump', 'portable'].includes(format)) {
      throw new Error('--format must be auto, sqlite, pgdump or portable');
    }
    const result = await takeBackup({
      url: (values.database as string | undefined) || loadConfig().databaseUrl,
      dir: (values.dir as string | undefined) ?? './backups',
      format: format as BackupFormat | 'auto',
      keep: positiveInteger(values.keep, '--keep'),
      err,
    });
    const m = result.manifest;
    out(`backup written and verified: ${result.file}`);
    out(`  ${m.format}, ${m.bytes} bytes, ${m.ms} ms; ${describeCounts(m.tables)}`);
    for (const name of result.removed) out(`  removed old backup ${name}`);
    return 0;
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'load a backup (any format) into an empty database of either kind',
  usage: 'minitwit restore <backup-file> [--force] [--database URL]',
  options: { force: { type: 'boolean' } },
  async run({ positionals, values, out, err }) {
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new Error('give exactly one backup file');
    const format = formatOf(file);
    const manifest = readManifest(file);
    if (!manifest) err(`no manifest next to ${file}: the result is checked against the file only`);
    const target = openConfiguredDatabase(values.database as string | undefined);
    try {
      const started = performance.now();
      const loaded = await loadInto(target, rowsOfFile(file, format), {
        force: values.force === true,
        err,
        label: 'restore',
        expected: manifest?.tables,
      });
      out(
        `restored ${file} into ${target.safeUrl} in ${Math.round(performance.now() - started)} ms`,
      );
      out(`  ${describeCounts(loaded)}${manifest ? ' (matches the manifest)' : ''}`);
    } finally {
      await target.close();
    }
    return 0;
  },
};
