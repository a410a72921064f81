import { Store } from '../../db/store.js';
import { MiniTwit } from '../../domain/minitwit.js';
import type { Command } from '../command.js';
import { openConfiguredDatabase } from '../database.js';

/** One CSV field, quoted when it must be. */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

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

async function withDomain<T>(database: string | undefined, run: (domain: MiniTwit) => Promise<T>) {
  const handle = openConfiguredDatabase(database);
  try {
    return await run(new MiniTwit(new Store(handle.db, handle.dialect)));
  } finally {
    await handle.close();
  }
}

export const messagesCommand: Command = {
  name: 'messages',
  summary: 'list messages as CSV: id,author_id,text,flagged (the old flag_tool -i)',
  usage: 'minitwit messages [--flagged] [--database URL]',
  options: { flagged: { type: 'boolean' } },
  async run({ values, out }) {
    await withDomain(values.database as string | undefined, async (domain) => {
      out('id,author_id,text,flagged');
      for await (const m of domain.listMessages({ flaggedOnly: values.flagged === true })) {
        out([m.messageId, m.authorId, csvField(m.text), m.flagged].join(','));
      }
    });
    return 0;
  },
};

function flagCommand(flag: boolean): Command {
  const name = flag ? 'flag' : 'unflag';
  return {
    name,
    summary: flag ? 'hide messages by id everywhere' : 'show hidden messages again',
    usage: `minitwit ${name} <id> [<id>...] [--database URL]`,
    async run({ positionals, values, out, err }) {
      const ids = parseIds(positionals);
      const changed = await withDomain(values.database as string | undefined, (domain) =>
        domain.setFlagged(ids, flag),
      );
      const missing = ids.filter((id) => !changed.includes(id));
      out(
        `${flag ? 'flagged' : 'unflagged'} ${changed.length} message(s)${changed.length ? `: ${changed.join(' ')}` : ''}`,
      );
      if (missing.length > 0) err(`no such message: ${missing.join(' ')}`);
      return missing.length > 0 ? 1 : 0;
    },
  };
}

export const flagCommands = [flagCommand(true), flagCommand(false)];
