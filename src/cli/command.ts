import type { Env } from '../config/env.js';
import { resolveDatabaseUrl } from './database.js';

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
}

/** What a command's `run` gets: typed option values and the database its flags name. */
export interface TypedContext<O extends OptionSpecs>
  extends CommandContext<OptionValues<O & typeof COMMON_OPTIONS>> {
  /**
   * The database the operator named: --database, else DATABASE_URL, else the default SQLite
   * file. Read on call, so a command that never touches data is not stopped by a bad one.
   */
  databaseUrl(): string;
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
  run(context: TypedContext<O>): Promise<number>;
}

/**
 * Declares a command: its options once, and a `run` that receives their values typed (string
 * options as strings, boolean ones as booleans) and `databaseUrl()`. A value of the wrong kind
 * (possible only when a caller bypasses parseArgs) is an error naming the option.
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
    run(context) {
      const values = typedValues(specs, context.values);
      const flag = typeof values.database === 'string' ? values.database : undefined;
      return definition.run({
        ...context,
        values: values as OptionValues<O & typeof COMMON_OPTIONS>,
        databaseUrl: () => resolveDatabaseUrl(flag, context.env ?? process.env),
      });
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
