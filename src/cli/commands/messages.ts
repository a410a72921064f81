import { defineCommand } from '../command.js';
import { withDomain } from '../domain.js';

/** One CSV field, quoted when it must be. */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const messagesCommand = defineCommand({
  name: 'messages',
  summary: 'list messages as CSV: id,author_id,text,flagged (the old flag_tool -i)',
  usage: 'minitwit messages [--flagged] [--database URL]',
  options: { flagged: { type: 'boolean' } },
  async run({ values, databaseUrl, out }) {
    await withDomain(databaseUrl(), async (domain) => {
      out('id,author_id,text,flagged');
      for await (const m of domain.listMessages({ flaggedOnly: values.flagged === true })) {
        out([m.messageId, m.authorId, csvField(m.text), m.flagged].join(','));
      }
    });
    return 0;
  },
});
