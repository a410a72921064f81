import { withDatabase } from '../../dataops/load.js';
import { migrateToLatest } from '../../db/migrations.js';
import { defineCommand } from '../command.js';

export const migrateCommand = defineCommand({
  name: 'migrate',
  summary: 'apply pending database migrations (safe to run again)',
  createsDatabase: true,
  usage: 'minitwit migrate [--database URL]',
  async run({ databaseUrl, out }) {
    const applied = await withDatabase(databaseUrl(), (h) =>
      migrateToLatest(h.db, h.dialect, h.where),
    );
    out(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    return 0;
  },
});
