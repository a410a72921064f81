import { checkDatabaseUrl, databaseUrlFrom } from '../config/config.js';
import type { Env } from '../config/env.js';

/**
 * The database an operator command works on: `flag` (--database) when given, else DATABASE_URL,
 * else DEFAULT_DATABASE_URL. Reads no other setting, so a variable only the server uses (a short
 * SESSION_SECRET, PORT=abc) never stops a command. Throws ConfigError, naming --database or
 * DATABASE_URL, when the URL is neither `sqlite:…` nor `postgres://…`.
 */
export function resolveDatabaseUrl(flag: string | undefined, env: Env = process.env): string {
  return flag ? checkDatabaseUrl(flag, '--database') : databaseUrlFrom(env);
}
