// Per-request cost of metrics + request logging on a hello-world-ish route (GET /latest).
// Usage: npm run build && node dist/bench/observability-overhead.js [seconds=4] [rounds=5]
// Needs wrk. Starts MiniTwit on a temporary SQLite database, alternately with metrics and
// info-level JSON request logs (written asynchronously to /dev/null) and with
// METRICS_ENABLED=false and LOG_LEVEL=silent, `rounds` times each after one warm-up, and prints
// the medians: requests/s as wrk saw them, and CPU time of the server process per request
// (far steadier than throughput on a shared machine).
import { execFile, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/observability/logger.js';

const seconds = Number(process.argv[2] ?? 4);
const rounds = Number(process.argv[3] ?? 5);
if (!(seconds > 0 && seconds <= 60 && rounds > 0 && rounds <= 10)) {
  console.error('usage: observability-overhead.js [seconds 1-60] [rounds 1-10]');
  process.exit(2);
}
if (spawnSync('wrk', ['--version']).error) {
  console.error('wrk is not installed (apt-get install wrk)');
  process.exit(2);
}

const dbPath = join(tmpdir(), `minitwit-bench-obs-${process.pid}.db`);

interface Round {
  rps: number;
  cpuUs: number;
}

async function measure(observed: boolean): Promise<Round> {
  const config = loadConfig({
    PORT: '0',
    API_PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: `sqlite:${dbPath}`,
    SESSION_SECRET: 'bench-secret-bench-secret-bench-secret-00',
    LOG_LEVEL: observed ? 'info' : 'silent',
    METRICS_ENABLED: observed ? 'true' : 'false',
  });
  const logger = createLogger({
    level: config.logLevel,
    destination: pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 }),
  });
  const app = await createApp(config, { logger });
  const { api } = await app.listen();
  try {
    const cpu = process.cpuUsage();
    // Asynchronously: the server answers from this very process.
    const run = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        'wrk',
        ['-t1', '-c10', `-d${seconds}s`, `${api}/latest`],
        { encoding: 'utf8', timeout: (seconds + 30) * 1000 },
        (error, stdout, stderr) => (error ? reject(error) : resolve({ stdout, stderr })),
      ),
    );
    const used = process.cpuUsage(cpu);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(run.stdout);
    const total = /(\d+) requests in/.exec(run.stdout);
    if (!rps || !total || /Non-2xx/.test(run.stdout)) {
      throw new Error(`wrk failed:\n${run.stdout}${run.stderr}`);
    }
    return { rps: Number(rps[1]), cpuUs: (used.user + used.system) / Number(total[1]) };
  } finally {
    await app.close();
  }
}

/** The median: one round disturbed by a neighbour should not move the result. */
function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const plain: Round[] = [];
const observed: Round[] = [];
try {
  await measure(true); // warm-up (JIT, SQLite page cache), not counted
  for (let round = 1; round <= rounds; round++) {
    const a = await measure(false);
    const b = await measure(true);
    plain.push(a);
    observed.push(b);
    console.log(
      `round ${round}: without ${a.rps.toFixed(0)} req/s ${a.cpuUs.toFixed(1)} us CPU/req; ` +
        `with ${b.rps.toFixed(0)} req/s ${b.cpuUs.toFixed(1)} us CPU/req`,
    );
  }
} finally {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
}

const rps = (rs: Round[]) => median(rs.map((r) => r.rps));
const cpu = (rs: Round[]) => median(rs.map((r) => r.cpuUs));
console.log(`GET /latest, median of ${rounds} rounds x ${seconds} s, wrk -t1 -c10 keep-alive:`);
console.log(
  `  without metrics and request logs: ${rps(plain).toFixed(0)} req/s, ${cpu(plain).toFixed(1)} us CPU/request`,
);
console.log(
  `  with metrics and request logs:    ${rps(observed).toFixed(0)} req/s, ${cpu(observed).toFixed(1)} us CPU/request`,
);
console.log(
  `  CPU per request with/without: ${(cpu(observed) / cpu(plain)).toFixed(3)} ` +
    `(+${(cpu(observed) - cpu(plain)).toFixed(1)} us); ` +
    `throughput with/without: ${(rps(observed) / rps(plain)).toFixed(3)}`,
);
