// Restart downtime of `minitwit serve`: SIGTERM to the running process -> the new process
// answering, as a supervisor restarts one instance with no proxy in front (systemd, `docker
// restart`: stop, wait for the exit, start). Compares builds side by side, runs interleaved so
// that both see the same machine load.
//
//   npm run build && node dist/bench/restart.js --before 627af86 [--runs 7] [--workers 1,2]
//     [--databases sqlite,postgres] [--load 4] [--json]
//
// --before <commit> builds that commit of this repository in a temporary folder (git archive,
// this checkout's node_modules, tsc) and measures it beside this checkout ("after"). Without it
// only this checkout is measured. Each run, per build, WORKERS and database:
//   exit      SIGTERM -> the old process has exited (the port is free for the new one)
//   start     the new process spawned -> its first answer to GET /latest
//   downtime  SIGTERM -> the new process answering (exit + start)
//   gap       the last answer of the old process -> the first answer of the new one (what a
//             client polling every 5 ms saw as an outage)
//   failed    requests of `--load` simulator-like writers (new connection each, 0.3 s timeout)
//             that got no answer (refused, reset or timed out) during the restart
// Settings: NODE_ENV=production, SHUTDOWN_DELAY_MS=0 (one instance, no load balancer to tell).
// Needs PostgreSQL at BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
// for --databases postgres.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { packageRoot } from '../src/config/paths.js';
import { send } from '../src/sim/http.js';
import { type Build, buildCommit, dropBuild, thisCheckout } from './builds.js';
import { freePort } from './server.js';

const USAGE =
  'usage: node dist/bench/restart.js [--before COMMIT] [--runs N] [--workers 1,2] [--databases sqlite,postgres] [--load N] [--json]';
const ADMIN = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (line: string) => process.stderr.write(`[restart] ${line}\n`);
const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Database {
  kind: 'sqlite' | 'postgres';
  url: string;
  drop(): Promise<void>;
}

async function database(kind: Database['kind']): Promise<Database> {
  const name = `minitwit_bench_restart_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  if (kind === 'sqlite') {
    const path = join(tmpdir(), `${name}.db`);
    return {
      kind,
      url: `sqlite:${path}`,
      drop: async () => {
        for (const s of ['', '-wal', '-shm']) rmSync(`${path}${s}`, { force: true });
      },
    };
  }
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: ADMIN });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

interface Ports {
  web: number;
  api: number;
  metrics: number;
}

function spawnServe(build: Build, db: Database, ports: Ports, workers: number): ChildProcess {
  return spawn(process.execPath, [join(build.root, 'bin/minitwit.js'), 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      SHUTDOWN_DELAY_MS: '0',
      HOST: '127.0.0.1',
      PORT: String(ports.web),
      API_PORT: String(ports.api),
      METRICS_PORT: String(ports.metrics),
      DATABASE_URL: db.url,
      WORKERS: String(workers),
      LOG_LEVEL: 'warn',
      SESSION_SECRET: 'bench-secret-bench-secret-bench-secret-0',
    },
    stdio: 'ignore',
  });
}

/** Polls GET /latest on a new connection every 5 ms; keeps the times of answers. */
class Prober {
  readonly answers: number[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(apiUrl: string) {
    this.done = (async () => {
      while (this.running) {
        const started = now();
        const outcome = await send(apiUrl, 'GET', '/latest', undefined, { timeoutMs: 1000 });
        if (outcome.kind === 'status' && outcome.status === 200) this.answers.push(now());
        const left = 5 - (now() - started);
        if (left > 0) await sleep(left);
      }
    })();
  }

  async stop() {
    this.running = false;
    await this.done;
  }
}

/** Simulator-like writers: POST /msgs/<user>?latest=N, new connection each, 0.3 s timeout. */
class Writers {
  failed = 0;
  sent = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(apiUrl: string, count: number) {
    this.done = Promise.all(
      Array.from({ length: count }, async (_, i) => {
        for (let n = 0; this.running; n++) {
          const outcome = await send(
            apiUrl,
            'POST',
            `/msgs/bench?latest=${n}`,
            { content: `w${i} ${n}` },
            { timeoutMs: 300 },
          );
          this.sent++;
          if (outcome.kind !== 'status' || outcome.status !== 204) {
            this.failed++;
            await sleep(5);
          }
        }
      }),
    ).then(() => undefined);
  }

  async stop() {
    this.running = false;
    await this.done;
  }
}

async function waitForAnswer(apiUrl: string, child: ChildProcess, timeoutMs = 60_000) {
  const until = now() + timeoutMs;
  while (now() < until) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode})`);
    const outcome = await send(apiUrl, 'GET', '/latest', undefined, { timeoutMs: 1000 });
    if (outcome.kind === 'status' && outcome.status === 200) return now();
    await sleep(5);
  }
  throw new Error(`${apiUrl} did not answer within ${timeoutMs} ms`);
}

interface Run {
  exitMs: number;
  startMs: number;
  downtimeMs: number;
  gapMs: number;
  failed: number;
}

/** One restart of `build` (already running as `child`); returns the new child and the times. */
async function restart(
  build: Build,
  db: Database,
  ports: Ports,
  workers: number,
  child: ChildProcess,
  load: number,
): Promise<{ child: ChildProcess; run: Run }> {
  const apiUrl = `http://127.0.0.1:${ports.api}`;
  const prober = new Prober(apiUrl);
  const writers = new Writers(apiUrl, load);
  await sleep(300);
  const failedBefore = writers.failed;
  const exited = once(child, 'exit');
  const sigterm = now();
  child.kill('SIGTERM');
  await exited;
  const exitAt = now();
  const next = spawnServe(build, db, ports, workers);
  const upAt = await waitForAnswer(apiUrl, next);
  await sleep(300);
  await Promise.all([prober.stop(), writers.stop()]);
  const lastOld = Math.max(...prober.answers.filter((t) => t <= exitAt), sigterm);
  const firstNew = Math.min(...prober.answers.filter((t) => t > exitAt), upAt);
  return {
    child: next,
    run: {
      exitMs: exitAt - sigterm,
      startMs: upAt - exitAt,
      downtimeMs: upAt - sigterm,
      gapMs: firstNew - lastOld,
      failed: writers.failed - failedBefore,
    },
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

async function main() {
  const { values } = parseArgs({
    options: {
      before: { type: 'string' },
      runs: { type: 'string', default: '7' },
      workers: { type: 'string', default: '1,2' },
      databases: { type: 'string', default: 'sqlite,postgres' },
      load: { type: 'string', default: '4' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const runs = Number(values.runs);
  const load = Number(values.load);
  const workerCounts = (values.workers ?? '').split(',').map(Number);
  const kinds = (values.databases ?? '').split(',') as Database['kind'][];
  if (!(runs > 0) || !(load >= 0) || workerCounts.some((w) => !(w >= 1))) {
    console.error(USAGE);
    process.exit(2);
  }
  if (!existsSync(join(packageRoot, 'dist/src/cli/main.js'))) throw new Error('run npm run build');
  const builds: Build[] = [];
  if (values.before) builds.push(buildCommit(values.before, log));
  builds.push(thisCheckout());

  const results: { build: string; kind: string; workers: number; runs: Run[] }[] = [];
  try {
    for (const kind of kinds) {
      for (const workers of workerCounts) {
        // One database, server and port set per build; runs alternate between the builds.
        const setups = [];
        for (const build of builds) {
          const db = await database(kind);
          const ports = { web: await freePort(), api: await freePort(), metrics: await freePort() };
          const child = spawnServe(build, db, ports, workers);
          await waitForAnswer(`http://127.0.0.1:${ports.api}`, child);
          await send(`http://127.0.0.1:${ports.api}`, 'POST', '/register', {
            username: 'bench',
            email: 'bench@example.com',
            pwd: 'bench',
          });
          const entry = { build: build.label, kind, workers, runs: [] as Run[] };
          results.push(entry);
          setups.push({ build, db, ports, child, entry });
        }
        for (let i = 0; i < runs; i++) {
          for (const setup of setups) {
            const { child, run } = await restart(
              setup.build,
              setup.db,
              setup.ports,
              workers,
              setup.child,
              load,
            );
            setup.child = child;
            setup.entry.runs.push(run);
            log(
              `${kind} WORKERS=${workers} ${setup.build.label} #${i + 1}: downtime ${run.downtimeMs.toFixed(0)} ms (exit ${run.exitMs.toFixed(0)}, start ${run.startMs.toFixed(0)}), gap ${run.gapMs.toFixed(0)} ms, ${run.failed} failed`,
            );
          }
        }
        for (const setup of setups) {
          const exited = once(setup.child, 'exit');
          setup.child.kill('SIGTERM');
          await exited;
          await setup.db.drop();
        }
      }
    }
  } finally {
    for (const build of builds) dropBuild(build);
  }

  const load1 = loadavg()[0]?.toFixed(1);
  console.log(
    `\nrestart of one instance, no proxy: median of ${runs} runs (ms; failed = writes of ${load} simulator-like writers that got no answer)`,
  );
  console.log(`machine: ${cpus().length} cores, load average ${load1}, node ${process.version}\n`);
  console.log('| database | WORKERS | build | downtime | exit | start | gap | failed |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const m = (pick: (run: Run) => number) => median(r.runs.map(pick)).toFixed(0);
    console.log(
      `| ${r.kind} | ${r.workers} | ${r.build} | ${m((x) => x.downtimeMs)} | ${m((x) => x.exitMs)} | ${m((x) => x.startMs)} | ${m((x) => x.gapMs)} | ${m((x) => x.failed)} |`,
    );
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
}

await main();
