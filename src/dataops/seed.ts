import { migrateToLatest } from '../db/migrations.js';
import { hashPassword } from '../domain/passwords.js';
import {
  finishBulkLoad,
  prepareForBulkLoad,
  SEED_PASSWORD,
  type SeedProgress,
  type SeedSize,
  seedDatabase,
} from './bulk.js';
import { withDatabase } from './load.js';

export interface SeedRunOptions extends SeedSize {
  /** The database to fill: `sqlite:…` or `postgres://…`; migrated here, must be empty. */
  url: string;
  /** PRNG seed; the same seed and sizes give the same data. */
  seed: number;
  /** After each transaction of inserts (every 50,000 rows or so, and at each table's end). */
  onProgress?: (progress: SeedProgress) => void;
}

/**
 * Migrates the database at `url` and bulk-loads generated users (all with the password
 * SEED_PASSWORD), messages and follows into it with the load-speed settings of bulk.ts: the
 * function behind `minitwit seed`. Resolves to the database's URL without its password.
 * Throws as seedDatabase (sizes out of range, a database that is not empty).
 */
export async function seedEmptyDatabase(options: SeedRunOptions): Promise<{ target: string }> {
  // One connection, so that session settings of the bulk load apply to every insert.
  return withDatabase(
    options.url,
    async (handle) => {
      await migrateToLatest(handle.db, handle.dialect, handle.where);
      await prepareForBulkLoad(handle.db, handle.dialect);
      await seedDatabase(handle.db, handle.dialect, {
        users: options.users,
        messages: options.messages,
        follows: options.follows,
        seed: options.seed,
        pwHash: await hashPassword(SEED_PASSWORD),
        onProgress: options.onProgress,
      });
      await finishBulkLoad(handle.db, handle.dialect);
      return { target: handle.safeUrl };
    },
    1,
  );
}
