import type { PostgresPool, PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { DatabaseTimeout, DatabaseUnreachable } from './errors.js';
import { PREPARED_NAMES } from './prepared.js';

export interface GuardedPoolOptions {
  connectionString: string;
  /** The database as errors name it (the redacted URL). */
  where: string;
  max: number;
  types: pg.CustomTypesConfig;
  /** The most a request waits for a connection (a new one, or a free one of the pool), in ms. */
  connectTimeoutMs: number;
  /**
   * The most one statement may take, in ms (0: no limit). The server cancels a statement that
   * runs longer (statement_timeout); a server that does not answer at all is given this plus
   * `connectTimeoutMs`, then its connection is closed.
   */
  statementTimeoutMs: number;
  /** Told of every error a connection raises outside a query (a cut connection, say). */
  onConnectionError: (error: Error) => void;
}

/** Why a connection was closed by the guard: it did not answer in time. */
const ABANDONED = new Error('closed: no answer within the statement deadline');

/**
 * A pg Pool for Kysely that no fault of the connection can crash the process with, and that
 * gives up on a silent server.
 *
 * - Every client gets an 'error' listener for its whole life. pg-pool listens only while a
 *   client is idle: a connection cut while checked out (between two statements of a
 *   transaction, when PostgreSQL restarts or pg_terminate_backend ends it) emitted an 'error'
 *   nobody handled, and Node ended the process.
 * - A connection that cannot be made fails with DatabaseUnreachable (`unavailable`), naming
 *   the database, whatever the reason (refused, not accepting connections, no such database).
 * - Each query has a deadline: past it the connection is destroyed (its socket closed), the
 *   query fails with DatabaseTimeout (`unavailable`), and the client leaves the pool instead of
 *   going back with a query stuck on it.
 */
export function guardedPool(options: GuardedPoolOptions): { pool: pg.Pool; kysely: PostgresPool } {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    types: options.types,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    ...(options.statementTimeoutMs > 0 ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle client losing its server: the next query reports it.
  pool.on('error', options.onConnectionError);
  pool.on('connect', (client) => client.on('error', options.onConnectionError));

  const deadlineMs =
    options.statementTimeoutMs > 0 ? options.statementTimeoutMs + options.connectTimeoutMs : 0;
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let abandoned = false;
    const send = (sql: string, parameters: readonly unknown[]) => {
      // A query compiled once (db/prepared.ts) runs as a named statement: parsed and planned
      // once per connection instead of at every call.
      const name = typeof sql === 'string' ? PREPARED_NAMES.get(sql) : undefined;
      return name === undefined
        ? client.query(sql, parameters as unknown[])
        : client.query({ name, text: sql, values: parameters as unknown[] });
    };
    const query = (sql: string, parameters: readonly unknown[]) => {
      // A cursor (Kysely's streaming) or no deadline: pg's own query, untouched.
      if (deadlineMs === 0 || typeof sql !== 'string') return send(sql, parameters);
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const timer = setTimeout(() => {
          abandoned = true;
          reject(
            new DatabaseTimeout(
              `PostgreSQL did not answer within ${deadlineMs} ms: connection closed`,
              'MINITWIT_DB_TIMEOUT',
              Date.now() - started,
            ),
          );
          // The late answer (an error once the socket is gone) has no one left to tell.
          (
            client as unknown as { connection?: { stream?: { destroy(): void } } }
          ).connection?.stream?.destroy();
        }, deadlineMs);
        send(sql, parameters).then(
          (result) => {
            clearTimeout(timer);
            resolve(result);
          },
          (error) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      });
    };
    return {
      query: query as PostgresPoolClient['query'],
      release() {
        client.release(abandoned ? ABANDONED : undefined);
        abandoned = false;
      },
    };
  };
  const kysely: PostgresPool = {
    async connect() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new DatabaseUnreachable(`cannot connect to ${options.where}: ${reason}`, {
          cause: error,
        });
      }
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = wrap(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
  return { pool, kysely };
}
