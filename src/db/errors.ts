/**
 * Every database condition the front doors and tools tell apart, recognised from the errors of
 * better-sqlite3 (`code` SQLITE_*) and pg (`code` = PostgreSQL's SQLSTATE, or a Node socket
 * error). The doors map each kind to a status; the store maps `unique` to its own error.
 *
 * Sources: https://www.sqlite.org/rescode.html and
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export type DatabaseCondition =
  /** The database was sealed by `migrate-db`: it refuses every write (see dataops/seal.ts). */
  | 'sealed'
  /** A unique or primary-key constraint refused a row. */
  | 'unique'
  /** A lock or a statement timeout: the same request may succeed a moment later. */
  | 'busy'
  /** The database cannot be reached or dropped the connection. */
  | 'unavailable'
  /** The disk (or the database's quota) is full: reads work, writes do not. */
  | 'full'
  /** The file or an index is damaged. */
  | 'corrupt'
  /** A number does not fit the column's type (PostgreSQL's integer is 32-bit). */
  | 'out_of_range';

/** The text a sealed database raises from its triggers, so every client can recognise it. */
export const SEALED_MARKER = 'MINITWIT_DATABASE_MOVED';

const SQLITE: [prefix: string, condition: DatabaseCondition][] = [
  ['SQLITE_CONSTRAINT_UNIQUE', 'unique'],
  ['SQLITE_CONSTRAINT_PRIMARYKEY', 'unique'],
  ['SQLITE_BUSY', 'busy'],
  ['SQLITE_LOCKED', 'busy'],
  ['SQLITE_FULL', 'full'],
  ['SQLITE_CORRUPT', 'corrupt'],
  ['SQLITE_NOTADB', 'corrupt'],
  ['SQLITE_CANTOPEN', 'unavailable'],
  ['SQLITE_IOERR', 'unavailable'],
  ['SQLITE_READONLY', 'unavailable'],
];

const POSTGRES: Record<string, DatabaseCondition> = {
  '23505': 'unique',
  '55P03': 'busy', // lock_not_available
  '57014': 'busy', // query_canceled: statement_timeout
  '40001': 'busy', // serialization_failure
  '40P01': 'busy', // deadlock_detected
  '53100': 'full', // disk_full
  '53300': 'unavailable', // too_many_connections
  '57P01': 'unavailable', // admin_shutdown
  '57P02': 'unavailable', // crash_shutdown
  '57P03': 'unavailable', // cannot_connect_now
  XX001: 'corrupt', // data_corrupted
  XX002: 'corrupt', // index_corrupted
  '22003': 'out_of_range', // numeric_value_out_of_range
};

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Messages of pg and its pool that carry no code. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Query read timeout',
];

/**
 * The error a database call raises when it gave up waiting: for another connection's write lock
 * (SQLite: `code` SQLITE_BUSY, a `busy` condition) or for an answer from the server (PostgreSQL:
 * `code` MINITWIT_DB_TIMEOUT, an `unavailable` condition). `waitedMs` is how long it waited.
 */
export class DatabaseTimeout extends Error {
  override name = 'DatabaseTimeout';
  constructor(
    message: string,
    readonly code: 'SQLITE_BUSY' | 'MINITWIT_DB_TIMEOUT',
    readonly waitedMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A connection to the database could not be made: whatever the server or the network said (a
 * refused connection, a database that does not accept connections or does not exist, a failed
 * sign-in), the database is `unavailable` to the caller. The message names the database.
 */
export class DatabaseUnreachable extends Error {
  override name = 'DatabaseUnreachable';
  readonly code = 'MINITWIT_DB_UNREACHABLE';
}

function conditionOf(error: unknown): DatabaseCondition | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.message.includes(SEALED_MARKER)) return 'sealed';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('SQLITE_')) return SQLITE.find(([prefix]) => code.startsWith(prefix))?.[1];
    if (POSTGRES[code]) return POSTGRES[code];
    if (code === 'MINITWIT_DB_TIMEOUT' || code === 'MINITWIT_DB_UNREACHABLE') return 'unavailable';
    if (code.startsWith('08')) return 'unavailable'; // connection_exception class
    if (SOCKET_CODES.has(code)) return 'unavailable';
  }
  if (UNAVAILABLE_MESSAGES.some((text) => error.message.includes(text))) return 'unavailable';
  return undefined;
}

/**
 * The database condition behind `error`, looking through `cause` chains (Kysely and our own
 * wrappers keep the driver's error there), or undefined for anything else.
 */
export function databaseCondition(error: unknown): DatabaseCondition | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 8; depth++) {
    const condition = conditionOf(e);
    if (condition) return condition;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when `error` comes from a database sealed by `migrate-db` (a write was refused). */
export const isDatabaseSealed = (error: unknown) => databaseCondition(error) === 'sealed';
