// The benchmark: `npm run bench -- [options]`. Runs everything in ONE run on this machine and
// prints a table and JSON; `--write` also puts them into docs/performance.md and draws the table
// as docs/images/bench-ratios.svg.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SIM_API_AUTH } from '../src/config/config.js';
import { courseScenario, packageRoot } from '../src/config/paths.js';
import { SEED_PASSWORD, seedUsername, userIndexForRank } from '../src/dataops/bulk.js';
import { openDatabase } from '../src/db/connect.js';
import { Store } from '../src/db/store.js';
import { runLoad } from '../src/sim/load.js';
import { readScenario } from '../src/sim/scenario.js';
import { summarize } from '../src/sim/stats.js';
import { CHART_FILE, ratioChart } from './chart.js';
import { admin, type BenchRow, type Kind, pgUrl, seed } from './databases.js';
import {
  buildRevision,
  RATIO_DATA,
  type RatioRow,
  ratioPhase,
  ratioTable,
  removeRevision,
} from './ratio.js';
import { growthRows, measureSearch } from './search.js';
import { peakRssMb, signInHeader, startHello, startMiniTwit } from './server.js';
import { type WrkResult, writeMixedScript, writePathsScript, wrk } from './wrk.js';

const USAGE = `usage: npm run bench -- [options]

  --connections N     wrk connections for the ceiling and the mixed load (default 16)
  --seconds S         seconds per wrk measurement (default 10; timelines use S/2)
  --sizes LIST        timeline database sizes, among 10k,10m (default 10k,10m; "none" skips)
  --databases LIST    sqlite,postgres (default both)
  --scenario-lines N  replay only the first N scenario lines (default all 25,922)
  --phases LIST       among ceiling,scenario,timelines,ratio (default all; scenario includes mixed)
  --rounds N          ratio phase: interleaved rounds per work (default 3; the median is kept)
  --ratio-seconds S   ratio phase: seconds per wrk measurement (default 5)
  --ratio-connections N  ratio phase: wrk connections (default 50)
  --before REV        ratio phase: also measure git revision REV, built in a temporary worktree
  --sqlite-10m PATH   the 10m SQLite database to read (default data/bench/10m.db)
  --postgres-10m NAME the 10m PostgreSQL database to read (default minitwit_bench_10m)
  --works LIST        ratio phase: only the works whose names contain one of these (tweet,public…)
  --profile DIR       ratio phase: run MiniTwit under node --cpu-prof, profiles into DIR
  --write             write the results into docs/performance.md and docs/images/bench-ratios.svg

Needs wrk and, for postgres, a server at BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
The 10 M databases are built once (minutes) at data/bench/10m.db and database minitwit_bench_10m;
BENCH_10M_SQLITE=<file> and BENCH_10M_POSTGRES=<database name> use others (a copy, say).
Each size also measures search next to /public (bench/search.ts).`;

const SIZES = {
  '10k': { users: 1000, messages: 10_000, follows: 20_000 },
  '10m': { users: 100_000, messages: 10_000_000, follows: 2_000_000 },
} as const;
type Size = keyof typeof SIZES;

const SCENARIO = courseScenario;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** A new empty database; `drop` removes it. */
async function scratchDatabase(kind: Kind) {
  const name = `minitwit_bench_${randomBytes(4).toString('hex')}`;
  if (kind === 'sqlite') {
    const path = join(tmpdir(), `${name}.db`);
    return {
      url: `sqlite:${path}`,
      drop: async () => {
        for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
      },
    };
  }
  await admin(`create database ${name}`);
  return {
    url: pgUrl(name),
    drop: async () => void (await admin(`drop database ${name} with (force)`)),
  };
}

/** Databases given on the command line instead of data/bench/<size>.db / minitwit_bench_<size>. */
const sizedOverrides: Partial<Record<`${Kind}:${Size}`, string>> = {};

/** The persistent database of a size, seeded on first use and checked by its counts after. */
async function sizedDatabase(kind: Kind, size: Size): Promise<string> {
  const want = SIZES[size];
  let url: string;
  const override = sizedOverrides[`${kind}:${size}`];
  if (kind === 'sqlite') {
    mkdirSync(resolve(packageRoot, 'data/bench'), { recursive: true });
    url = `sqlite:${resolve(override ?? resolve(packageRoot, `data/bench/${size}.db`))}`;
  } else {
    const name = override ?? `minitwit_bench_${size}`;
    const exists = await admin(`select 1 from pg_database where datname = '${name}'`);
    if (exists.rowCount === 0) await admin(`create database ${name}`);
    url = pgUrl(name);
  }
  const handle = openDatabase(url, { poolMax: 1 });
  let counts: { users: number; messages: number; followers: number } | undefined;
  try {
    counts = await new Store(handle.db, handle.dialect).counts();
  } catch {
    counts = undefined; // not migrated yet
  } finally {
    await handle.close();
  }
  if (counts && counts.users >= want.users && counts.messages >= want.messages) return url;
  if (counts && (counts.users > 0 || counts.messages > 0)) {
    throw new Error(
      `${url} holds a partial or different data set (${JSON.stringify(counts)}): drop it`,
    );
  }
  log(`seeding ${kind} ${size} (${JSON.stringify(want)}): a one-off that takes minutes at 10m`);
  seed(url, want);
  return url;
}

/** 320 reads of `latest`, 16 at a time: opens every pooled connection and warms the JIT. */
async function warmUp(apiUrl: string) {
  for (let i = 0; i < 20; i++) {
    await Promise.all(
      Array.from({ length: 16 }, () =>
        fetch(`${apiUrl}/msgs?no=10`, { headers: { Authorization: DEFAULT_SIM_API_AUTH } }).then(
          (r) => r.arrayBuffer(),
        ),
      ),
    );
  }
}

type Row = BenchRow;

async function main() {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '16' },
      seconds: { type: 'string', default: '10' },
      sizes: { type: 'string', default: '10k,10m' },
      databases: { type: 'string', default: 'sqlite,postgres' },
      'scenario-lines': { type: 'string' },
      phases: { type: 'string', default: 'ceiling,scenario,timelines,ratio' },
      rounds: { type: 'string', default: '3' },
      'ratio-seconds': { type: 'string', default: '5' },
      'ratio-connections': { type: 'string', default: '50' },
      before: { type: 'string' },
      profile: { type: 'string' },
      works: { type: 'string' },
      'sqlite-10m': { type: 'string' },
      'postgres-10m': { type: 'string' },
      write: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    // wrk --version exits 1 after printing; only a missing binary is a problem.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('wrk is not installed (apt-get install wrk)');
    }
  }
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  const kinds = values.databases.split(',').filter(Boolean) as Kind[];
  const sizes = values.sizes === 'none' ? [] : (values.sizes.split(',') as Size[]);
  for (const s of sizes) if (!(s in SIZES)) throw new Error(`unknown size ${s}`);
  const lines = values['scenario-lines'] ? Number(values['scenario-lines']) : undefined;
  const phases = new Set(values.phases.split(',').filter(Boolean));
  for (const p of phases) {
    if (!['ceiling', 'scenario', 'timelines', 'ratio'].includes(p))
      throw new Error(`unknown phase ${p}`);
  }
  if (values['sqlite-10m']) sizedOverrides['sqlite:10m'] = values['sqlite-10m'];
  if (values['postgres-10m']) sizedOverrides['postgres:10m'] = values['postgres-10m'];
  const rows: Row[] = [];
  const ratioRows: RatioRow[] = [];
  let peakRss = 0;
  const rssOf = (child: { pid: number }) => {
    const mb = peakRssMb(child.pid);
    peakRss = Math.max(peakRss, mb);
    return mb;
  };
  const work = join(tmpdir(), `minitwit-bench-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const started = new Date();
  // The machine is shared: record how busy it was, since every figure depends on it.
  const loadBefore = loadavg()[0] as number;

  // 1. The ceiling.
  let ceiling: WrkResult | undefined;
  if (phases.has('ceiling')) {
    log('ceiling: node:http hello-world');
    const hello = await startHello();
    try {
      ceiling = await wrk(hello.url, { connections, seconds });
    } finally {
      await hello.stop();
    }
  }
  if (ceiling)
    rows.push({
      phase: 'ceiling',
      database: '-',
      what: `node:http JSON hello, ${connections} conns`,
      rps: ceiling.rps,
      p50: ceiling.p50,
      p99: ceiling.p99,
      ratio: 1,
      errors: ceiling.errors,
    });

  const scenarioUsers: string[] = [];
  for await (const a of readScenario(SCENARIO, { lines }))
    if (a.command === 'register') scenarioUsers.push(a.user);

  let beforeRoot: string | undefined;
  if (phases.has('ratio') && values.before) beforeRoot = buildRevision(values.before, work, log);

  for (const kind of kinds) {
    // 2. The whole scenario at full speed, sequentially and with 16 in flight, on a fresh database.
    for (const concurrency of phases.has('scenario') ? [1, 16] : []) {
      const db = await scratchDatabase(kind);
      const server = await startMiniTwit(db.url);
      try {
        // Warm-up: open the connection pool and compile the hot paths before timing, as a
        // server that has been up for a while would be (a cold start is its own problem).
        await warmUp(server.apiUrl);
        log(`${kind}: scenario, concurrency ${concurrency}`);
        const errors: string[] = [];
        const r = await runLoad(server.apiUrl, {
          scenario: SCENARIO,
          lines,
          concurrency,
          onError: (line) => errors.push(line),
        });
        for (const e of errors.slice(0, 10)) log(`  error: ${e}`);
        const s = summarize(r.actionLatencies);
        rows.push({
          phase: 'scenario',
          database: kind,
          what: `${r.actions} actions, concurrency ${concurrency}`,
          rps: r.actions / r.seconds,
          p50: s.p50,
          p99: s.p99,
          errors: r.errors,
          note: `p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms, ${r.seconds.toFixed(1)} s, RSS ${rssOf(server)} MB`,
        });

        // 3. Sustained mixed load on the database the sequential replay filled.
        if (concurrency === 1) {
          log(`${kind}: mixed simulator load`);
          const script = join(work, 'mixed.lua');
          writeMixedScript(script, scenarioUsers, DEFAULT_SIM_API_AUTH);
          const m = await wrk(server.apiUrl, { connections, seconds, script });
          rows.push({
            phase: 'mixed',
            database: kind,
            what: `50% writes / 50% API reads, ${connections} conns`,
            rps: m.rps,
            p50: m.p50,
            p99: m.p99,
            ratio: ceiling ? m.rps / ceiling.rps : undefined,
            errors: m.errors,
            note: `RSS ${rssOf(server)} MB`,
          });
        }
      } finally {
        await server.stop();
        await db.drop();
      }
    }

    // 4. Timelines at each size, one connection: the latency of one request on an idle server.
    for (const size of phases.has('timelines') ? sizes : []) {
      const url = await sizedDatabase(kind, size);
      const server = await startMiniTwit(url);
      try {
        log(`${kind}: timelines at ${size}`);
        const users = SIZES[size].users;
        // The 10 busiest authors and 20 ordinary ones (ranks spread over the Zipf tail).
        const ranks = [
          ...Array.from({ length: 10 }, (_, i) => i),
          ...Array.from({ length: 20 }, (_, i) => Math.floor(((i + 1) * (users - 2)) / 21)),
        ];
        const names = ranks.map((r) => seedUsername(userIndexForRank(r, users)));
        const cookie = await signInHeader(server.webUrl, seedUsername(0), SEED_PASSWORD);
        const targets: [string, string, string[], string[]][] = [
          ['web /public', server.webUrl, ['/public'], []],
          ['web /<user>', server.webUrl, names.map((n) => `/${n}`), []],
          ['web / (follows 100)', server.webUrl, ['/'], [cookie]],
          [
            'API GET /msgs',
            server.apiUrl,
            ['/msgs?no=100'],
            [`Authorization: ${DEFAULT_SIM_API_AUTH}`],
          ],
          [
            'API GET /msgs/<user>',
            server.apiUrl,
            names.map((n) => `/msgs/${n}?no=100`),
            [`Authorization: ${DEFAULT_SIM_API_AUTH}`],
          ],
        ];
        for (const [what, base, paths, headers] of targets) {
          const script = join(work, 'paths.lua');
          writePathsScript(script, paths);
          const t = await wrk(base, {
            connections: 1,
            seconds: Math.max(2, seconds / 2),
            script,
            headers,
          });
          rows.push({
            phase: `timeline ${size}`,
            database: kind,
            what,
            rps: t.rps,
            p50: t.p50,
            p99: t.p99,
            errors: t.errors,
          });
        }
        rows.push({
          phase: `timeline ${size}`,
          database: kind,
          what: 'server peak RSS',
          errors: 0,
          note: `${rssOf(server)} MB`,
        });
      } finally {
        await server.stop();
      }
      // 5. Search next to /public on the same database (builds the index first if needed).
      log(`${kind}: search at ${size}`);
      rows.push(
        ...(await measureSearch(kind, size, url, { seconds: Math.max(2, seconds / 2), work })),
      );
    }
  }
  rows.push(...growthRows(rows));
  // 6. MiniTwit against the bare program, on a fresh seeded database of each kind.
  for (const kind of phases.has('ratio') ? kinds : []) {
    const db = await scratchDatabase(kind);
    // The before build gets a database of its own, seeded the same way by its own code.
    const beforeDb = beforeRoot ? await scratchDatabase(kind) : undefined;
    try {
      log(`${kind}: ratio phase, seeding ${JSON.stringify(RATIO_DATA)}`);
      seed(db.url, RATIO_DATA);
      if (beforeDb) seed(beforeDb.url, RATIO_DATA, beforeRoot);
      ratioRows.push(
        ...(await ratioPhase(kind, db.url, {
          connections: Number(values['ratio-connections']),
          seconds: Number(values['ratio-seconds']),
          rounds: Number(values.rounds),
          auth: DEFAULT_SIM_API_AUTH,
          work,
          beforeRoot,
          beforeUrl: beforeDb?.url,
          only: values.works?.split(','),
          log,
          nodeArgs: values.profile
            ? [
                '--cpu-prof',
                '--cpu-prof-dir',
                resolve(values.profile),
                '--cpu-prof-name',
                `minitwit-${kind}.cpuprofile`,
              ]
            : [],
        })),
      );
    } finally {
      await db.drop();
      await beforeDb?.drop();
    }
  }
  if (beforeRoot) removeRevision(beforeRoot);
  rmSync(work, { recursive: true, force: true });

  const fmt = (n: number | undefined, digits = 1) => (n === undefined ? '' : n.toFixed(digits));
  const table = [
    '| phase | database | what | req/s | p50 ms | p99 ms | ratio to ceiling | errors | notes |',
    '|---|---|---|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.phase} | ${r.database} | ${r.what} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${r.ratio === undefined ? '' : `${(r.ratio * 100).toFixed(0)} %`} | ${r.errors} | ${r.note ?? ''} |`,
    ),
  ].join('\n');
  const load = `load average (1 min) ${loadBefore.toFixed(1)} at the start, ${(loadavg()[0] as number).toFixed(1)} at the end, on ${cpus().length} cores`;
  const json = {
    started: started.toISOString(),
    connections,
    seconds,
    peakRssMb: peakRss,
    load,
    rows,
    ratios: ratioRows,
  };
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const ratios =
    ratioRows.length > 0
      ? `\nMiniTwit against the bare program (${values.rounds} interleaved rounds of wrk, ${values['ratio-connections']} connections, ${values['ratio-seconds']} s, median kept${values.before ? `; before = ${values.before}` : ''}):\n\n${ratioTable(ratioRows)}\n`
      : '';
  process.stdout.write(
    `${table}\n${ratios}\nserver peak RSS over all phases: ${peakRss} MB\n\n${JSON.stringify(json)}\n`,
  );

  if (values.write) {
    const file = resolve(packageRoot, 'docs/performance.md');
    const block = `<!-- bench:start -->\nMeasured ${started.toISOString()} on this machine with \`${command}\`; ${load}.\n\n${table}\n${ratios}\nServer peak RSS over all phases: **${peakRss} MB**.\n\n<details><summary>JSON</summary>\n\n\`\`\`json\n${JSON.stringify(json, null, 1)}\n\`\`\`\n</details>\n<!-- bench:end -->`;
    const old = existsSync(file)
      ? readFileSync(file, 'utf8')
      : '# Performance\n\n<!-- bench:start -->\n<!-- bench:end -->\n';
    writeFileSync(file, old.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, block));
    log(`wrote ${file}`);
    // The same table as a picture (docs/performance.md shows it above the table).
    mkdirSync(dirname(CHART_FILE), { recursive: true });
    writeFileSync(
      CHART_FILE,
      ratioChart(rows, `measured ${started.toISOString().slice(0, 10)}; ${load}`),
    );
    log(`wrote ${CHART_FILE}`);
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
