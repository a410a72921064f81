import { type DatabaseCondition, databaseCondition } from '../db/errors.js';

/** How every front door, and the operator CLI, answers one database condition. */
export interface FaultAnswer {
  condition: DatabaseCondition;
  /** The HTTP status both doors answer with. */
  status: number;
  /** Seconds to send as Retry-After, when trying again later can work. */
  retryAfter?: number;
  /** The web door's error page: its title and text. */
  title: string;
  page: string;
  /** The API's `error_msg`. */
  api: string;
  /** What the operator CLI says before the error itself. */
  operator: string;
}

type Answer = Omit<FaultAnswer, 'condition'>;

/**
 * The one table of database conditions (src/db/errors.ts) and their answers. A transient fault
 * is a 503 with Retry-After, so clients and proxies try again instead of giving up; a full disk
 * is a 507 (Insufficient Storage): reads still work, writes wait for space; a number the column
 * cannot hold is the client's (a 400), though the store bounds every id and cursor before SQL.
 */
export const FAULT_ANSWERS: Record<DatabaseCondition, Answer> = {
  sealed: {
    status: 503,
    retryAfter: 1,
    title: 'Service Unavailable',
    page: 'MiniTwit is moving to a new database: please try again in a moment.',
    api: 'The database is moving: writes are paused, retry shortly',
    operator: 'the database is sealed by migrate-db (it refuses writes)',
  },
  busy: {
    status: 503,
    retryAfter: 1,
    title: 'Service Unavailable',
    page: 'MiniTwit is busy saving other changes: please try again in a moment. Nothing you had already saved is lost.',
    api: 'The database is busy: retry shortly',
    operator:
      'the database is locked or busy (another connection holds a lock, or a statement ran too long)',
  },
  unavailable: {
    status: 503,
    retryAfter: 2,
    title: 'Service Unavailable',
    page: 'MiniTwit cannot reach its database right now: please try again in a moment. Nothing you had already saved is lost.',
    api: 'The database is unavailable: retry shortly',
    operator: 'the database cannot be reached',
  },
  full: {
    status: 507,
    retryAfter: 60,
    title: 'Storage Full',
    page: 'MiniTwit cannot save anything right now: its storage is full. Reading still works; please try again later.',
    api: 'The database storage is full: writes fail until space is freed; reads still work',
    operator: 'the disk (or quota) of the database is full',
  },
  corrupt: {
    status: 503,
    retryAfter: 60,
    title: 'Service Unavailable',
    page: 'MiniTwit cannot read part of its data right now: the operators must repair the database. Please try again later.',
    api: 'The database is damaged: the operators must repair it; retry later',
    operator: 'the database is damaged (restore it from a backup: docs/data-operations.md)',
  },
  out_of_range: {
    status: 400,
    title: 'Bad Request',
    page: 'A number in this request is out of range.',
    api: 'A number in the request is out of range',
    operator: 'a number is out of range for the database',
  },
  unique: {
    status: 409,
    title: 'Conflict',
    page: 'That already exists.',
    api: 'That already exists',
    operator: 'a row with that key already exists',
  },
};

/** The answer to `error` when it is a database condition, else undefined (a 500 for the doors). */
export function faultAnswer(error: unknown): FaultAnswer | undefined {
  const condition = databaseCondition(error);
  return condition ? { condition, ...FAULT_ANSWERS[condition] } : undefined;
}

/**
 * What the operator CLI prints for an error: the condition in words and the error itself (which
 * names the database), or just the error's message for anything else.
 */
export function operatorMessage(
  error: unknown,
  message = error instanceof Error ? error.message : String(error),
): string {
  const answer = faultAnswer(error);
  return answer ? `${answer.operator}: ${message}` : message;
}
