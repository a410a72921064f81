import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type LogEvent, PostgresDialect } from 'kysely';
import pg from 'pg';
import { DatabaseFaults } from './faults.js';
import { guardedPool } from './pg-pool.js';
import type { Database } from './schema.js';
import { PatientSqliteDialect } from './sqlite-driver.js';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The URL with any password removed, for logs. */
  safeUrl: string;
  /** The database as messages name it: the SQLite file's absolute path, else `safeUrl`. */
  where: string;
  /** Lasting faults (full disk, damaged file) seen on this database, for readiness. */
  faults: DatabaseFaults;
  /** Connections in use and waiting, for metrics; SQLite has a single handle. */
  poolStats(): { total: number; idle: number; waiting: number; max: number };
  close(): Promise<void>;
}

/** How long a database call may wait before it gives up with a `busy` or `unavailable` error. */
export interface DatabaseLimits {
  /** SQLite: the most a statement waits for another connection's write lock, in ms. */
  lockTimeoutMs: number;
  /** PostgreSQL: the most a query waits for a connection (new, or free in the pool), in ms. */
  connectTimeoutMs: number;
  /** PostgreSQL: the most one statement may run, in ms; 0 for no limit. */
  statementTimeoutMs: number;
}

/**
 * The limits of operator commands (migrate, backup, export, migrate-db, …): a long statement is
 * their work, and waiting a few seconds for a lock is better than failing a long job.
 */
export const OPERATOR_LIMITS: DatabaseLimits = {
  lockTimeoutMs: 5000,
  connectTimeoutMs: 5000,
  statementTimeoutMs: 0,
};

export interface ConnectOptions {
  poolMax?: number;
  /** Called after every query (and failed query) with its duration: Kysely's `log` option. */
  onQuery?: (event: LogEvent) => void;
  /** How long calls may wait; OPERATOR_LIMITS when not given. The server passes shorter ones. */
  limits?: DatabaseLimits;
  /**
   * Told of errors a PostgreSQL connection raises outside any query (cut while idle or between
   * statements); they never crash the process. Ignored by default: the next query reports them.
   */
  onConnectionError?: (error: Error) => void;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** pg returns BIGINT and NUMERIC as strings; every such value here fits a double. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    // biome-ignore lint/suspicious/noExplicitAny: pg's own overloads are not expressible here
    return (pg.types.getTypeParser as any)(oid, format);
  },
};

export function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length).replace(/^\/\//, '');
  return rest === '' || rest === ':memory:' ? ':memory:' : rest;
}

export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** Prepared statements kept per SQL text; Kysely would otherwise prepare every query anew. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * better-sqlite3 behind a small LRU of prepared statements. Safe because Kysely runs one
 * query at a time on its single SQLite connection, and all()/run() finish synchronously.
 */
function withStatementCache(sqlite: SQLite.Database) {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    get inTransaction() {
      return sqlite.inTransaction;
    },
    prepare(source: string) {
      let statement = cache.get(source);
      if (statement) {
        cache.delete(source);
      } else {
        statement = sqlite.prepare(source);
        if (cache.size >= STATEMENT_CACHE_SIZE) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
      }
      cache.set(source, statement);
      return statement;
    },
  };
}

/**
 * The SQLite file at `path` (created with its folder when missing), in WAL mode with busy_timeout
 * 0: waits for locks happen in PatientSqliteDialect, without blocking the event loop. Opening
 * itself may wait up to `lockTimeoutMs` for a lock (nothing is served yet). Throws an Error that
 * names the file.
 */
function openSqlite(path: string, lockTimeoutMs: number): SQLite.Database {
  let sqlite: SQLite.Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    sqlite = new SQLite(path, { timeout: lockTimeoutMs });
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 0');
    return sqlite;
  } catch (error) {
    sqlite?.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot open the SQLite database ${resolve(path)}: ${reason}`, {
      cause: error,
    });
  }
}

export function openDatabase(url: string, options: ConnectOptions = {}): DatabaseHandle {
  const limits = options.limits ?? OPERATOR_LIMITS;
  const logTo = (faults: DatabaseFaults) => (event: LogEvent) => {
    faults.onQuery(event);
    options.onQuery?.(event);
  };
  if (url.startsWith('sqlite:')) {
    const path = sqlitePath(url);
    const file = path === ':memory:' ? undefined : resolve(path);
    const faults = new DatabaseFaults(file ?? url, file);
    const sqlite = openSqlite(path, limits.lockTimeoutMs);
    const db = new Kysely<Database>({
      dialect: new PatientSqliteDialect(withStatementCache(sqlite), limits.lockTimeoutMs),
      log: logTo(faults),
    });
    const poolStats = () => {
      const open = sqlite.open ? 1 : 0;
      return { total: open, idle: open, waiting: 0, max: 1 };
    };
    return {
      db,
      dialect: 'sqlite',
      safeUrl: url,
      where: faults.where,
      faults,
      poolStats,
      async close() {
        await faults.close();
        await db.destroy();
      },
    };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const safeUrl = redactUrl(url);
    const faults = new DatabaseFaults(safeUrl, undefined);
    const { pool, kysely } = guardedPool({
      connectionString: url,
      where: safeUrl,
      max: options.poolMax ?? 10,
      types: pgTypes,
      connectTimeoutMs: limits.connectTimeoutMs,
      statementTimeoutMs: limits.statementTimeoutMs,
      onConnectionError: options.onConnectionError ?? (() => {}),
    });
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: kysely }),
      log: logTo(faults),
    });
    const poolStats = () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max: pool.options.max ?? 10,
    });
    return {
      db,
      dialect: 'postgres',
      safeUrl,
      where: safeUrl,
      faults,
      poolStats,
      close: () => db.destroy(),
    };
  }
  throw new Error(`unsupported DATABASE_URL: ${redactUrl(url)}`);
}
