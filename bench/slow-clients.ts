// How long clients that send half a request head and stall are held, per port, with each
// build's default settings (issue 17.7: 500 such clients were held 73–85 s).
//
//   npm run build && node dist/bench/slow-clients.js --before 627af86 [--clients 500] [--cap 120]
//
// Starts `minitwit serve` (SQLite, defaults) per build, opens --clients connections to each of
// the web, API and metrics ports, sends `GET / HTTP/1.1`, a Host header and half of another one,
// and waits until the server closes each connection (at most --cap seconds). Prints, per build
// and port: how long connections were held (min, median, max) and what they were answered.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Build, buildCommit, dropBuild, thisCheckout } from './builds.js';
import { freePort } from './server.js';

const log = (line: string) => process.stderr.write(`[slow-clients] ${line}\n`);
const now = () => performance.now();

interface Held {
  ms: number;
  /** The status line's code, or "none" when the connection closed without an answer. */
  answer: string;
  /** False when --cap passed first. */
  closed: boolean;
}

function stall(port: number, capMs: number): Promise<Held> {
  return new Promise((resolve) => {
    const started = now();
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ms: now() - started, answer: 'none', closed: false });
    }, capMs);
    socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({
        ms: now() - started,
        answer: /^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 'none',
        closed: true,
      });
    });
  });
}

async function started(build: Build, ports: number[], dbPath: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(build.root, 'bin/minitwit.js'), 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(ports[0]),
      API_PORT: String(ports[1]),
      METRICS_PORT: String(ports[2]),
      DATABASE_URL: `sqlite:${dbPath}`,
      LOG_LEVEL: 'warn',
      SESSION_SECRET: 'bench-secret-bench-secret-bench-secret-0',
    },
    stdio: 'ignore',
  });
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${ports[1]}/latest`)).ok) return child;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not start');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main() {
  const { values } = parseArgs({
    options: {
      before: { type: 'string' },
      clients: { type: 'string', default: '500' },
      cap: { type: 'string', default: '120' },
    },
  });
  const clients = Number(values.clients);
  const capMs = Number(values.cap) * 1000;
  const builds: Build[] = [];
  if (values.before) builds.push(buildCommit(values.before, log));
  builds.push(thisCheckout());
  const rows: string[] = [];
  try {
    for (const build of builds) {
      const ports = [await freePort(), await freePort(), await freePort()];
      const dbPath = join(tmpdir(), `minitwit-bench-slow-${process.pid}.db`);
      const child = await started(build, ports, dbPath);
      try {
        const doors = ['web', 'api', 'metrics'] as const;
        log(`${build.label}: ${clients} stalling clients on each port`);
        const results = await Promise.all(
          doors.map((_, i) =>
            Promise.all(Array.from({ length: clients }, () => stall(ports[i] ?? 0, capMs))),
          ),
        );
        doors.forEach((door, i) => {
          const held = results[i] ?? [];
          const ms = held.map((h) => h.ms);
          const answers = new Map<string, number>();
          for (const h of held) {
            const key = h.closed ? h.answer : `still open at ${values.cap} s`;
            answers.set(key, (answers.get(key) ?? 0) + 1);
          }
          const s = (x: number) => (x / 1000).toFixed(1);
          rows.push(
            `| ${build.label} | ${door} | ${s(Math.min(...ms))} | ${s(median(ms))} | ${s(Math.max(...ms))} | ${[...answers].map(([k, v]) => `${k}: ${v}`).join(', ')} |`,
          );
        });
      } finally {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
      }
    }
  } finally {
    for (const build of builds) dropBuild(build);
  }
  console.log(
    `\n${clients} clients per port sending half a request head, default settings (seconds held)\n`,
  );
  console.log('| build | port | min | median | max | answers |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

await main();
