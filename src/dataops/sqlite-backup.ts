import SQLite from 'better-sqlite3';

/**
 * A consistent copy of a live SQLite database through SQLite's online backup API. All pages are
 * copied in a single step, so the copy is one snapshot even while other connections write (WAL
 * mode: the reader does not block them, and no writer can restart the copy halfway).
 */
export async function sqliteOnlineBackup(sourcePath: string, destinationPath: string) {
  const source = new SQLite(sourcePath, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    const metadata = await source.backup(destinationPath, { progress: () => 2_000_000_000 });
    // The copy inherits WAL mode; make it one self-contained file.
    const copy = new SQLite(destinationPath, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    return metadata;
  } finally {
    source.close();
  }
}

/** SQLite's own check of a database file: 'ok' or the first problems it found. */
export function sqliteIntegrity(path: string): string {
  const db = new SQLite(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    return rows.map((r) => r.quick_check).join('; ');
  } finally {
    db.close();
  }
}
