import { exportDatabase } from '../../dataops/export.js';
import { describeCounts } from '../../dataops/load.js';
import { defineCommand, onlyFile } from '../command.js';

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'stream every table to a portable gzip JSON Lines file (one consistent snapshot)',
  usage: 'minitwit export <file.jsonl.gz> [--database URL]',
  async run({ positionals, databaseUrl, out, progress }) {
    const file = onlyFile(positionals, 'output file');
    if (!file.endsWith('.gz')) throw new Error('the output file name must end in .jsonl.gz');
    const started = performance.now();
    const { source, summary } = await exportDatabase({
      url: databaseUrl(),
      file,
      progress: progress(),
    });
    out(`exported ${source} to ${file} in ${Math.round(performance.now() - started)} ms`);
    out(`  ${describeCounts(summary)}`);
    return 0;
  },
});
