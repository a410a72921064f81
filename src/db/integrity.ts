import { Worker } from 'node:worker_threads';

/** The outcome of a quick check: clean, damaged (SQLite's messages), or not known. */
export type CheckOutcome =
  | { ok: true }
  | { ok: false; problems: string[] }
  | { ok: undefined; reason: string };

/** The most problems one check reports (SQLite's quick_check(N)). */
export const MAX_PROBLEMS = 5;

/**
 * SQLite's `PRAGMA quick_check` of the file at `path` on a read-only connection of its own, in a
 * worker thread: the server's event loop keeps running however long it takes (seconds for a
 * large file). `cancel()` stops the worker; the outcome is then `{ ok: undefined }`.
 */
export function quickCheck(path: string): { result: Promise<CheckOutcome>; cancel: () => void } {
  const worker = new Worker(new URL('./integrity-worker.js', import.meta.url), {
    workerData: { path, maxProblems: MAX_PROBLEMS },
  });
  // A check must never keep a stopping process alive.
  worker.unref();
  const result = new Promise<CheckOutcome>((resolve) => {
    worker.once('message', (outcome: CheckOutcome) => resolve(outcome));
    worker.once('error', (error) => resolve({ ok: undefined, reason: error.message }));
    worker.once('exit', (code) =>
      resolve({ ok: undefined, reason: `the check stopped (exit code ${code})` }),
    );
  });
  return { result, cancel: () => void worker.terminate() };
}
