import { existsSync } from 'node:fs';
import { checkDatabaseUrl, databaseUrlFrom } from '../config/config.js';
import type { Env } from '../config/env.js';
import { redactUrl, sqlitePath } from '../db/connect.js';

/**
 * The database an operator command works on: `flag` (--database) when given, else DATABASE_URL,
 * else DEFAULT_DATABASE_URL. Reads no other setting, so a variable only the server uses (a short
 * SESSION_SECRET, PORT=abc) never stops a command. Throws ConfigError, naming --database or
 * DATABASE_URL, when the URL is neither `sqlite:…` nor `postgres://…`.
 */
export function resolveDatabaseUrl(flag: string | undefined, env: Env = process.env): string {
  return flag ? checkDatabaseUrl(flag, '--database') : databaseUrlFrom(env);
}

/**
 * `url` when it names a database that exists; for a SQLite file that does not, an Error naming
 * the file and `source` (where the URL came from), instead of a new empty database made by
 * mistake. Only the commands that create databases (serve, migrate, seed, import, import-legacy,
 * restore, migrate-db --to) skip this. A PostgreSQL database is checked when it is opened.
 */
export function requireExistingDatabase(url: string, source: string): string {
  if (!url.startsWith('sqlite:')) return url;
  const path = sqlitePath(url);
  if (path === ':memory:' || existsSync(path)) return url;
  throw new Error(
    `no database at ${path} (${source}): check the path; \`minitwit migrate\` creates a new one`,
  );
}

/** Network error codes: the server named by a URL could not be reached at all. */
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Error codes that mean the database named by a URL could not be reached or opened. */
const UNREACHABLE = new Set([
  ...NETWORK,
  '3D000', // PostgreSQL: no such database
  '28P01', // PostgreSQL: wrong password
  '28000', // PostgreSQL: no such role, or refused by pg_hba.conf
  'SQLITE_CANTOPEN',
  'SQLITE_NOTADB',
]);

/** The text of an error, even of an AggregateError whose own message is empty. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  const inner = (error as AggregateError).errors;
  if (Array.isArray(inner) && inner.length > 0) return errorText(inner[0]);
  return (error as NodeJS.ErrnoException).code ?? error.name;
}

/** An error already worded for the operator (it names the database): printed as it is. */
export class DatabaseProblem extends Error {
  override name = 'DatabaseProblem';
}

/** `error` and its causes, outermost first. */
function chain(error: unknown): unknown[] {
  const errors: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && errors.length < 8; ) {
    errors.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return errors;
}

const codeOf = (error: unknown) => (error as { code?: unknown } | undefined)?.code;

/**
 * `error` reworded for the operator when it came from the database at `url`: one that cannot be
 * reached or opened (anywhere in its cause chain) is named with the driver's own reason, and one
 * without MiniTwit's tables says to run `minitwit migrate`. Both come back as DatabaseProblem;
 * anything else is returned unchanged.
 */
export function explainDatabaseError(error: unknown, url: string): unknown {
  if (error instanceof DatabaseProblem) return error;
  const where = redactUrl(url);
  const errors = chain(error);
  const reason = errors.find((e) => {
    const code = codeOf(e);
    return typeof code === 'string' && UNREACHABLE.has(code);
  });
  if (reason !== undefined || error instanceof AggregateError) {
    const text = errorText(reason ?? error);
    const network = reason === undefined || NETWORK.has(codeOf(reason) as string);
    const said = network ? `the database cannot be reached (${text})` : text;
    return new DatabaseProblem(`cannot open ${where}: ${said}`, { cause: error });
  }
  const missing = errors.find(
    (e) => codeOf(e) === '42P01' || /^no such table: /.test(errorText(e)),
  );
  if (missing !== undefined) {
    return new DatabaseProblem(
      `${where} has no MiniTwit tables (${errorText(missing)}): run \`minitwit migrate\` on it first`,
      { cause: error },
    );
  }
  return error;
}
