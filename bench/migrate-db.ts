/**
 * migrate-db under load: builds a SQLite database of a given size (users, messages, follows),
 * serves it with a real `minitwit serve` child process, keeps a simulator-style writer posting
 * against it, and moves it to a new PostgreSQL database with `migrateDatabase`. Prints rows
 * moved, time taken, the write pause (as measured by migrate-db and as seen by the writer) and
 * the pause as a share of the whole move.
 *
 *   npm run build && node dist/bench/migrate-db.js --messages 11306    # scenario-sized
 *   npm run build && node dist/bench/migrate-db.js --messages 1000000  # 1 M messages
 *   node dist/bench/migrate-db.js --messages 1000000 --build-only /tmp/1m.db   # just the database
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrateDatabase } from '../src/dataops/migrate-db.js';
import { countAll, insertRows, type Row } from '../src/dataops/transfer.js';
import { openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrations.js';
import { send } from '../src/sim/http.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '11306' },
    users: { type: 'string', default: '200' },
    follows: { type: 'string', default: '5086' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    /** Only build the source database at this path (for other measurements) and stop. */
    'build-only': { type: 'string' },
  },
});
const MESSAGES = Number(values.messages);
const USERS = Number(values.users);
const FOLLOWS = Number(values.follows);

const WORDS =
  'the a of and to in is was it for on that with as his he at by be this from had not or but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know'.split(
    ' ',
  );

/** mulberry32: a small deterministic generator in 32-bit integer arithmetic. */
let seed = 42;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)] as T;

async function makeDatabase(url: string) {
  const handle = openDatabase(url);
  await migrateToLatest(handle.db, handle.dialect);
  let rows: Row[] = [];
  for (let id = 1; id <= USERS; id++) {
    rows.push({
      user_id: id,
      username: `Bench User ${id}`,
      email: `bench${id}@example.com`,
      pw_hash: `$argon2id$v=19$m=19456,t=2,p=1$${randomBytes(16).toString('base64')}`,
    });
  }
  await insertRows(handle.db, 'users', rows);
  const pairs = new Set<string>();
  while (pairs.size < Math.min(FOLLOWS, USERS * (USERS - 1))) {
    const who = 1 + Math.floor(random() * USERS);
    const whom = 1 + Math.floor(random() * USERS);
    if (who !== whom) pairs.add(`${who},${whom}`);
  }
  await insertRows(
    handle.db,
    'followers',
    [...pairs].map((p) => {
      const [who_id, whom_id] = p.split(',').map(Number) as [number, number];
      return { who_id, whom_id };
    }),
  );
  const start = 1_600_000_000;
  for (let id = 1; id <= MESSAGES; id += rows.length) {
    rows = [];
    for (let i = id; i < id + 10_000 && i <= MESSAGES; i++) {
      const words = Array.from({ length: 6 + Math.floor(random() * 12) }, () => pick(WORDS));
      rows.push({
        message_id: i,
        author_id: 1 + Math.floor(random() * USERS),
        text: words.join(' '),
        pub_date: start + i,
        flagged: random() < 0.001 ? 1 : 0,
      });
    }
    await handle.db.transaction().execute((trx) => insertRows(trx, 'messages', rows));
  }
  await handle.db.insertInto('settings').values({ name: 'latest', value: 25921 }).execute();
  const counts = await countAll(handle.db);
  await handle.close();
  return counts;
}

async function waitForApi(url: string) {
  for (let i = 0; i < 200; i++) {
    const r = await send(url, 'GET', '/healthz', undefined, { timeoutMs: 1000 });
    if (r.kind === 'status' && r.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not start');
}

async function main() {
  if (values['build-only']) {
    console.log(JSON.stringify(await makeDatabase(`sqlite:${values['build-only']}`)));
    return;
  }
  const name = `minitwit_dataops_bench_${randomBytes(4).toString('hex')}`;
  const sqliteFile = join(tmpdir(), `${name}.db`);
  const admin = new pg.Client({ connectionString: values.postgres });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const targetUrl = new URL(values.postgres as string);
  targetUrl.pathname = `/${name}`;
  let server: ChildProcess | undefined;
  try {
    let t = performance.now();
    const counts = await makeDatabase(`sqlite:${sqliteFile}`);
    console.log(
      `source: ${JSON.stringify(counts)} built in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    const apiPort = 20000 + Math.floor(Math.random() * 20000);
    server = spawn(process.execPath, ['bin/minitwit.js', 'serve'], {
      env: {
        ...process.env,
        DATABASE_URL: `sqlite:${sqliteFile}`,
        PORT: '0',
        API_PORT: String(apiPort),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        SESSION_SECRET: 'bench-secret-bench-secret-bench-secret-0',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const api = `http://127.0.0.1:${apiPort}`;
    await waitForApi(api);

    // A writer like the simulator: one tweet after another until the target is ready.
    let ready = false;
    let readyAt = 0;
    let firstRefusal = 0;
    let acked = 0;
    let refused = 0;
    let other = 0;
    const writer = (async () => {
      for (let i = 0; !ready && i < 1_000_000; i++) {
        const r = await send(
          api,
          'POST',
          `/msgs/${encodeURIComponent(`Bench User ${1 + (i % USERS)}`)}?latest=${30000 + i}`,
          { content: `written during the move ${i}` },
          { timeoutMs: 5000 },
        );
        if (r.kind === 'status' && r.status === 204) acked++;
        else if (r.kind === 'status' && r.status === 503) {
          refused++;
          firstRefusal ||= performance.now();
          await new Promise((res) => setTimeout(res, 5));
        } else {
          other++;
          console.error(`  writer: unexpected ${JSON.stringify(r).slice(0, 300)}`);
        }
      }
    })();

    t = performance.now();
    const result = await migrateDatabase({
      from: `sqlite:${sqliteFile}`,
      to: targetUrl.toString(),
      log: (line) => console.error(`  ${line}`),
      onReady: () => {
        ready = true;
        readyAt = performance.now();
      },
    });
    const wall = performance.now() - t;
    await writer;

    const target = openDatabase(targetUrl.toString());
    const moved = await countAll(target.db);
    await target.close();
    const lost = counts.messages + acked - moved.messages;

    const total = Object.values(moved).reduce((a, n) => a + n, 0);
    console.log(`rows in the target: ${total.toLocaleString('en')} ${JSON.stringify(moved)}`);
    console.log(`rows moved (all passes): ${result.rowsMoved.toLocaleString('en')}`);
    console.log(
      `time: ${(wall / 1000).toFixed(2)} s, ${Math.round(result.rowsMoved / (wall / 1000)).toLocaleString('en')} rows/s`,
    );
    for (const p of result.passes) {
      console.log(`  ${p.phase}: ${p.rows.toLocaleString('en')} rows in ${Math.round(p.ms)} ms`);
    }
    console.log(`write pause (migrate-db): ${Math.round(result.pauseMs)} ms`);
    console.log(
      `write pause seen by the writer (first 503 to ready): ${firstRefusal ? Math.round(readyAt - firstRefusal) : 0} ms`,
    );
    console.log(`pause / whole move: ${(result.pauseMs / wall).toFixed(4)}`);
    console.log(
      `writer during the move: ${acked} acknowledged, ${refused} refused with 503, ${other} other; acknowledged but missing in the target: ${lost}`,
    );
    if (lost !== 0 || other !== 0) process.exitCode = 1;
  } finally {
    server?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    for (const s of ['', '-wal', '-shm']) rmSync(`${sqliteFile}${s}`, { force: true });
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

await main();
