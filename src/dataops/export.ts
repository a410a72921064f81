import { type LoadFileOptions, loadInto, rowsOfFile, withDatabase } from './load.js';
import { writePortable } from './portable.js';
import { noProgress, type ProgressSink } from './reporting.js';
import {
  type AnyDb,
  type RowSource,
  readDatabase,
  type Summary,
  withSnapshot,
} from './transfer.js';

export interface ExportOptions {
  /** The database to export: `sqlite:…` or `postgres://…`. */
  url: string;
  /** The gzip JSON Lines file to write (portable.ts describes the format). */
  file: string;
  /** Rows as they are read. */
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
    progress.start?.();
    const summary = await withSnapshot(handle.db, handle.dialect, (snapshot: AnyDb) =>
      writePortable(counted(readDatabase(snapshot), progress), options.file, {
        source: handle.dialect,
      }),
    );
    progress.finish();
    return { source: handle.safeUrl, summary };
  });
}

/** `source` unchanged, telling `progress` about each batch as it passes. */
async function* counted(source: RowSource, progress: ProgressSink): RowSource {
  for await (const batch of source) {
    progress.add(batch.rows.length);
    yield batch;
  }
}

/**
 * Loads a portable file (`file`, written by exportDatabase or a portable backup) into an empty database of either kind, checked against the file's own
 * summary and then against what the database holds: the function behind `minitwit import`.
 * Errors as `loadInto`; a truncated or damaged file is refused and leaves the target empty.
 */
export async function importPortable(
  options: LoadFileOptions,
): Promise<{ target: string; loaded: Summary }> {
  return withDatabase(options.url, async (target) => {
    const loaded = await loadInto(target, rowsOfFile(options.file, 'portable'), options);
    return { target: target.safeUrl, loaded };
  });
}
