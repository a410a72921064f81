// What the benchmarks share about their databases: the PostgreSQL server they make databases
// on, and seeding one through `minitwit seed`.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import pg from 'pg';
import { packageRoot } from '../src/config/paths.js';

export type Kind = 'sqlite' | 'postgres';

/** The server benchmarks create their PostgreSQL databases on (BENCH_POSTGRES_URL). */
export const ADMIN =
  process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs one statement on ADMIN over a connection of its own (CREATE/DROP DATABASE, lookups). */
export async function admin(query: string) {
  const client = new pg.Client({ connectionString: ADMIN });
  await client.connect();
  try {
    return await client.query(query);
  } finally {
    await client.end();
  }
}

/** The URL of database `name` on ADMIN's server. */
export function pgUrl(name: string): string {
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Seeds `url` (an empty, migrated or new database) with `want` through `minitwit seed` (which
 * runs ANALYZE) of the checkout at `root` (this one by default; another build migrates its own).
 */
export function seed(
  url: string,
  want: { users: number; messages: number; follows: number },
  root = packageRoot,
) {
  execFileSync(
    process.execPath,
    [
      resolve(root, 'bin/minitwit.js'),
      'seed',
      '--database',
      url,
      '--users',
      String(want.users),
      '--messages',
      String(want.messages),
      '--follows',
      String(want.follows),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

/** One line of a benchmark's result table: req/s and latencies (ms) of one piece of work. */
export interface BenchRow {
  phase: string;
  database: string;
  what: string;
  rps?: number;
  p50?: number;
  p99?: number;
  ratio?: number;
  errors: number;
  note?: string;
}
