import { restoreBackup } from '../../dataops/backup.js';
import { describeCounts } from '../../dataops/load.js';
import { defineCommand, onlyFile } from '../command.js';

export const restoreCommand = defineCommand({
  name: 'restore',
  summary: 'load a backup (any format) into an empty database of either kind',
  createsDatabase: true,
  usage: 'minitwit restore <backup-file> [--force] [--database URL]',
  options: { force: { type: 'boolean' } },
  async run({ positionals, values, databaseUrl, out, err, progress }) {
    const file = onlyFile(positionals, 'backup file');
    const started = performance.now();
    const result = await restoreBackup({
      file,
      url: databaseUrl(),
      force: values.force,
      log: err,
      progress: progress(),
    });
    out(`restored ${file} into ${result.target} in ${Math.round(performance.now() - started)} ms`);
    out(`  ${describeCounts(result.loaded)}${result.manifest ? ' (matches the manifest)' : ''}`);
    return 0;
  },
});
