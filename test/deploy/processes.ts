import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { courseScenario } from '../../src/config/paths.js';
import { TEST_SECRET } from '../helpers/server.js';

export const BIN = resolve('bin/minitwit.js');
export const SCENARIO = courseScenario;

/** Live child processes of `pid`, from /proc. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid && state !== 'Z') children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** Polls `url` until it answers 200, or throws after `timeoutMs`. */
export async function waitFor200(url: string, timeoutMs = 20_000, proc?: ChildProcess) {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (proc && proc.exitCode !== null) throw new Error(`process exited (${proc.exitCode})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${last})`);
}

/** One `minitwit serve` process on fixed loopback ports, restartable on the same ports. */
export class Instance {
  proc: ChildProcess | undefined;
  readonly output: string[] = [];
  starts = 0;

  constructor(
    readonly name: string,
    readonly webPort: number,
    readonly apiPort: number,
    readonly env: Record<string, string>,
  ) {}

  get webUrl() {
    return `http://127.0.0.1:${this.webPort}`;
  }

  get apiUrl() {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  static async create(name: string, databaseUrl: string, env: Record<string, string> = {}) {
    return new Instance(name, await freePort(), await freePort(), {
      DATABASE_URL: databaseUrl,
      SESSION_SECRET: TEST_SECRET,
      LOG_LEVEL: 'warn',
      ...env,
    });
  }

  /** Spawns the process and waits until /readyz on the API port says 200. */
  async start(timeoutMs = 30_000) {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      throw new Error(`${this.name} is already running`);
    }
    const proc = spawn(process.execPath, [BIN, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(this.webPort),
        API_PORT: String(this.apiPort),
        // Several instances run side by side: each takes a free metrics port.
        METRICS_PORT: '0',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    this.starts++;
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) this.output.push(line);
      if (this.output.length > 2000) this.output.splice(0, this.output.length - 2000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    await waitFor200(`${this.apiUrl}/readyz`, timeoutMs, proc);
  }

  /** Sends `signal` and resolves with the exit code once the process has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number | null> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
    const exited = once(proc, 'exit');
    proc.kill(signal);
    const timeout = sleep(timeoutMs).then(() => {
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}`);
    });
    const [code] = (await Promise.race([exited, timeout])) as [number | null];
    return code;
  }

  /** Ends the process whatever state it is in (for cleanup). */
  async kill() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  }
}
