import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readLegacy } from '../../dataops/legacy.js';
import { describeCounts, loadInto } from '../../dataops/load.js';
import type { Command } from '../command.js';
import { openConfiguredDatabase } from '../database.js';

/** The reference keeps `latest` in a text file next to its database. */
export function legacyLatest(dbFile: string, given?: string): number | undefined {
  const raw = given ?? readLatestFile(dbFile);
  if (raw === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(raw.trim()))
    throw new Error(`latest must be a whole number, got "${raw}"`);
  return Number(raw.trim());
}

function readLatestFile(dbFile: string): string | undefined {
  const path = join(dirname(dbFile), 'latest_processed_sim_action_id.txt');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

export const importLegacyCommand: Command = {
  name: 'import-legacy',
  summary: "import the reference MiniTwit's own SQLite file (users keep their passwords)",
  usage: 'minitwit import-legacy <minitwit.db> [--latest N] [--force] [--database URL]',
  options: { latest: { type: 'string' }, force: { type: 'boolean' } },
  async run({ positionals, values, out, err }) {
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new Error('give exactly one legacy database file');
    if (!existsSync(file)) throw new Error(`${file} does not exist`);
    const latest = legacyLatest(file, values.latest as string | undefined);
    const legacy = readLegacy(file, latest);
    const target = openConfiguredDatabase(values.database as string | undefined);
    try {
      const loaded = await loadInto(target, legacy.source, {
        force: values.force === true,
        err,
        label: 'import-legacy',
      });
      const r = legacy.report;
      out(`imported ${file} into ${target.safeUrl}: ${describeCounts(loaded)}`);
      out(
        `  follower rows ${r.followerRows} -> ${r.follows} distinct follows; flagged NULL kept hidden: ${r.nullFlagged}; numbers stored as text restored: ${r.numericText}`,
      );
      out(`  latest: ${latest ?? 'not found (give --latest N)'}`);
      if (r.duplicateUsers.length > 0) {
        err(`skipped later duplicates of usernames: ${r.duplicateUsers.join(', ')}`);
      }
      if (r.orphanMessages > 0) err(`skipped ${r.orphanMessages} messages of unknown authors`);
      if (r.orphanFollows > 0) err(`skipped ${r.orphanFollows} follows naming unknown users`);
    } finally {
      await legacy.close();
      await target.close();
    }
    return 0;
  },
};
