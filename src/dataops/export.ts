import { type LoadFileOptions, loadInto, rowsInFile, rowsOfFile, withDatabase } from './load.js';
import { writePortable } from './portable.js';
import { noProgress, type ProgressSink, totalOf } from './reporting.js';
import {
  type AnyDb,
  countAll,
  counted,
  readDatabase,
  type Summary,
  withSnapshot,
} from './transfer.js';

export interface ExportOptions {
  /** The database to export: `sqlite:…` or `postgres://…`. */
  url: string;
  /** The gzip JSON Lines file to write (portable.ts describes the format). */
  file: string;
  /** The `export` phase: rows as they are written, out of the rows the snapshot holds. */
  progress?: ProgressSink;
}

/**
 * Streams every table of a database, read in one snapshot while other connections keep
 * writing, into a portable file: the function behind `minitwit export`. Resolves to the
 * source's URL without its password and the summary written in the file's last line.
 */
export async function exportDatabase(
  options: ExportOptions,
): Promise<{ source: string; summary: Summary }> {
  const progress = options.progress ?? noProgress;
  return withDatabase(options.url, async (handle) => {
    const summary = await withSnapshot(handle.db, handle.dialect, async (snapshot: AnyDb) => {
      // Counted inside the snapshot: the total is exactly what the file will hold.
      const rows = await countAll(snapshot);
      const phase = progress.phase('export', { total: totalOf(rows) });
      const written = await writePortable(
        counted(readDatabase(snapshot), (n) => phase.add(n)),
        options.file,
        { source: handle.dialect, rows },
      );
      phase.finish();
      return written;
    });
    return { source: handle.safeUrl, summary };
  });
}

/**
 * Loads a portable file (`file`, written by exportDatabase or a portable backup) into an empty database of either kind, checked against the file's own
 * summary and then against what the database holds: the function behind `minitwit import`.
 * Errors as `loadInto`; a truncated or damaged file is refused and leaves the target empty.
 */
export async function importPortable(
  options: LoadFileOptions,
): Promise<{ target: string; loaded: Summary }> {
  const total = await rowsInFile(options.file, 'portable');
  return withDatabase(options.url, async (target) => {
    const loaded = await loadInto(target, rowsOfFile(options.file, 'portable'), {
      ...options,
      total,
    });
    return { target: target.safeUrl, loaded };
  });
}
