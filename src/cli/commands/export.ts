import { loadConfig } from '../../config/config.js';
import { describeCounts, loadInto, rowsOfFile } from '../../dataops/load.js';
import { writePortable } from '../../dataops/portable.js';
import { type AnyDb, readDatabase, withSnapshot } from '../../dataops/transfer.js';
import type { Command } from '../command.js';
import { openConfiguredDatabase } from '../database.js';
import { Progress } from '../progress.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'stream every table to a portable gzip JSON Lines file (one consistent snapshot)',
  usage: 'minitwit export <file.jsonl.gz> [--database URL]',
  async run({ positionals, values, out, err }) {
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new Error('give exactly one output file');
    if (!file.endsWith('.gz')) throw new Error('the output file name must end in .jsonl.gz');
    const handle = openConfiguredDatabase(
      (values.database as string | undefined) || loadConfig().databaseUrl,
    );
    try {
      const started = performance.now();
      const progress = new Progress(err, 'export');
      const summary = await withSnapshot(handle.db, handle.dialect, (snapshot: AnyDb) =>
        writePortable(
          (async function* () {
            for await (const batch of readDatabase(snapshot)) {
              progress.add(batch.rows.length);
              yield batch;
            }
          })(),
          file,
          { source: handle.dialect },
        ),
      );
      progress.finish();
      out(`exported ${handle.safeUrl} to ${file} in ${Math.round(performance.now() - started)} ms`);
      out(`  ${describeCounts(summary)}`);
    } finally {
      await handle.close();
    }
    return 0;
  },
};

export const importCommand: Command = {
  name: 'import',
  summary: 'load a portable export into an empty database of either kind',
  usage: 'minitwit import <file.jsonl.gz> [--force] [--database URL]',
  options: { force: { type: 'boolean' } },
  async run({ positionals, values, out, err }) {
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new Error('give exactly one export file');
    const target = openConfiguredDatabase(values.database as string | undefined);
    try {
      const started = performance.now();
      const loaded = await loadInto(target, rowsOfFile(file, 'portable'), {
        force: values.force === true,
        err,
        label: 'import',
      });
      out(
        `imported ${file} into ${target.safeUrl} in ${Math.round(performance.now() - started)} ms`,
      );
      out(`  ${describeCounts(loaded)}`);
    } finally {
      await target.close();
    }
    return 0;
  },
};
