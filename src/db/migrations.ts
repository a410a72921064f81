import {
  type ColumnDefinitionBuilder,
  type Kysely,
  type Migration,
  type MigrationResultSet,
  Migrator,
} from 'kysely';
import type { Dialect } from './connect.js';
import { createSearch, dropSearch } from './search-schema.js';

/** The auto-increment primary key: the one place where the two dialects differ. */
function serialKey(dialect: Dialect) {
  return (col: ColumnDefinitionBuilder) =>
    dialect === 'postgres'
      ? col.primaryKey().generatedByDefaultAsIdentity()
      : // An INTEGER PRIMARY KEY is SQLite's rowid: ids only grow while no row is deleted.
        col.primaryKey();
}

/**
 * The whole schema history, oldest first. Names sort in the order they run.
 * Never edit a migration that has shipped: add a new one.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_initial': {
      // biome-ignore lint/suspicious/noExplicitAny: migrations work on the schema as it was then
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('users')
          .addColumn('user_id', 'integer', serialKey(dialect))
          .addColumn('username', 'text', (c) => c.notNull().unique())
          .addColumn('email', 'text', (c) => c.notNull())
          .addColumn('pw_hash', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('messages')
          .addColumn('message_id', 'integer', serialKey(dialect))
          .addColumn('author_id', 'integer', (c) =>
            c.notNull().references('users.user_id').onDelete('cascade'),
          )
          .addColumn('text', 'text', (c) => c.notNull())
          .addColumn('pub_date', 'bigint', (c) => c.notNull())
          .addColumn('flagged', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        // The user timeline and GET /msgs/<user>: newest first within one author.
        await db.schema
          .createIndex('messages_author_id_message_id')
          .on('messages')
          .columns(['author_id', 'message_id'])
          .execute();

        await db.schema
          .createTable('followers')
          .addColumn('who_id', 'integer', (c) =>
            c.notNull().references('users.user_id').onDelete('cascade'),
          )
          .addColumn('whom_id', 'integer', (c) =>
            c.notNull().references('users.user_id').onDelete('cascade'),
          )
          .addPrimaryKeyConstraint('followers_pkey', ['who_id', 'whom_id'])
          .execute();
        // Who follows a user: used when a user is deleted and by follower counts.
        await db.schema
          .createIndex('followers_whom_id')
          .on('followers')
          .column('whom_id')
          .execute();

        await db.schema
          .createTable('settings')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'integer', (c) =>
            c.notNull().references('users.user_id').onDelete('cascade'),
          )
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();
        await db.schema
          .createIndex('sessions_expires_at')
          .on('sessions')
          .column('expires_at')
          .execute();
      },
      // biome-ignore lint/suspicious/noExplicitAny: see above
      async down(db: Kysely<any>) {
        for (const table of ['sessions', 'settings', 'followers', 'messages', 'users']) {
          await db.schema.dropTable(table).ifExists().execute();
        }
      },
    },
    '0002_messages_deleted_at': {
      // A nullable column without a default: metadata only on both databases (no table rewrite),
      // so adding it to ten million rows is instant.
      // biome-ignore lint/suspicious/noExplicitAny: as above
      async up(db: Kysely<any>) {
        await db.schema.alterTable('messages').addColumn('deleted_at', 'bigint').execute();
      },
      // biome-ignore lint/suspicious/noExplicitAny: as above
      async down(db: Kysely<any>) {
        await db.schema.alterTable('messages').dropColumn('deleted_at').execute();
      },
    },
    '0003_search': {
      // The structures only: messages posted from now on are indexed by triggers, older ones
      // by the background indexer (src/db/search.ts), so this is quick at any size.
      // biome-ignore lint/suspicious/noExplicitAny: as above
      async up(db: Kysely<any>) {
        await createSearch(db, dialect);
      },
      // biome-ignore lint/suspicious/noExplicitAny: as above
      async down(db: Kysely<any>) {
        await dropSearch(db, dialect);
      },
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the migrator is schema-agnostic
export function createMigrator(db: Kysely<any>, dialect: Dialect) {
  const all = migrations(dialect);
  return new Migrator({
    db,
    provider: { getMigrations: async () => all },
  });
}

export class MigrationError extends Error {}

/**
 * Applies every pending migration; applying them again changes nothing. `where` names the
 * database (its file or redacted URL) in the MigrationError raised when one fails or when the
 * migration state cannot be read at all (an unreachable server, say).
 */
// biome-ignore lint/suspicious/noExplicitAny: as above
export async function migrateToLatest(db: Kysely<any>, dialect: Dialect, where?: string) {
  const result: MigrationResultSet = await createMigrator(db, dialect).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    const reason = result.error instanceof Error ? result.error.message : String(result.error);
    const named = where !== undefined && !reason.includes(where);
    throw new MigrationError(
      failed
        ? `migration ${failed}${named ? ` of ${where}` : ''} failed: ${reason}`
        : `cannot migrate the database${named ? ` ${where}` : ''}: ${reason}`,
      { cause: result.error },
    );
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of migrations the code knows that the database has not applied yet. */
// biome-ignore lint/suspicious/noExplicitAny: as above
export async function pendingMigrations(db: Kysely<any>, dialect: Dialect) {
  const info = await createMigrator(db, dialect).getMigrations();
  return info.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
