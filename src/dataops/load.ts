import { existsSync, readFileSync } from 'node:fs';
import { Progress } from '../cli/progress.js';
import type { DatabaseHandle } from '../db/connect.js';
import { migrateToLatest } from '../db/migrations.js';
import { readPgDump } from './pgdump.js';
import { readPortable } from './portable.js';
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
 * Loads rows into a database: migrates its schema, refuses when it already holds data unless
 * `force` (then empties it first), writes, advances sequences, and checks what the database now
 * holds against what was read (and against `expected`, a manifest's summary). On any failure the
 * target is emptied again, so it is never left half-loaded.
 */
export async function loadInto(
  target: DatabaseHandle,
  source: RowSource,
  options: { force: boolean; err: (line: string) => void; label: string; expected?: Summary },
): Promise<Summary> {
  await migrateToLatest(target.db, target.dialect);
  if (!(await isEmpty(target.db))) {
    if (!options.force) {
      const counts = await countAll(target.db);
      throw new Error(
        `the target database already holds data (${describeCounts(counts)}); give --force to replace it`,
      );
    }
    options.err(`--force: emptying ${target.safeUrl} first`);
    await wipe(target.db);
  }
  const total = options.expected
    ? TABLES.reduce((n, t) => n + (options.expected?.[t]?.rows ?? 0), 0)
    : undefined;
  const progress = new Progress(options.err, options.label, total);
  try {
    const loaded = await loadRows(target.db, target.dialect, source, (_t, n) => progress.add(n));
    progress.finish();
    const problems = [
      ...(options.expected ? compareSummaries(options.expected, loaded) : []),
      ...compareSummaries(loaded, await summarize(target.db, target.dialect)),
    ];
    if (problems.length > 0) throw new Error(`verification failed: ${problems.join('; ')}`);
    return loaded;
  } catch (error) {
    await wipe(target.db).catch(() => {});
    throw error;
  }
}
