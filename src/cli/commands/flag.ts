import { type Command, defineCommand } from '../command.js';
import { withDomain } from '../domain.js';

/** A message id as the operator wrote it (without leading zeros) and as a number. */
export interface GivenId {
  text: string;
  /** The id; not a safe integer (beyond 2^53 - 1) when the text is too large to name a message. */
  id: number;
}

/**
 * Message ids from the command line: positive whole numbers in decimal digits, nothing else gets
 * near SQL. Any such number is an id, however large: one that no message can have (beyond the
 * database's id column) is reported as no such message, like any other id that names none.
 */
export function parseIds(args: string[]): GivenId[] {
  if (args.length === 0) throw new Error('give one or more message ids');
  return args.map((arg) => {
    if (!/^\d+$/.test(arg) || !/[1-9]/.test(arg)) {
      throw new Error(`"${arg}" is not a message id (a positive whole number)`);
    }
    return { text: arg.replace(/^0+/, ''), id: Number(arg) };
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
      const given = parseIds(positionals);
      const ids = given.map((g) => g.id);
      const changed = await withDomain(databaseUrl(), (domain) => domain.setFlagged(ids, flag));
      const missing = given
        .filter((g) => !Number.isSafeInteger(g.id) || !changed.includes(g.id))
        .map((g) => g.text);
      out(
        `${flag ? 'flagged' : 'unflagged'} ${changed.length} message(s)${changed.length ? `: ${changed.join(' ')}` : ''}`,
      );
      if (missing.length > 0) err(`no such message: ${missing.join(' ')}`);
      return missing.length > 0 ? 1 : 0;
    },
  });
}

export const flagCommands = [flagCommand(true), flagCommand(false)];
