import { importPortable } from '../../dataops/export.js';
import { describeCounts } from '../../dataops/load.js';
import { defineCommand, onlyFile } from '../command.js';

export const importCommand = defineCommand({
  name: 'import',
  summary: 'load a portable export into an empty database of either kind',
  createsDatabase: true,
  usage: 'minitwit import <file.jsonl.gz> [--force] [--database URL]',
  options: { force: { type: 'boolean' } },
  async run({ positionals, values, databaseUrl, out, err, progress }) {
    const file = onlyFile(positionals, 'export file');
    const started = performance.now();
    const { target, loaded } = await importPortable({
      file,
      url: databaseUrl(),
      force: values.force,
      log: err,
      progress: progress(),
    });
    out(`imported ${file} into ${target} in ${Math.round(performance.now() - started)} ms`);
    out(`  ${describeCounts(loaded)}`);
    return 0;
  },
});
