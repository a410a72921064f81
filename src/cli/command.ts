import type { ParseArgsConfig } from 'node:util';

export interface CommandContext {
  positionals: string[];
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** One `minitwit <name>` operator command. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options?: ParseArgsConfig['options'];
  /** Resolves to the process exit code. */
  run(context: CommandContext): Promise<number>;
}
