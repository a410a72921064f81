import { type Command, defineCommand } from '../command.js';
import { withDomain } from '../domain.js';

/** Message ids from the command line: positive whole numbers only, nothing else gets near SQL. */
export function parseIds(args: string[]): number[] {
  if (args.length === 0) throw new Error('give one or more message ids');
  return args.map((arg) => {
    if (!/^\d{1,15}$/.test(arg) || Number(arg) < 1) {
      throw new Error(`"${arg}" is not a message id (a positive whole number)`);
    }
    return Number(arg);
  });
}

/** `flag` (hide) or `unflag` (show again): the same command but for the direction. */
function flagCommand(flag: boolean): Command {
  const name = flag ? 'flag' : 'unflag';
  return defineCommand({
    name,
    summary: flag ? 'hide messages by id everywhere' : 'show hidden messages again',
    usage: `minitwit ${name} <id> [<id>...] [--database URL]`,
    async run({ positionals, databaseUrl, out, err }) {
      const ids = parseIds(positionals);
      const changed = await withDomain(databaseUrl(), (domain) => domain.setFlagged(ids, flag));
      const missing = ids.filter((id) => !changed.includes(id));
      out(
        `${flag ? 'flagged' : 'unflagged'} ${changed.length} message(s)${changed.length ? `: ${changed.join(' ')}` : ''}`,
      );
      if (missing.length > 0) err(`no such message: ${missing.join(' ')}`);
      return missing.length > 0 ? 1 : 0;
    },
  });
}

export const flagCommands = [flagCommand(true), flagCommand(false)];
