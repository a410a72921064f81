import { takeBackup } from '../../dataops/backup.js';
import { type BackupFormat, describeCounts } from '../../dataops/load.js';
import { defineCommand } from '../command.js';

const FORMATS = ['auto', 'sqlite', 'pgdump', 'portable'] as const;

function isFormat(value: string): value is BackupFormat | 'auto' {
  return (FORMATS as readonly string[]).includes(value);
}

/** --keep: 1 to 999,999, or undefined when not given. */
function keepCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1) {
    throw new Error('--keep must be a whole number from 1 to 999999');
  }
  return Number(value);
}

export const backupCommand = defineCommand({
  name: 'backup',
  summary: 'write a verified, consistent backup while the server runs (--keep N to rotate)',
  usage:
    'minitwit backup [--dir ./backups] [--keep N] [--format auto|sqlite|pgdump|portable] [--database URL]',
  options: { dir: { type: 'string' }, keep: { type: 'string' }, format: { type: 'string' } },
  async run({ values, databaseUrl, out, err, progress }) {
    const format = values.format ?? 'auto';
    if (!isFormat(format)) throw new Error('--format must be auto, sqlite, pgdump or portable');
    const result = await takeBackup({
      url: databaseUrl(),
      dir: values.dir ?? './backups',
      format,
      keep: keepCount(values.keep),
      log: err,
      progress: progress(),
    });
    const m = result.manifest;
    out(`backup written and verified: ${result.file}`);
    out(`  ${m.format}, ${m.bytes} bytes, ${m.ms} ms; ${describeCounts(m.tables)}`);
    for (const name of result.removed) out(`  removed old backup ${name}`);
    return 0;
  },
});
