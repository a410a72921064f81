import type SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SelectQueryNode,
  SqliteDialect,
} from 'kysely';
import { DatabaseTimeout, databaseCondition } from './errors.js';

/** What the driver needs of a better-sqlite3 database: statements (possibly cached) and close. */
export interface SqliteHandle {
  prepare(sql: string): SQLite.Statement;
  close(): void;
  /** True while a transaction is open on the connection (better-sqlite3's `inTransaction`). */
  readonly inTransaction: boolean;
}

/**
 * Pauses between tries for a lock, in milliseconds: SQLite's own busy handler's schedule
 * (sqliteDefaultBusyCallback), so a lock is taken about as soon as it would be with busy_timeout.
 */
const BACKOFF_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const isBusy = (error: unknown) => databaseCondition(error) === 'busy';

/**
 * Kysely's SqliteDialect with a driver that never blocks the event loop waiting for a lock.
 *
 * better-sqlite3 is synchronous: with SQLite's busy_timeout, a statement that meets another
 * connection's write lock sleeps inside the call, and every request of the process (health
 * probes included) waits with it. Here the connection runs with busy_timeout = 0, so such a
 * statement fails at once with SQLITE_BUSY and is tried again after an asynchronous pause (1 ms,
 * 2 ms, 5 ms, … up to 100 ms) until `lockTimeoutMs` has passed; meanwhile other statements
 * (reads, which WAL never blocks) run. A statement still refused at the end raises
 * DatabaseTimeout (`code` SQLITE_BUSY, the `busy` condition). A refused statement did nothing,
 * so trying it again is safe.
 *
 * Transactions start with BEGIN IMMEDIATE, retried the same way: the write lock is taken up front,
 * so no statement inside a transaction can meet a lock (a deferred transaction that read first
 * could not simply retry). While a transaction is open, statements from outside it wait (without
 * blocking) for its end, because they would otherwise run inside it on the one connection; while
 * a transaction still waits for its BEGIN, they run.
 */
export class PatientSqliteDialect extends SqliteDialect {
  constructor(
    private readonly sqlite: SqliteHandle,
    private readonly lockTimeoutMs: number,
  ) {
    super({ database: sqlite });
  }

  override createDriver(): Driver {
    return new PatientSqliteDriver(this.sqlite, this.lockTimeoutMs);
  }
}

class PatientSqliteDriver implements Driver {
  /** The connection whose transaction is open, and a promise settled when it ends. */
  private owner:
    | { connection: PatientConnection; ended: Promise<void>; end: () => void }
    | undefined;

  constructor(
    readonly sqlite: SqliteHandle,
    readonly lockTimeoutMs: number,
  ) {}

  async init() {}

  /** A fresh handle per use: statements run as soon as no other handle's transaction is open. */
  async acquireConnection(): Promise<DatabaseConnection> {
    return new PatientConnection(this);
  }

  /** Resolves when no transaction of another connection is open. */
  async turnOf(connection: PatientConnection) {
    while (this.owner && this.owner.connection !== connection) await this.owner.ended;
  }

  ownsTransaction(connection: PatientConnection) {
    return this.owner?.connection === connection;
  }

  async beginTransaction(connection: DatabaseConnection) {
    const mine = connection as PatientConnection;
    // The claim is made in the same tick as the BEGIN that succeeded: no statement of another
    // connection can slip in between. While BEGIN waits for the lock, others run as usual.
    await mine.execute(CompiledQuery.raw('begin immediate'), () => {
      let end!: () => void;
      const ended = new Promise<void>((resolve) => {
        end = resolve;
      });
      this.owner = { connection: mine, ended, end };
    });
  }

  async commitTransaction(connection: DatabaseConnection) {
    const mine = connection as PatientConnection;
    await mine.executeQuery(CompiledQuery.raw('commit'));
    this.endTransaction(mine);
  }

  async rollbackTransaction(connection: DatabaseConnection) {
    const mine = connection as PatientConnection;
    try {
      // SQLite may have rolled back already (after SQLITE_FULL, say): then there is nothing to do.
      if (this.sqlite.inTransaction) await mine.executeQuery(CompiledQuery.raw('rollback'));
    } finally {
      this.endTransaction(mine);
    }
  }

  async savepoint(connection: DatabaseConnection, name: string) {
    await connection.executeQuery(CompiledQuery.raw(`savepoint "${name}"`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string) {
    await connection.executeQuery(CompiledQuery.raw(`rollback to "${name}"`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string) {
    await connection.executeQuery(CompiledQuery.raw(`release "${name}"`));
  }

  async releaseConnection(connection: DatabaseConnection) {
    // A transaction left open (a failed commit and rollback) must not hold everyone else back.
    const mine = connection as PatientConnection;
    if (this.ownsTransaction(mine)) {
      if (this.sqlite.inTransaction) {
        try {
          this.sqlite.prepare('rollback').run();
        } catch {
          // nothing more can be done; the next statement reports the state of the database
        }
      }
      this.endTransaction(mine);
    }
  }

  async destroy() {
    this.sqlite.close();
  }

  private endTransaction(connection: PatientConnection) {
    if (this.owner?.connection !== connection) return;
    const { end } = this.owner;
    this.owner = undefined;
    end();
  }
}

class PatientConnection implements DatabaseConnection {
  constructor(private readonly driver: PatientSqliteDriver) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.execute<R>(compiled);
  }

  /**
   * Runs `compiled` when no other connection's transaction is open, retrying while another
   * connection holds the lock (see PatientSqliteDialect); `succeeded` is called in the same tick
   * as the run that worked.
   */
  async execute<R>(compiled: CompiledQuery, succeeded?: () => void): Promise<QueryResult<R>> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      await this.driver.turnOf(this);
      try {
        const result = this.run<R>(compiled);
        succeeded?.();
        return result;
      } catch (error) {
        // Inside an open transaction a connection holds the write lock: a busy error there is
        // not a lock to wait for (and the transaction's earlier statements cannot be replayed).
        // BEGIN IMMEDIATE itself (no transaction open yet) is retried like any statement.
        const inOwnTransaction =
          this.driver.ownsTransaction(this) && this.driver.sqlite.inTransaction;
        if (!isBusy(error) || inOwnTransaction) throw error;
        const waited = Date.now() - started;
        const left = this.driver.lockTimeoutMs - waited;
        if (left <= 0) {
          throw new DatabaseTimeout(
            `the database is locked by another connection: gave up after ${waited} ms (DATABASE_LOCK_TIMEOUT_MS=${this.driver.lockTimeoutMs})`,
            'SQLITE_BUSY',
            waited,
            { cause: error },
          );
        }
        await sleep(Math.min(BACKOFF_MS[attempt] ?? 100, left));
      }
    }
  }

  private run<R>(compiled: CompiledQuery): QueryResult<R> {
    const statement = this.driver.sqlite.prepare(compiled.sql);
    const parameters = compiled.parameters as unknown[];
    if (statement.reader) return { rows: statement.all(parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return {
      numAffectedRows: BigInt(changes),
      insertId: BigInt(lastInsertRowid),
      rows: [],
    };
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(compiled.query)) {
      throw new Error('the SQLite driver streams only select queries');
    }
    await this.driver.turnOf(this);
    const statement = this.driver.sqlite.prepare(compiled.sql);
    for (const row of statement.iterate(compiled.parameters as unknown[])) {
      yield { rows: [row as R] };
    }
  }
}
