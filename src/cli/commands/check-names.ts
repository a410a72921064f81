import { defineCommand } from '../command.js';
import { describeNameProblems, storedNameProblems } from '../names.js';

export const checkNamesCommand = defineCommand({
  name: 'check-names',
  summary: 'list stored usernames registration refuses today (a page takes /<name>, too long, …)',
  usage: 'minitwit check-names [--database URL]',
  async run({ databaseUrl, out }) {
    const problems = await storedNameProblems(databaseUrl());
    if (problems.length === 0) {
      out('every stored username can be registered and opened at /<name> today');
      return 0;
    }
    out(`${problems.length} stored username(s) registration would refuse today:`);
    for (const line of describeNameProblems(problems)) out(line);
    return 1;
  },
});
