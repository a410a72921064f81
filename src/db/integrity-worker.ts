// The worker thread of integrity.ts: one quick_check, its outcome posted back, then it exits.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import type { CheckOutcome } from './integrity.js';

const { path, maxProblems } = workerData as { path: string; maxProblems: number };

function check(): CheckOutcome {
  let db: SQLite.Database | undefined;
  try {
    db = new SQLite(path, { readonly: true, fileMustExist: true, timeout: 1000 });
    const rows = db.pragma(`quick_check(${Number(maxProblems)})`, { simple: false }) as {
      quick_check: string;
    }[];
    const problems = rows.map((r) => r.quick_check).filter((text) => text !== 'ok');
    return problems.length === 0 ? { ok: true } : { ok: false, problems };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    // A file too damaged to read at all is damage too; anything else (a lock) is not known.
    if (typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code)) {
      return { ok: false, problems: [message] };
    }
    return { ok: undefined, reason: message };
  } finally {
    db?.close();
  }
}

parentPort?.postMessage(check());
