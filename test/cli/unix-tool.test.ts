/**
 * The operator CLI behaves like a Unix tool, on both databases: output into a pipe that closes
 * early ends quietly, a database named by mistake is refused and named (never created), and
 * long commands draw live bars on a terminal (a pseudo-terminal from util-linux `script`) but
 * write no control codes into a pipe.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/config/paths.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/databases.js';
import { missingCommands, needs } from '../helpers/prerequisites.js';
import { startServer } from '../helpers/server.js';

const BIN = join(packageRoot, 'bin/minitwit.js');
const run = promisify(execFile);

/**
 * A command line run by bash, so that pipes and redirections are real ones. Asynchronous: a
 * blocked event loop would starve the PostgreSQL half's connection check.
 */
async function shell(command: string, env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run('bash', ['-c', `set -o pipefail; ${command}`], {
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: '', ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
const minitwit = (args: string) => `${q(process.execPath)} ${q(BIN)} ${args}`;

forEachDatabase('the CLI as a Unix tool', (kind) => {
  let database: TestDatabase;
  let dir: string;
  before(async () => {
    database = await createTestDatabase(kind);
    dir = mkdtempSync(join(tmpdir(), 'minitwit-unix-'));
    // Well over a pipe's 64 KiB of messages, so a closed pipe is met while writing.
    const seed = await shell(
      minitwit(`seed --users 50 --messages 6000 --database ${q(database.url)}`),
    );
    assert.equal(seed.code, 0, seed.stderr);
  });
  after(async () => {
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('messages | head -3: three lines, exit 0, nothing on stderr', async () => {
    const run = await shell(`${minitwit(`messages --database ${q(database.url)}`)} | head -3`);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[0], 'id,author_id,text,flagged');
  });

  test('messages | wc -l: every message, through a reader slower than the writer', async () => {
    const run = await shell(
      `${minitwit(`messages --database ${q(database.url)}`)} | (sleep 1; wc -l)`,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), '6001');
  });

  test('a closed pipe under other commands is quiet too', async () => {
    const help = await shell(`${minitwit('--help')} | head -1`);
    assert.equal(help.code, 0);
    assert.equal(help.stderr, '');
    const flagged = await shell(
      `${minitwit(`messages --flagged --database ${q(database.url)}`)} | true`,
    );
    assert.equal(flagged.code, 0, flagged.stderr);
    assert.equal(flagged.stderr, '');
  });

  test('export draws a live bar on a terminal and writes no control codes into a pipe', async (t) => {
    if (!needs(t, 'script (util-linux)', missingCommands(['script']))) return;
    const file = join(dir, `${kind}.jsonl.gz`);
    const tty = await shell(
      `script -qfec ${q(minitwit(`export ${q(file)} --database ${q(database.url)}`))} /dev/null`,
    );
    assert.equal(tty.code, 0, tty.stdout);
    assert.match(
      tty.stdout,
      /export: export █+ 7,050 of 7,050 rows \(100%\), [\d,]+ rows\/s, .* spent ✓/,
    );
    assert.ok(tty.stdout.includes('\u001b['), 'terminal control codes');
    assert.match(tty.stdout, /exported .* to .*\.jsonl\.gz in \d+ ms/);
    rmSync(file);
    const pipe = await shell(
      `${minitwit(`export ${q(file)} --database ${q(database.url)}`)} 2>&1 | cat`,
    );
    assert.equal(pipe.code, 0, pipe.stdout);
    assert.ok(!pipe.stdout.includes('\u001b') && !pipe.stdout.includes('█'), pipe.stdout);
    assert.match(pipe.stdout, /^exported /m);
    // The import reads the total from the file's header.
    const target = `sqlite:${join(dir, `${kind}-imported.db`)}`;
    const imported = await shell(
      `script -qfec ${q(minitwit(`import ${q(file)} --database ${q(target)}`))} /dev/null`,
    );
    assert.equal(imported.code, 0, imported.stdout);
    assert.match(imported.stdout, /import: load █+ 7,050 of 7,050 rows \(100%\)/);
  });

  if (kind === 'postgres') {
    test('a PostgreSQL database that is missing, unreachable or empty is named', async () => {
      const missing = database.url.replace(/\/([^/]+)$/, '/minitwit_no_such_database');
      const run = await shell(minitwit(`messages --database ${q(missing)}`));
      assert.equal(run.code, 1);
      assert.equal(run.stdout, '', 'no CSV header before the error');
      assert.equal(
        run.stderr,
        `minitwit messages: cannot open ${missing}: database "minitwit_no_such_database" does not exist\n`,
      );
      const closed = await shell(minitwit(`flag 1 --database postgres://postgres@127.0.0.1:1/x`));
      assert.equal(closed.code, 1);
      assert.equal(
        closed.stderr,
        'minitwit flag: cannot open postgres://postgres@127.0.0.1:1/x: the database cannot be reached (connect ECONNREFUSED 127.0.0.1:1)\n',
      );
      const empty = await createTestDatabase('postgres');
      try {
        const bare = await shell(minitwit(`messages --database ${q(empty.url)}`));
        assert.equal(bare.code, 1);
        assert.equal(
          bare.stderr,
          `minitwit messages: ${empty.url} has no MiniTwit tables (relation "messages" does not exist): run \`minitwit migrate\` on it first\n`,
        );
      } finally {
        await empty.drop();
      }
    });
  } else {
    test('a SQLite file that is missing is refused and named, never created', async () => {
      const typo = join(dir, 'typo', 'minitwit.db');
      const url = `sqlite:${typo}`;
      for (const args of [
        `messages --database ${q(url)}`,
        `flag 1 --database ${q(url)}`,
        `unflag 1 --database ${q(url)}`,
        `backup --dir ${q(join(dir, 'backups'))} --database ${q(url)}`,
        `export ${q(join(dir, 'x.jsonl.gz'))} --database ${q(url)}`,
        `migrate-db --from ${q(url)} --to ${q(`sqlite:${join(dir, 'to.db')}`)}`,
        `migrate-db --unseal --from ${q(url)}`,
      ]) {
        const run = await shell(minitwit(args));
        const name = args.split(' ')[0];
        assert.equal(run.code, 1, args);
        assert.equal(run.stdout, '', args);
        assert.match(
          run.stderr,
          new RegExp(
            `^minitwit ${name}: no database at ${typo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(--(database|from)\\): check the path; \`minitwit migrate\` creates a new one\\n$`,
          ),
          args,
        );
      }
      assert.equal(existsSync(join(dir, 'typo')), false, 'no folder was made');
      assert.equal(existsSync(join(dir, 'to.db')), false, 'nor the target of a refused move');
      const viaEnv = await shell(minitwit('messages'), { DATABASE_URL: url });
      assert.equal(viaEnv.code, 1);
      assert.match(viaEnv.stderr, /no database at .* \(DATABASE_URL or its default\)/);
      // The commands that create databases still do.
      const created = await shell(minitwit(`migrate --database ${q(url)}`));
      assert.equal(created.code, 0, created.stderr);
      assert.ok(existsSync(typo));
    });

    test('the simulator draws a live bar on a terminal, and plain output in a pipe', async (t) => {
      if (!needs(t, 'script (util-linux)', missingCommands(['script']))) return;
      const server = await startServer('sqlite');
      try {
        const sim = `${q(process.execPath)} ${q(join(packageRoot, 'dist/src/sim/cli.js'))} ${q(server.apiUrl)} --lines 300 --timeout 5000`;
        const tty = await shell(`script -qfec ${q(sim)} /dev/null`);
        assert.equal(tty.code, 0, tty.stdout);
        assert.match(
          tty.stdout,
          /sim: replay █+ 300 of 300 actions \(100%\), [\d,]+ actions\/s, .* spent ✓/,
        );
        assert.match(tty.stdout, /^actions: 300\r?$/m);
        const pipe = await shell(
          `${sim.replace('--lines 300', '--lines 50 --namespace again-')} 2>&1 | cat`,
        );
        assert.equal(pipe.code, 0, pipe.stdout);
        assert.ok(!pipe.stdout.includes('\u001b') && !pipe.stdout.includes('█'), pipe.stdout);
        assert.match(pipe.stdout, /^actions: 50$/m);
      } finally {
        await server.close();
      }
    });

    test('a SQLite file that is empty or not a database is named', async () => {
      const empty = join(dir, 'empty.db');
      writeFileSync(empty, '');
      const bare = await shell(minitwit(`messages --database ${q(`sqlite:${empty}`)}`));
      assert.equal(bare.code, 1);
      assert.equal(
        bare.stderr,
        `minitwit messages: sqlite:${empty} has no MiniTwit tables (no such table: messages): run \`minitwit migrate\` on it first\n`,
      );
      const text = join(dir, 'notes.txt');
      writeFileSync(
        text,
        'not a database, but a long enough text file to be read as one\n'.repeat(20),
      );
      const wrong = await shell(minitwit(`messages --database ${q(`sqlite:${text}`)}`));
      assert.equal(wrong.code, 1);
      assert.equal(
        wrong.stderr,
        `minitwit messages: cannot open sqlite:${text}: file is not a database\n`,
      );
    });
  }
});
