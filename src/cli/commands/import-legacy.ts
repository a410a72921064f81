import { importLegacy } from '../../dataops/legacy.js';
import { describeCounts } from '../../dataops/load.js';
import { defineCommand, onlyFile } from '../command.js';
import { describeNameProblems, storedNameProblems } from '../names.js';

export const importLegacyCommand = defineCommand({
  name: 'import-legacy',
  summary: "import the reference MiniTwit's own SQLite file (users keep their passwords)",
  createsDatabase: true,
  usage: 'minitwit import-legacy <minitwit.db> [--latest N] [--force] [--database URL]',
  options: { latest: { type: 'string' }, force: { type: 'boolean' } },
  async run({ positionals, values, databaseUrl, out, err, progress }) {
    const file = onlyFile(positionals, 'legacy database file');
    const {
      target,
      loaded,
      report: r,
      latest,
    } = await importLegacy({
      file,
      url: databaseUrl(),
      latest: values.latest,
      force: values.force,
      log: err,
      progress: progress(),
    });
    out(`imported ${file} into ${target}: ${describeCounts(loaded)}`);
    out(
      `  follower rows ${r.followerRows} -> ${r.follows} distinct follows; flagged NULL kept hidden: ${r.nullFlagged}; numbers stored as text restored: ${r.numericText}`,
    );
    out(`  latest: ${latest ?? 'not found (give --latest N)'}`);
    if (r.duplicateUsers.length > 0) {
      err(`skipped later duplicates of usernames: ${r.duplicateUsers.join(', ')}`);
    }
    if (r.orphanMessages > 0) err(`skipped ${r.orphanMessages} messages of unknown authors`);
    if (r.orphanFollows > 0) err(`skipped ${r.orphanFollows} follows naming unknown users`);
    const names = await storedNameProblems(databaseUrl());
    if (names.length > 0) {
      err(`imported ${names.length} username(s) registration would refuse today:`);
      for (const line of describeNameProblems(names)) err(line);
    }
    return 0;
  },
});
