import type { Env } from '../config/env.js';
import { type ProgressDisplay, progressDisplay } from '../terminal/progress.js';
import { explainDatabaseError, requireExistingDatabase, resolveDatabaseUrl } from './database.js';

/** How an option is given: `--name value` (string) or a bare `--name` (boolean). */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}
export type OptionSpecs = Record<string, OptionSpec>;

/** The values of declared options: a string or a boolean as declared, undefined when absent. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean;
};

/** Options every command takes; main.ts adds them to each command's own. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  database: { type: 'string' },
} as const satisfies OptionSpecs;

/** Option values as node:util parseArgs (or a test) hands them over, before they are typed. */
export type RawValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandContext<Values = RawValues> {
  positionals: string[];
  values: Values;
  /** A line of results (stdout). */
  out: (line: string) => void;
  /** A line of progress, warnings and errors (stderr). */
  err: (line: string) => void;
  /** The environment DATABASE_URL is read from; process.env when not given. */
  env?: Env;
  /** A terminal to draw live progress bars on (main.ts: stderr); plain lines through `err` else. */
  terminal?: NodeJS.WriteStream;
  /**
   * Writes result lines as the reader takes them and stops quietly once it has gone (main.ts:
   * stdout, see output.ts); when absent, each line goes through `out`.
   */
  write?: (lines: AsyncIterable<string>) => Promise<void>;
}

/** What a command's `run` gets: typed option values and the database its flags name. */
export interface TypedContext<O extends OptionSpecs>
  extends CommandContext<OptionValues<O & typeof COMMON_OPTIONS>> {
  /**
   * The database the operator named: --database, else DATABASE_URL, else the default SQLite
   * file. Read on call, so a command that never touches data is not stopped by a bad one.
   */
  databaseUrl(): string;
  /**
   * The run's progress display (made on first use, stopped when the command returns or throws):
   * live bars on a terminal, periodic lines on `err` otherwise. While it exists, `err` lines are
   * printed through it, so they never tear a bar.
   */
  progress(): ProgressDisplay;
  /** Result lines with backpressure: `write`, or `out` line by line. */
  lines(source: AsyncIterable<string>): Promise<void>;
}

/** One `minitwit <name>` operator command, as main.ts dispatches it. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpecs;
  /** Resolves to the process exit code; a thrown error is exit code 1 with its message. */
  run(context: CommandContext): Promise<number>;
}

export interface CommandDefinition<O extends OptionSpecs> {
  name: string;
  summary: string;
  usage: string;
  /** The command's own options (COMMON_OPTIONS come with every command). */
  options?: O;
  /**
   * True for a command that may create the database it names (serve, migrate, seed, import,
   * import-legacy, restore). For every other one, `databaseUrl()` refuses a SQLite file that does
   * not exist, naming it, instead of quietly making an empty database.
   */
  createsDatabase?: boolean;
  run(context: TypedContext<O>): Promise<number>;
}

/**
 * Declares a command: its options once, and a `run` that receives their values typed (string
 * options as strings, boolean ones as booleans), `databaseUrl()`, `progress()` and `lines()`.
 * A value of the wrong kind (possible only when a caller bypasses parseArgs) is an error naming
 * the option. An error from the database the command named is reworded to name it
 * (explainDatabaseError).
 */
export function defineCommand<const O extends OptionSpecs = Record<never, never>>(
  definition: CommandDefinition<O>,
): Command {
  const options = definition.options ?? ({} as O);
  const specs: OptionSpecs = { ...COMMON_OPTIONS, ...options };
  return {
    name: definition.name,
    summary: definition.summary,
    usage: definition.usage,
    options,
    async run(context) {
      const values = typedValues(specs, context.values);
      const flag = typeof values.database === 'string' ? values.database : undefined;
      let display: ProgressDisplay | undefined;
      let url: string | undefined;
      const err = (line: string) => (display ? display.log(line) : context.err(line));
      // Results come after progress: the display ends (its last lines stay) before the first.
      const out = (line: string) => {
        display?.stop();
        display = undefined;
        context.out(line);
      };
      try {
        return await definition.run({
          ...context,
          out,
          err,
          values: values as OptionValues<O & typeof COMMON_OPTIONS>,
          databaseUrl: () => {
            url = resolveDatabaseUrl(flag, context.env ?? process.env);
            if (!definition.createsDatabase) {
              requireExistingDatabase(url, flag ? '--database' : 'DATABASE_URL or its default');
            }
            return url;
          },
          progress: () => {
            display ??= progressDisplay({
              label: definition.name,
              err: context.err,
              terminal: context.terminal,
            });
            return display;
          },
          lines: async (source) => {
            if (context.write) return context.write(source);
            for await (const line of source) context.out(line);
          },
        });
      } catch (error) {
        throw url === undefined ? error : explainDatabaseError(error, url);
      } finally {
        display?.stop();
      }
    },
  };
}

function typedValues(specs: OptionSpecs, raw: RawValues): Record<string, string | boolean> {
  const values: Record<string, string | boolean> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value !== spec.type) {
      throw new Error(`--${name} ${spec.type === 'string' ? 'needs a value' : 'takes no value'}`);
    }
    values[name] = value as string | boolean;
  }
  return values;
}

/** The one file a command takes as its argument; `what` names it in the error otherwise. */
export function onlyFile(positionals: string[], what: string): string {
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new Error(`give exactly one ${what}`);
  return file;
}
