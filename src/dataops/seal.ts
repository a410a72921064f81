import { sql } from 'kysely';
import type { Dialect } from '../db/connect.js';
import { SEALED_MARKER } from '../db/errors.js';
import { type AnyDb, TABLES } from './transfer.js';

/**
 * Sealing a database makes it refuse every write, enforced by the database itself with triggers:
 * a write either committed before the seal (and a reader after the seal sees it) or fails with
 * SEALED_MARKER. `migrate-db` seals the source for its final pass, so no acknowledged write can
 * land in the old database after the last copy. A running server answers 503 to such a write.
 */
const OPERATIONS = ['insert', 'update', 'delete'] as const;

export async function seal(db: AnyDb, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    // One transaction: CREATE TRIGGER waits for writes in flight, then every later write fails.
    await db.transaction().execute(async (trx) => {
      await sql`create or replace function minitwit_sealed() returns trigger language plpgsql as $$ begin raise exception '${sql.raw(SEALED_MARKER)}'; end $$`.execute(
        trx,
      );
      for (const table of TABLES) {
        await sql`drop trigger if exists minitwit_sealed on ${sql.table(table)}`.execute(trx);
        await sql`create trigger minitwit_sealed before insert or update or delete on ${sql.table(table)} for each statement execute function minitwit_sealed()`.execute(
          trx,
        );
      }
    });
    return;
  }
  // SQLite: one trigger at a time, each its own short write. No transaction spans an await, so
  // a server in the same process is never left waiting on a lock this process holds. Atomicity
  // across tables is not needed: each write either committed before its table's seal (and the
  // final pass, which starts after the last seal, sees it) or fails.
  for (const table of TABLES) {
    for (const op of OPERATIONS) {
      const name = sql.raw(`minitwit_sealed_${table}_${op}`);
      await sql`create trigger if not exists ${name} before ${sql.raw(op)} on ${sql.table(table)} begin select raise(abort, '${sql.raw(SEALED_MARKER)}'); end`.execute(
        db,
      );
    }
  }
}

/** Lifts a seal (after a failed migration, so the old database serves writes again). */
export async function unseal(db: AnyDb, dialect: Dialect): Promise<void> {
  for (const table of TABLES) {
    if (dialect === 'postgres') {
      await sql`drop trigger if exists minitwit_sealed on ${sql.table(table)}`.execute(db);
    } else {
      for (const op of OPERATIONS) {
        await sql`drop trigger if exists ${sql.raw(`minitwit_sealed_${table}_${op}`)}`.execute(db);
      }
    }
  }
}
