import { parseArgs } from 'node:util';
import { operatorMessage } from '../http/database-faults.js';
import { COMMON_OPTIONS, type Command } from './command.js';
import { backupCommand } from './commands/backup.js';
import { checkCommand } from './commands/check.js';
import { checkNamesCommand } from './commands/check-names.js';
import { exportCommand } from './commands/export.js';
import { flagCommands } from './commands/flag.js';
import { importCommand } from './commands/import.js';
import { importLegacyCommand } from './commands/import-legacy.js';
import { messagesCommand } from './commands/messages.js';
import { migrateCommand } from './commands/migrate.js';
import { migrateDbCommand } from './commands/migrate-db.js';
import { restoreCommand } from './commands/restore.js';
import { seedCommand } from './commands/seed.js';
import { serveCommand } from './commands/serve.js';
import { DatabaseProblem, errorText } from './database.js';
import { Output } from './output.js';

/** Every operator command; later features add theirs here. */
export const commands: Command[] = [
  serveCommand,
  migrateCommand,
  messagesCommand,
  ...flagCommands,
  // Data operations (docs/data-operations.md).
  backupCommand,
  restoreCommand,
  exportCommand,
  importCommand,
  importLegacyCommand,
  checkNamesCommand,
  migrateDbCommand,
  // Benchmark data (docs/performance.md).
  seedCommand,
  // Conformance with the course's contract, of this or any MiniTwit (docs/simulator.md).
  checkCommand,
];

function help(out: (line: string) => void) {
  out('usage: minitwit <command> [options]\n\ncommands:');
  for (const c of commands) out(`  ${c.name.padEnd(16)}${c.summary}`);
  out('\nEvery command that touches data takes --database URL (default: DATABASE_URL).');
  out('Run `minitwit <command> --help` for its usage.');
}

const stdout = new Output(process.stdout);
const stderr = new Output(process.stderr);

export async function main(argv: string[]): Promise<number> {
  const out = (line: string) => stdout.line(line);
  const err = (line: string) => stderr.line(line);
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    help(out);
    return name === undefined ? 1 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    err(`minitwit: unknown command "${name}"`);
    help(err);
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { ...COMMON_OPTIONS, ...command.options },
    });
    if (values.help) {
      out(`usage: ${command.usage}\n\n${command.summary}`);
      return 0;
    }
    return await command.run({
      values,
      positionals,
      out,
      err,
      terminal: process.stderr,
      write: (lines) => stdout.lines(lines),
    });
  } catch (error) {
    // A database problem the command already worded names the database; anything else from the
    // database gets the condition in words first (http/database-faults.ts).
    const text =
      error instanceof DatabaseProblem ? error.message : operatorMessage(error, errorText(error));
    err(`minitwit ${name}: ${text}`);
    return 1;
  }
}

let code = await main(process.argv.slice(2));
if (stdout.failure) {
  stderr.line(`minitwit: cannot write the output: ${stdout.failure.message}`);
  code = 1;
}
// A reader that went away (`| head`) ends the output early; that is not a failure.
process.exitCode = code;
