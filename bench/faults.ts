/**
 * What a client sees while the database fails, measured on running `minitwit serve` processes,
 * side by side for several builds (say the code before and after a change):
 *
 *   npm run build && node dist/bench/faults.js                         # this build only
 *   node dist/bench/faults.js --build before=/tmp/minitwit-before --build after=.
 *
 * A build is a directory with bin/minitwit.js and its dist/ built (a `git archive` of another
 * commit with node_modules linked in, then `npx tsc`). Faults, each under simulator-style load
 * (8 clients posting with ?latest=, reading /msgs and /latest):
 *
 *   pg-refuse   PostgreSQL refuses connections (and open ones are cut) for --outage seconds
 *   pg-stall    PostgreSQL accepts connections and never answers, for 10 s
 *   pg-cut      pg_terminate_backend of the app's connections, 5 times
 *   sqlite-lock another connection holds SQLite's write lock for 3 s
 *   sqlite-full SQLite on a tmpfs that fills up (needs root for mount)
 *   sqlite-damaged  a damaged index page in the SQLite file
 *   pg-range    ids and cursors beyond PostgreSQL's integer
 *
 * Prints, per fault and build: statuses, time to answer (median / p99 / max), requests failed,
 * the process' log bytes (and per failed request) and whether the process lived. The figures
 * depend on the machine and its load; compare builds measured in the same run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { packageRoot } from '../src/config/paths.js';
import { SIM_HEADERS } from '../test/helpers/clients.js';
import { FaultLoad, type Outcome, statusCounts } from '../test/helpers/fault-load.js';
import { FaultProxy } from '../test/helpers/fault-proxy.js';
import { freePort } from './server.js';

const { values } = parseArgs({
  options: {
    build: { type: 'string', multiple: true },
    outage: { type: 'string', default: '20' },
    faults: { type: 'string' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const OUTAGE_S = Number(values.outage);
const ADMIN = values.postgres ?? '';
const builds = (values.build ?? [`after=${packageRoot}`]).map((spec) => {
  const [name = '', dir = ''] = spec.split('=');
  return { name, dir: resolve(dir) };
});
const ALL = [
  'pg-refuse',
  'pg-stall',
  'pg-cut',
  'sqlite-lock',
  'sqlite-full',
  'sqlite-damaged',
  'pg-range',
] as const;
type Fault = (typeof ALL)[number];
const chosen = (values.faults?.split(',') ?? [...ALL]) as Fault[];
const log = (line: string) => process.stderr.write(`[faults] ${line}\n`);

// ---- servers and databases -----------------------------------------------------------------

/** What a process has logged so far: bytes of request lines, of other lines, and stacks. */
interface LogVolume {
  requestBytes: number;
  otherBytes: number;
  stacks: number;
}

interface Serve {
  proc: ChildProcess;
  apiUrl: string;
  webUrl: string;
  logs: () => LogVolume;
  alive: () => boolean;
  stop: () => Promise<void>;
}

/** Starts `minitwit serve` from `dir`; resolves once `probe` (/readyz by default) answers 200. */
async function serve(
  dir: string,
  env: Record<string, string>,
  probe: '/readyz' | '/healthz' = '/readyz',
): Promise<Serve> {
  const [port, apiPort] = [await freePort(), await freePort()];
  const proc = spawn(process.execPath, [join(dir, 'bin/minitwit.js'), 'serve'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      API_PORT: String(apiPort),
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      SESSION_SECRET: 'bench-secret-bench-secret-bench-secret-0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const volume: LogVolume = { requestBytes: 0, otherBytes: 0, stacks: 0 };
  let partial = '';
  let tail = '';
  const count = (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const bytes = Buffer.byteLength(line) + 1;
      if (line.includes('"msg":"request"')) volume.requestBytes += bytes;
      else volume.otherBytes += bytes;
      if (line.includes('"stack"') || /^\s+at /.test(line)) volume.stacks++;
    }
    tail = (tail + text).slice(-3000);
  };
  proc.stdout?.on('data', count);
  proc.stderr?.on('data', count);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const until = Date.now() + 60_000;
  for (;;) {
    if (!alive()) throw new Error(`the server exited:\n${tail}`);
    const ok = await fetch(`${apiUrl}${probe}`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > until) throw new Error(`the server did not become ready:\n${tail}`);
    await sleep(100);
  }
  return {
    proc,
    apiUrl,
    webUrl: `http://127.0.0.1:${port}`,
    logs: () => ({ ...volume }),
    alive,
    async stop() {
      if (!alive()) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function admin(query: string, parameters: unknown[] = []) {
  const client = new pg.Client({ connectionString: ADMIN });
  await client.connect();
  try {
    return await client.query(query, parameters);
  } finally {
    await client.end();
  }
}

async function pgDatabase() {
  const name = `minitwit_bench_faults_${randomBytes(4).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => void (await admin(`drop database if exists ${name} with (force)`)),
  };
}

function sqliteFile(dir = tmpdir()) {
  const path = join(dir, `minitwit-bench-faults-${randomBytes(4).toString('hex')}.db`);
  return {
    path,
    url: `sqlite:${path}`,
    drop: () => {
      for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
    },
  };
}

async function register(apiUrl: string, user: string) {
  const res = await fetch(`${apiUrl}/register`, {
    method: 'POST',
    headers: SIM_HEADERS,
    body: JSON.stringify({ username: user, email: `${user}@example.com`, pwd: 'secret' }),
  });
  if (res.status !== 204) throw new Error(`register ${user}: ${res.status}`);
}

// ---- figures --------------------------------------------------------------------------------

type Row = Record<string, string>;

function quantile(sorted: number[], q: number) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const ms = (n: number) =>
  Number.isNaN(n) ? '–' : n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`;
const kb = (n: number) => (n < 10_000 ? `${n} B` : `${(n / 1024).toFixed(0)} kB`);

/** The outcomes of a fault window as table cells. */
function summary(outcomes: Outcome[]): Row {
  const failed = outcomes.filter((o) => o.status !== 200 && o.status !== 204);
  const times = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const failedTimes = failed.map((o) => o.ms).sort((a, b) => a - b);
  return {
    requests: String(outcomes.length),
    statuses: JSON.stringify(statusCounts(outcomes)).replace(/"/g, ''),
    failed: String(failed.length),
    'answer median / p99 / max': `${ms(quantile(times, 0.5))} / ${ms(quantile(times, 0.99))} / ${ms(times.at(-1) ?? Number.NaN)}`,
    'failed: median / max': `${ms(quantile(failedTimes, 0.5))} / ${ms(failedTimes.at(-1) ?? Number.NaN)}`,
    'with Retry-After': String(failed.filter((o) => o.retryAfter !== null).length),
  };
}

/** The log volume between two readings, in total and per failed request. */
function logFigures(server: Serve, before: LogVolume, after: LogVolume, failed: number): Row {
  const requests = after.requestBytes - before.requestBytes;
  const other = after.otherBytes - before.otherBytes;
  const per = (n: number) => (failed ? `${Math.round(n / failed)} B` : '–');
  return {
    'log bytes (all lines)': kb(requests + other),
    'log bytes / failed request': per(requests + other),
    'of which: beyond the one line per request': `${kb(other)} (${per(other)} per failed request)`,
    'lines with a stack': String(after.stacks - before.stacks),
    'process lived': server.alive() ? 'yes' : 'NO',
  };
}

async function timeToReady(apiUrl: string, limitMs = 60_000): Promise<string> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const ok = await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return ms(performance.now() - started);
    await sleep(50);
  }
  return `not within ${limitMs / 1000} s`;
}

async function readyzDuring(apiUrl: string): Promise<string> {
  try {
    const res = await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { checks?: { database?: string } };
    return `${res.status} ${(body.checks?.database ?? '').slice(0, 90)}`;
  } catch (error) {
    return `no answer (${error instanceof Error ? error.message : String(error)})`;
  }
}

// ---- the faults -----------------------------------------------------------------------------

const LOAD = { concurrency: 8, user: 'bench', timeoutMs: 15_000 };

async function pgOutage(dir: string, mode: 'refuse' | 'stall', seconds: number): Promise<Row> {
  const database = await pgDatabase();
  const admin = new URL(ADMIN);
  const proxy = await FaultProxy.start({ host: admin.hostname, port: Number(admin.port || 5432) });
  const server = await serve(dir, { DATABASE_URL: proxy.url(database.url) });
  try {
    await register(server.apiUrl, LOAD.user);
    // Warm (the pool holds connections), then the fault begins between requests: the idle
    // connections are cut (as a restart of PostgreSQL does) and new ones refused or stalled.
    // Cutting connections in use is pg-cut's business (it ended the old build's process).
    const warm = new FaultLoad(server.apiUrl, LOAD).start();
    await sleep(1000);
    await warm.stop();
    await proxy.setMode(mode);
    proxy.cut();
    await sleep(100);
    const logs0 = server.logs();
    const from = Date.now();
    const load = new FaultLoad(server.apiUrl, LOAD).start();
    await sleep(1000);
    const readyz = await readyzDuring(server.apiUrl);
    await sleep(seconds * 1000 - 1000);
    const to = Date.now();
    const logs1 = server.logs();
    await proxy.setMode('pass');
    const recovery = await timeToReady(server.apiUrl);
    await sleep(500);
    await load.stop();
    const during = load.between(from, to);
    const failed = during.filter((o) => o.status !== 200 && o.status !== 204).length;
    const figures = logFigures(server, logs0, logs1, failed);
    return {
      ...summary(during),
      'after the fault (until stop)': JSON.stringify(statusCounts(load.between(to))).replace(
        /"/g,
        '',
      ),
      '/readyz during': readyz,
      'ready again after': recovery,
      ...figures,
    };
  } finally {
    await server.stop();
    await proxy.close();
    await database.drop();
  }
}

async function pgCut(dir: string): Promise<Row> {
  const database = await pgDatabase();
  const server = await serve(dir, { DATABASE_URL: database.url });
  try {
    await register(server.apiUrl, LOAD.user);
    const load = new FaultLoad(server.apiUrl, LOAD).start();
    await sleep(1000);
    const logs0 = server.logs();
    const from = Date.now();
    let terminated = 0;
    for (let i = 0; i < 5; i++) {
      const res = await admin(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [database.name],
      );
      terminated += res.rowCount ?? 0;
      await sleep(400);
    }
    await sleep(2000);
    await load.stop();
    const during = load.between(from);
    const failed = during.filter((o) => o.status !== 200 && o.status !== 204).length;
    return {
      'backends terminated': String(terminated),
      ...summary(during),
      ...logFigures(server, logs0, server.logs(), failed),
    };
  } finally {
    await server.stop();
    await database.drop();
  }
}

async function sqliteLock(dir: string): Promise<Row> {
  const file = sqliteFile();
  const server = await serve(dir, { DATABASE_URL: file.url });
  try {
    await register(server.apiUrl, LOAD.user);
    const load = new FaultLoad(server.apiUrl, { ...LOAD, concurrency: 4 }).start();
    await sleep(500);
    const logs0 = server.logs();
    const other = new SQLite(file.path);
    const from = Date.now();
    other.exec('BEGIN IMMEDIATE');
    // Probes while the lock is held: health and a read, each timed.
    const probes: Record<string, number[]> = { '/healthz': [], 'GET /latest': [] };
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      for (const [name, path] of [
        ['/healthz', '/healthz'],
        ['GET /latest', '/latest'],
      ] as const) {
        const started = performance.now();
        await fetch(`${server.apiUrl}${path}`, { signal: AbortSignal.timeout(15_000) }).catch(
          () => {},
        );
        probes[name]?.push(performance.now() - started);
      }
      await sleep(100);
    }
    other.exec('COMMIT');
    other.close();
    const to = Date.now();
    await sleep(500);
    await load.stop();
    const during = load.between(from, to);
    const failed = during.filter((o) => o.status !== 200 && o.status !== 204).length;
    const probeCells = Object.fromEntries(
      Object.entries(probes).map(([name, times]) => {
        const sorted = [...times].sort((a, b) => a - b);
        return [
          `${name} during the lock: median / max`,
          `${ms(quantile(sorted, 0.5))} / ${ms(sorted.at(-1) ?? Number.NaN)}`,
        ];
      }),
    );
    return {
      ...summary(during),
      'posts: statuses': JSON.stringify(
        statusCounts(during.filter((o) => o.kind === 'post')),
      ).replace(/"/g, ''),
      ...probeCells,
      ...logFigures(server, logs0, server.logs(), failed),
    };
  } finally {
    await server.stop();
    file.drop();
  }
}

function fill(path: string) {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (let size = chunk.length; size >= 512; ) {
      try {
        writeSync(fd, chunk, 0, size);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOSPC') throw error;
        size /= 2;
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function sqliteFull(dir: string): Promise<Row> {
  const mount = mkdtempSync(join(tmpdir(), 'minitwit-bench-full-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount]);
  if (mounted.status !== 0) {
    rmdirSync(mount);
    return { skipped: `mount -t tmpfs failed: ${mounted.stderr.toString().trim()}` };
  }
  const file = sqliteFile(mount);
  const server = await serve(dir, { DATABASE_URL: file.url });
  try {
    await register(server.apiUrl, LOAD.user);
    const load = new FaultLoad(server.apiUrl, { ...LOAD, concurrency: 4 }).start();
    await sleep(500);
    fill(join(mount, 'filler'));
    const logs0 = server.logs();
    const from = Date.now();
    await sleep(3000);
    const readyz = await readyzDuring(server.apiUrl);
    await sleep(2000);
    const to = Date.now();
    const logs1 = server.logs();
    rmSync(join(mount, 'filler'));
    const recovery = await timeToReady(server.apiUrl);
    await sleep(500);
    await load.stop();
    const during = load.between(from, to);
    const failed = during.filter((o) => o.status !== 200 && o.status !== 204).length;
    return {
      ...summary(during),
      'reads: statuses': JSON.stringify(
        statusCounts(during.filter((o) => o.kind === 'read')),
      ).replace(/"/g, ''),
      '/readyz during': readyz,
      'ready after space is freed': recovery,
      'after (until stop)': JSON.stringify(statusCounts(load.between(to))).replace(/"/g, ''),
      ...logFigures(server, logs0, logs1, failed),
    };
  } finally {
    await server.stop();
    file.drop();
    spawnSync('umount', [mount]);
    rmdirSync(mount);
  }
}

async function sqliteDamaged(dir: string): Promise<Row> {
  const file = sqliteFile();
  let server = await serve(dir, { DATABASE_URL: file.url });
  await register(server.apiUrl, LOAD.user);
  await server.stop();
  const db = new SQLite(file.path);
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
    INSERT INTO messages (author_id, text, pub_date, flagged) SELECT 1, 'm ' || i, 1700000000 + i, 0 FROM n`);
  const { rootpage } = db
    .prepare("SELECT rootpage FROM sqlite_master WHERE name = 'messages_author_id_message_id'")
    .get() as { rootpage: number };
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const fd = openSync(file.path, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, (rootpage - 1) * 4096);
  closeSync(fd);
  const started = performance.now();
  try {
    server = await serve(dir, { DATABASE_URL: file.url }, '/healthz');
  } catch (error) {
    file.drop();
    return { start: `failed: ${(error as Error).message.slice(0, 120)}` };
  }
  const startMs = performance.now() - started;
  try {
    let readyz = '';
    for (let i = 0; i < 50; i++) {
      readyz = await readyzDuring(server.apiUrl);
      if (!readyz.startsWith('200')) break;
      await sleep(100);
    }
    const status = async (url: string) => {
      const res = await fetch(url, { headers: SIM_HEADERS });
      return `${res.status}${res.headers.get('retry-after') ? ' (Retry-After)' : ''}`;
    };
    return {
      'start to answering': ms(startMs),
      '/readyz then': readyz,
      'GET /msgs/<user> (API)': await status(`${server.apiUrl}/msgs/${LOAD.user}`),
      'GET /<user> (web)': await status(`${server.webUrl}/${LOAD.user}`),
      'GET /public (web)': await status(`${server.webUrl}/public`),
    };
  } finally {
    await server.stop();
    file.drop();
  }
}

async function pgRange(dir: string): Promise<Row> {
  const database = await pgDatabase();
  const server = await serve(dir, { DATABASE_URL: database.url });
  try {
    await register(server.apiUrl, LOAD.user);
    const status = async (url: string) =>
      String((await fetch(url, { headers: SIM_HEADERS })).status);
    const row: Row = {};
    for (const n of ['2147483648', '9007199254740992']) {
      row[`/public?before=${n}`] = await status(`${server.webUrl}/public?before=${n}`);
      row[`/<user>?before=${n}`] = await status(`${server.webUrl}/${LOAD.user}?before=${n}`);
      row[`/msgs?no=${n}`] = await status(`${server.apiUrl}/msgs?no=${n}`);
    }
    const cli = spawnSync(
      process.execPath,
      [join(dir, 'bin/minitwit.js'), 'flag', '1', '2147483648', '--database', database.url],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    row['minitwit flag 1 2147483648'] =
      `exit ${cli.status}: ${(cli.stderr || cli.stdout).trim().split('\n')[0]?.slice(0, 90)}`;
    return row;
  } finally {
    await server.stop();
    await database.drop();
  }
}

// ---- run --------------------------------------------------------------------------------------

const RUNS: Record<Fault, { title: string; run: (dir: string) => Promise<Row> }> = {
  'pg-refuse': {
    title: `PostgreSQL down ${OUTAGE_S} s (idle connections cut, new ones refused), 8 clients`,
    run: (dir) => pgOutage(dir, 'refuse', OUTAGE_S),
  },
  'pg-stall': {
    title:
      'PostgreSQL accepting but never answering for 10 s (idle connections cut first), 8 clients (client timeout 15 s)',
    run: (dir) => pgOutage(dir, 'stall', 10),
  },
  'pg-cut': { title: 'pg_terminate_backend of the app’s connections ×5, 8 clients', run: pgCut },
  'sqlite-lock': {
    title: 'SQLite write lock held 3 s by another connection, 4 clients',
    run: sqliteLock,
  },
  'sqlite-full': { title: 'SQLite on an 8 MB tmpfs filled up for 5 s, 4 clients', run: sqliteFull },
  'sqlite-damaged': { title: 'SQLite file with a damaged index page', run: sqliteDamaged },
  'pg-range': { title: 'ids and cursors beyond PostgreSQL’s integer', run: pgRange },
};

const results: Record<string, Record<string, Row>> = {};
for (const fault of chosen) {
  const { title, run } = RUNS[fault];
  results[fault] = {};
  for (const build of builds) {
    log(`${fault} on ${build.name} (${build.dir})`);
    try {
      (results[fault] as Record<string, Row>)[build.name] = await run(build.dir);
    } catch (error) {
      (results[fault] as Record<string, Row>)[build.name] = {
        error: error instanceof Error ? error.message.slice(0, 300) : String(error),
      };
    }
  }
  const byBuild = results[fault] as Record<string, Row>;
  const keys = [...new Set(Object.values(byBuild).flatMap((row) => Object.keys(row)))];
  const names = builds.map((b) => b.name);
  process.stdout.write(
    `\n### ${title}\n\n| | ${names.join(' | ')} |\n|---|${names.map(() => '---').join('|')}|\n`,
  );
  for (const key of keys) {
    process.stdout.write(`| ${key} | ${names.map((n) => byBuild[n]?.[key] ?? '').join(' | ')} |\n`);
  }
}
process.stdout.write(
  `\n${JSON.stringify({ outageSeconds: OUTAGE_S, builds, results }, null, 1)}\n`,
);
