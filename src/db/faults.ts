import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogEvent } from 'kysely';
import { databaseCondition } from './errors.js';
import { quickCheck } from './integrity.js';

/** A lasting fault of the database: what readiness reports until it is gone. */
export interface Fault {
  condition: 'full' | 'corrupt';
  /** What happened, naming the database (its file or redacted URL). */
  detail: string;
  /** When it was first seen (ms since the epoch). */
  since: number;
}

/** Free space that must come back (SQLite) before writes are thought possible again. */
export const FREED_BYTES = 256 * 1024;
/** PostgreSQL's disk cannot be seen from here: a `full` fault is forgotten after this long. */
export const FULL_HOLD_MS = 30_000;
/** After a corrupt page is met at run time, the file is checked again at most this often. */
export const RECHECK_MS = 60_000;

const WRITES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode']);

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Bytes this process may still write on the file system of `directory`, or undefined. */
function freeBytes(directory: string): number | undefined {
  try {
    const s = statfsSync(directory);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * The lasting faults of one database, seen from the queries that run on it: a full disk (writes
 * fail, reads work) and damaged pages. Readiness reports them (the instance should get no traffic
 * it cannot serve), and each goes away by itself when the cause does:
 *
 * - `full`: cleared by the next write that succeeds; on SQLite also when the file system of the
 *   file has FREED_BYTES more free than when the write failed (no write may come while the
 *   instance is not ready); on PostgreSQL, whose disk is not visible here, after FULL_HOLD_MS.
 * - `corrupt`: found by a failing query or by `checkIntegrity` (SQLite's quick_check, in a worker
 *   thread); cleared only by a check that passes (after the file was restored, say).
 */
export class DatabaseFaults {
  private full: (Fault & { freeAtFailure: number | undefined }) | undefined;
  private corrupt: Fault | undefined;
  private check: { running: Promise<void>; cancel: () => void } | undefined;
  private lastCheck = 0;

  /**
   * @param where the database as errors name it: the SQLite file's absolute path or the
   *   redacted PostgreSQL URL
   * @param file the SQLite file, when the database is one (not in memory)
   */
  constructor(
    readonly where: string,
    readonly file: string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Kysely's `log` callback: learns from every query, failed or not. */
  readonly onQuery = (event: LogEvent) => {
    if (event.level === 'error') this.noteError(event.error);
    else if (WRITES.has(event.query.query.kind)) this.full = undefined;
  };

  /** Learns from an error of a database call; returns its condition (see errors.ts). */
  noteError(error: unknown) {
    const condition = databaseCondition(error);
    if (condition === 'full' && !this.full) {
      this.full = {
        condition,
        detail: `${this.where}: writes fail: ${messageOf(error)}`,
        since: this.now(),
        freeAtFailure: this.file ? freeBytes(dirname(this.file)) : undefined,
      };
    } else if (condition === 'corrupt') {
      this.corrupt ??= {
        condition,
        detail: `${this.where}: ${messageOf(error)}`,
        since: this.now(),
      };
      if (this.now() - this.lastCheck >= RECHECK_MS) void this.checkIntegrity();
    }
    return condition;
  }

  /** The faults in effect now, worst first (none: an empty list). */
  current(): Fault[] {
    const faults: Fault[] = [];
    if (this.corrupt) faults.push(this.corrupt);
    if (this.full && this.fullPersists(this.full)) faults.push(this.full);
    else this.full = undefined;
    return faults.map(({ condition, detail, since }) => ({ condition, detail, since }));
  }

  private fullPersists(full: Fault & { freeAtFailure: number | undefined }) {
    if (!this.file) return this.now() - full.since < FULL_HOLD_MS;
    const free = freeBytes(dirname(this.file));
    if (free === undefined || full.freeAtFailure === undefined) {
      return this.now() - full.since < FULL_HOLD_MS;
    }
    return free < full.freeAtFailure + FREED_BYTES;
  }

  /**
   * Runs SQLite's quick_check on the file in a worker thread (the event loop is not blocked, and
   * start-up does not wait for it); damage found is a `corrupt` fault, a clean result clears one.
   * Resolves when the check is over. Does nothing for PostgreSQL or an in-memory database, or
   * while a check runs.
   */
  checkIntegrity(): Promise<void> {
    if (!this.file) return Promise.resolve();
    if (this.check) return this.check.running;
    this.lastCheck = this.now();
    const { result, cancel } = quickCheck(this.file);
    const running = result
      .then((outcome) => {
        if (outcome.ok === true) this.corrupt = undefined;
        else if (outcome.ok === false) {
          this.corrupt = {
            condition: 'corrupt',
            detail: `${this.where}: quick_check found damage: ${outcome.problems.join('; ')}`,
            since: this.corrupt?.since ?? this.now(),
          };
        }
      })
      .finally(() => {
        this.check = undefined;
      });
    this.check = { running, cancel };
    return running;
  }

  /** Stops a check in progress (at shutdown). */
  async close() {
    const check = this.check;
    if (!check) return;
    check.cancel();
    await check.running.catch(() => {});
  }
}
