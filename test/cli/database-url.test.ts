import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { resolveDatabaseUrl } from '../../src/cli/database.js';
import { DEFAULT_DATABASE_URL } from '../../src/config/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

const run = promisify(execFile);

/** Settings only the server reads, each unusable: none of them may stop an operator command. */
const BAD_SERVER_SETTINGS = { SESSION_SECRET: 'short', PORT: 'abc', WORKERS: '0' };

async function minitwit(args: string[], env: Record<string, string>) {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/minitwit.js', ...args], {
      env: { ...base, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('resolveDatabaseUrl: --database, else DATABASE_URL, else the default; nothing else read', () => {
  const env = { ...BAD_SERVER_SETTINGS, DATABASE_URL: 'postgres://db/minitwit' };
  assert.equal(resolveDatabaseUrl('sqlite:/tmp/a.db', env), 'sqlite:/tmp/a.db');
  assert.equal(resolveDatabaseUrl(undefined, env), 'postgres://db/minitwit');
  assert.equal(resolveDatabaseUrl('', env), 'postgres://db/minitwit');
  assert.equal(resolveDatabaseUrl(undefined, BAD_SERVER_SETTINGS), DEFAULT_DATABASE_URL);
  assert.equal(DEFAULT_DATABASE_URL, 'sqlite:./data/minitwit.db');
  assert.throws(
    () => resolveDatabaseUrl(undefined, { DATABASE_URL: 'mysql://db/minitwit' }),
    /^ConfigError: DATABASE_URL must start with sqlite: or postgres:\/\/$/,
  );
  assert.throws(
    () => resolveDatabaseUrl('minitwit.db', {}),
    /^ConfigError: --database must start with sqlite: or postgres:\/\/$/,
  );
});

test('minitwit commands work with server settings that would stop the server', async (t) => {
  let database: TestDatabase | undefined;
  let dir = '';
  t.after(async () => {
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  database = await createTestDatabase('sqlite');
  dir = mkdtempSync(join(tmpdir(), 'minitwit-cli-env-'));
  const url = database.url;
  const ways = [
    { how: '--database', args: ['--database', url], env: BAD_SERVER_SETTINGS },
    { how: 'DATABASE_URL', args: [], env: { ...BAD_SERVER_SETTINGS, DATABASE_URL: url } },
  ];
  for (const { how, args, env } of ways) {
    const migrate = await minitwit(['migrate', ...args], env);
    assert.equal(migrate.code, 0, `migrate with ${how}: ${migrate.stderr}`);
    const messages = await minitwit(['messages', ...args], env);
    assert.equal(messages.code, 0, `messages with ${how}: ${messages.stderr}`);
    assert.equal(messages.stdout, 'id,author_id,text,flagged\n');
    const backup = await minitwit(['backup', '--dir', dir, ...args], env);
    assert.equal(backup.code, 0, `backup with ${how}: ${backup.stderr}`);
    assert.match(backup.stdout, /^backup written and verified: /);
  }
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.sqlite')).length, 2);

  // --database names the database: DATABASE_URL is not read at all then.
  const flagWins = await minitwit(['messages', '--database', url], {
    DATABASE_URL: 'mysql://nowhere',
  });
  assert.equal(flagWins.code, 0, flagWins.stderr);
});

test('a bad DATABASE_URL or --database is a clear error, exit code 1', async () => {
  for (const command of ['messages', 'backup', 'migrate']) {
    const badEnv = await minitwit([command], { DATABASE_URL: 'mysql://db/minitwit' });
    assert.equal(badEnv.code, 1, command);
    assert.equal(
      badEnv.stderr,
      `minitwit ${command}: DATABASE_URL must start with sqlite: or postgres://\n`,
    );
    const badFlag = await minitwit([command, '--database', 'minitwit.db'], {});
    assert.equal(badFlag.code, 1, command);
    assert.equal(
      badFlag.stderr,
      `minitwit ${command}: --database must start with sqlite: or postgres://\n`,
    );
  }
});
