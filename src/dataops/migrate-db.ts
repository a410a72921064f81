import type { Command } from '../cli/command.js';
import { Progress } from '../cli/progress.js';
import { openDatabase, redactUrl } from '../db/connect.js';
import { migrateToLatest, pendingMigrations } from '../db/migrations.js';
import { removeChangeLog } from './changelog.js';
import { type LiveMigrationResult, migrateLive } from './live-migration.js';
import { describeCounts } from './load.js';
import { unseal } from './seal.js';
import { countAll, isEmpty, TABLES, wipe } from './transfer.js';

export interface MigrateDbOptions {
  from: string;
  to: string;
  force?: boolean;
  err?: (line: string) => void;
  /** Called the moment the target is complete and verified (the switch can happen). */
  onReady?: () => void | Promise<void>;
}

/** The function behind `minitwit migrate-db`, for tests and scripts. */
export async function migrateDatabase(options: MigrateDbOptions): Promise<LiveMigrationResult> {
  const err = options.err ?? (() => {});
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
    await migrateToLatest(to.db, to.dialect);
    if (!(await isEmpty(to.db))) {
      if (!options.force) {
        throw new Error(
          `the target already holds data (${describeCounts(await countAll(to.db))}); give --force to replace it`,
        );
      }
      err(`--force: emptying ${to.safeUrl} first`);
      await wipe(to.db);
    }
    const totals = await countAll(from.db);
    const bulk = new Progress(
      err,
      'bulk copy',
      TABLES.reduce((n, t) => n + totals[t], 0),
    );
    return await migrateLive({
      from,
      to,
      onReady: options.onReady,
      events: {
        rows: (phase, _table, rows) => {
          if (phase === 'bulk') bulk.add(rows);
        },
        pass: (phase, rows, ms) => {
          if (phase === 'bulk') bulk.finish();
          err(`${phase} pass: ${rows} rows in ${Math.round(ms)} ms`);
        },
        note: err,
      },
    });
  } finally {
    await from.close();
    await to.close();
  }
}

export const migrateDbCommand: Command = {
  name: 'migrate-db',
  summary: 'copy a live database to another (SQLite to PostgreSQL) with a sub-second write pause',
  usage:
    'minitwit migrate-db --from URL --to URL [--force]  |  minitwit migrate-db --unseal --from URL',
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    force: { type: 'boolean' },
    unseal: { type: 'boolean' },
  },
  async run({ values, out, err }) {
    const from = values.from as string | undefined;
    const to = values.to as string | undefined;
    if (values.unseal === true) {
      // After an interrupted move, or to use the old database again on purpose.
      if (!from) throw new Error('give --from URL: the database to reopen for writes');
      const handle = openDatabase(from, { poolMax: 1 });
      try {
        await unseal(handle.db, handle.dialect);
        await removeChangeLog(handle.db, handle.dialect);
      } finally {
        await handle.close();
      }
      out(`${redactUrl(from)} accepts writes again`);
      return 0;
    }
    if (!from || !to) throw new Error('give --from URL and --to URL');
    const result = await migrateDatabase({
      from,
      to,
      force: values.force === true,
      err,
      onReady: () => out('READY: the target is complete and verified; point the servers at it now'),
    });
    out(`moved ${result.rowsMoved} rows in ${(result.totalMs / 1000).toFixed(2)} s`);
    out(`write pause: ${Math.round(result.pauseMs)} ms (the source refuses writes from now on)`);
    out(`target holds: ${describeCounts(result.counts)}`);
    for (const line of result.checked) out(`  verified: ${line}`);
    return 0;
  },
};
