import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import pg from 'pg';
import { requirePrerequisite } from './prerequisites.js';

export type DatabaseKind = 'sqlite' | 'postgres';

/** The server that test databases are created on. */
export const POSTGRES_ADMIN_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  kind: DatabaseKind;
  url: string;
  drop(): Promise<void>;
}

let reachable: Promise<string | undefined> | undefined;

/** Undefined when PostgreSQL answers, otherwise why it does not (naming the server tried). */
export function postgresProblem(): Promise<string | undefined> {
  reachable ??= (async () => {
    const client = new pg.Client({
      connectionString: POSTGRES_ADMIN_URL,
      connectionTimeoutMillis: 3000,
    });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return `not reachable at ${POSTGRES_ADMIN_URL}: ${reason}`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachable;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database of the given kind, and a way to throw it away. */
export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  const name = `minitwit_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (kind === 'sqlite') {
    const path = join(tmpdir(), `${name}.db`);
    return {
      kind,
      url: `sqlite:${path}`,
      async drop() {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
      },
    };
  }
  await admin((c) => c.query(`create database ${name}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    async drop() {
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/**
 * Declares the same suite once per database. When PostgreSQL cannot be reached the PostgreSQL
 * half says so loudly, by the one prerequisite rule (prerequisites.ts): a failing test under
 * CI=true, a skipped test with the reason otherwise.
 */
export function forEachDatabase(title: string, suite: (kind: DatabaseKind) => void) {
  describe(`${title} [sqlite]`, () => suite('sqlite'));
  describe(`${title} [postgres]`, async () => {
    const problem = await postgresProblem();
    if (requirePrerequisite('PostgreSQL', problem, `"${title}" on PostgreSQL`)) suite('postgres');
  });
}
