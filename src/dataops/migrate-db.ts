import { openDatabase } from '../db/connect.js';
import { pendingMigrations } from '../db/migrations.js';
import { removeChangeLog } from './changelog.js';
import { type LiveMigrationResult, migrateLive } from './live-migration.js';
import { prepareTarget, withDatabase } from './load.js';
import {
  type Log,
  noProgress,
  type PhaseProgress,
  type ProgressSink,
  silent,
  totalOf,
} from './reporting.js';
import { unseal } from './seal.js';
import { countAll } from './transfer.js';

export interface MigrateDbOptions {
  /** The live database to copy: `sqlite:…` or `postgres://…`. */
  from: string;
  /** The database to copy it into (migrated here; must be empty unless `force`). */
  to: string;
  /** Replace the data of a target that is not empty (default: refuse). */
  force?: boolean;
  /** Lines for the operator: each pass, notes of the migration. */
  log?: Log;
  /** The phases with rows: `bulk copy` (the first, longest pass) and `verify` (after READY). */
  progress?: ProgressSink;
  /** Called the moment the target is complete and verified (the switch can happen). */
  onReady?: () => void | Promise<void>;
}

/**
 * Copies a live database into another with a short write pause (see migrateLive): the function
 * behind `minitwit migrate-db`, for tests and scripts. Throws when both URLs are the same, the
 * source has pending migrations, the target holds data without `force`, or as migrateLive.
 */
export async function migrateDatabase(options: MigrateDbOptions): Promise<LiveMigrationResult> {
  const log = options.log ?? silent;
  const progress = options.progress ?? noProgress;
  if (options.from === options.to) throw new Error('--from and --to name the same database');
  const from = openDatabase(options.from, { poolMax: 4 });
  const to = openDatabase(options.to, { poolMax: 4 });
  try {
    const pending = await pendingMigrations(from.db, from.dialect);
    if (pending.length > 0) {
      throw new Error(
        `the source is not at the current schema (pending: ${pending.join(', ')}): run migrate on it first`,
      );
    }
    await prepareTarget(to, { force: options.force === true, log, noun: 'the target' });
    const total = totalOf(await countAll(from.db));
    const bulk = progress.phase('bulk copy', { total });
    let verify: PhaseProgress | undefined;
    const result = await migrateLive({
      from,
      to,
      onReady: options.onReady,
      events: {
        rows: (phase, _table, rows) => {
          if (phase === 'bulk') bulk.add(rows);
        },
        pass: (phase, rows, ms) => {
          if (phase === 'bulk') bulk.finish();
          log(`${phase} pass: ${rows} rows in ${Math.round(ms)} ms`);
        },
        verified: (_table, rows) => {
          // Rows of the source compared with the target after the switch: about the total.
          verify ??= progress.phase('verify', { total });
          verify.add(rows);
        },
        note: log,
      },
    });
    verify?.finish();
    return result;
  } finally {
    await from.close();
    await to.close();
  }
}

/**
 * Lifts the seal migrateDatabase leaves on a source and removes its change log, so it accepts
 * writes again: after an interrupted move, or to use the old database again on purpose.
 */
export async function reopenForWrites(url: string): Promise<void> {
  await withDatabase(
    url,
    async (handle) => {
      await unseal(handle.db, handle.dialect);
      await removeChangeLog(handle.db, handle.dialect);
    },
    1,
  );
}
