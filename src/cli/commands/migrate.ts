import { migrateToLatest } from '../../db/migrations.js';
import type { Command } from '../command.js';
import { openConfiguredDatabase } from '../database.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending database migrations (safe to run again)',
  usage: 'minitwit migrate [--database URL]',
  async run({ values, out }) {
    const handle = openConfiguredDatabase(values.database as string | undefined);
    try {
      const applied = await migrateToLatest(handle.db, handle.dialect);
      out(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    } finally {
      await handle.close();
    }
    return 0;
  },
};
