import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely';
import { PREPARED_NAMES, prepare } from '../../src/db/prepared.js';
import type { Database } from '../../src/db/schema.js';

// A Kysely that only compiles (no connection): enough to see the SQL and the parameters.
const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

test('a prepared query binds each call its own values, in the compiled order, fixed values kept', () => {
  const q = prepare<{ name: string; limit: number }, unknown>(['name', 'limit'], (p) =>
    db
      .selectFrom('users')
      .select('user_id')
      .where('username', '=', p.name)
      .where('email', '<>', 'fixed@example.com')
      .limit(p.limit),
  );
  assert.match(q.sql, /"username" = \$1 and "email" <> \$2 limit \$3/);
  assert.deepEqual(q.bind({ name: 'alice', limit: 5 }).parameters, [
    'alice',
    'fixed@example.com',
    5,
  ]);
  assert.deepEqual(q.bind({ name: 'bob', limit: 9 }).parameters, ['bob', 'fixed@example.com', 9]);
  assert.equal(q.bind({ name: 'x', limit: 1 }).sql, q.sql, 'compiled once: the same text');
  assert.match(PREPARED_NAMES.get(q.sql) ?? '', /^minitwit_\d+$/, 'named for PostgreSQL');
});

test('a value used twice in a sql template is bound at both places', () => {
  const q = prepare<{ v: number }, unknown>(['v'], (p) => ({
    compile: () => sql`select ${p.v} as a, ${p.v} as b`.compile(db),
  }));
  assert.deepEqual(q.bind({ v: 7 }).parameters, [7, 7]);
});

test('a declared parameter the query never uses is a mistake caught at compile time', () => {
  assert.throws(
    () =>
      prepare<{ name: string; unused: number }, unknown>(['name', 'unused'], (p) =>
        db.selectFrom('users').select('user_id').where('username', '=', p.name),
      ),
    /parameter unused is not used/,
  );
});
