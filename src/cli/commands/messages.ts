import { defineCommand } from '../command.js';
import { withDomain } from '../domain.js';

/** One CSV field, quoted when it must be. */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The CSV of `messages` in blocks of lines (one item per 1,000 messages, so that the output
 * costs little per message): the header once the database has answered (a database that cannot
 * be read prints an error, not a header), then one line per message.
 */
async function* csvLines(
  messages: AsyncIterable<{ messageId: number; authorId: number; text: string; flagged: number }>,
) {
  const rows = messages[Symbol.asyncIterator]();
  let next = await rows.next();
  yield 'id,author_id,text,flagged';
  try {
    let block: string[] = [];
    for (; !next.done; next = await rows.next()) {
      const m = next.value;
      block.push(`${m.messageId},${m.authorId},${csvField(m.text)},${m.flagged}`);
      if (block.length >= 1000) {
        yield block.join('\n');
        block = [];
      }
    }
    if (block.length > 0) yield block.join('\n');
  } finally {
    // The reader went away (a closed pipe): end the query early.
    if (!next.done) await rows.return?.();
  }
}

export const messagesCommand = defineCommand({
  name: 'messages',
  summary: 'list messages as CSV: id,author_id,text,flagged (the old flag_tool -i)',
  usage: 'minitwit messages [--flagged] [--database URL]',
  options: { flagged: { type: 'boolean' } },
  async run({ values, databaseUrl, lines }) {
    await withDomain(databaseUrl(), (domain) =>
      lines(csvLines(domain.listMessages({ flaggedOnly: values.flagged === true }))),
    );
    return 0;
  },
});
