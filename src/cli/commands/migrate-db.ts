import { checkDatabaseUrl } from '../../config/config.js';
import { describeCounts } from '../../dataops/load.js';
import { migrateDatabase, reopenForWrites } from '../../dataops/migrate-db.js';
import { redactUrl } from '../../db/connect.js';
import { defineCommand } from '../command.js';
import { explainDatabaseError, requireExistingDatabase } from '../database.js';

/** Runs `work`, naming the database at `url` in an error that came from opening it. */
async function opening<T>(url: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw explainDatabaseError(error, url);
  }
}

export const migrateDbCommand = defineCommand({
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
  async run({ values: { from, to, force, unseal }, out, err, progress }) {
    if (unseal === true) {
      // After an interrupted move, or to use the old database again on purpose.
      if (!from) throw new Error('give --from URL: the database to reopen for writes');
      await opening(requireExistingDatabase(checkDatabaseUrl(from, '--from'), '--from'), () =>
        reopenForWrites(from),
      );
      out(`${redactUrl(from)} accepts writes again`);
      return 0;
    }
    if (!from || !to) throw new Error('give --from URL and --to URL');
    // The source must exist; the target may be created (a new SQLite file).
    requireExistingDatabase(checkDatabaseUrl(from, '--from'), '--from');
    checkDatabaseUrl(to, '--to');
    const result = await migrateDatabase({
      from,
      to,
      force,
      log: err,
      progress: progress(),
      onReady: () => out('READY: the target is complete and verified; point the servers at it now'),
    });
    out(`moved ${result.rowsMoved} rows in ${(result.totalMs / 1000).toFixed(2)} s`);
    out(`write pause: ${Math.round(result.pauseMs)} ms (the source refuses writes from now on)`);
    out(`target holds: ${describeCounts(result.counts)}`);
    for (const line of result.checked) out(`  verified: ${line}`);
    return 0;
  },
});
