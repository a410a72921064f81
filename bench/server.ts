import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { packageRoot } from '../src/config/paths.js';
import { signIn } from '../src/sim/load.js';

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

/** Peak resident set (VmHWM) of a process in MB, from /proc. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

export interface Child {
  process: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess) {
  return () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    });
}

async function waitFor(url: string, child: ChildProcess, log: () => string) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${log()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become ready at ${url}:\n${log()}`);
}

export interface MiniTwitChild extends Child {
  webUrl: string;
  apiUrl: string;
}

export interface StartOptions {
  /** The MiniTwit checkout to run (its bin/minitwit.js); this one by default. */
  root?: string;
  /** LOG_LEVEL; BENCH_LOG_LEVEL or 'warn' by default. */
  logLevel?: string;
  /** A file that receives the server's log lines (stdout); discarded by default. */
  logFile?: string;
  /** Arguments for node before the script (--cpu-prof, say). */
  nodeArgs?: string[];
}

/**
 * Starts `minitwit serve` as its own process (so its RSS is its own) over `databaseUrl`, on free
 * loopback ports (the metrics port too: metrics stay on, as shipped).
 */
export async function startMiniTwit(
  databaseUrl: string,
  options: StartOptions = {},
): Promise<MiniTwitChild> {
  const [port, apiPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const out = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const root = options.root ?? packageRoot;
  const args = [...(options.nodeArgs ?? []), resolve(root, 'bin/minitwit.js'), 'serve'];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      API_PORT: String(apiPort),
      // Never the default 9464: other servers on this machine may hold it.
      METRICS_PORT: String(metricsPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: options.logLevel ?? process.env.BENCH_LOG_LEVEL ?? 'warn',
      SESSION_SECRET: 'bench-secret-bench-secret-bench-secret-0',
      NODE_ENV: 'production',
    },
    stdio: ['ignore', out, 'pipe'],
  });
  if (typeof out === 'number') closeSync(out);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const webUrl = `http://127.0.0.1:${port}`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const stop = stopper(child);
  try {
    await waitFor(`${apiUrl}/readyz`, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { process: child, pid: child.pid as number, webUrl, apiUrl, stop };
}

/** Starts the ceiling: bench/hello.js. */
export async function startHello(): Promise<Child & { url: string }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [resolve(packageRoot, 'dist/bench/hello.js'), String(port)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const stop = stopper(child);
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(url, child, () => '');
  return { process: child, pid: child.pid as number, url, stop };
}

/** Starts the bare program (bench/bare.ts) as its own process over `databaseUrl`. */
export async function startBare(
  databaseUrl: string,
  auth: string,
  nodeArgs: string[] = [],
): Promise<Child & { webUrl: string; apiUrl: string }> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, resolve(packageRoot, 'dist/bench/bare.js'), databaseUrl, '0', '0'],
    { env: { ...process.env, SIM_API_AUTH: auth }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stop = stopper(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  try {
    const line = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) done(out.split('\n')[0] as string);
      });
      child.once('exit', (code) => fail(new Error(`bare exited (${code}):\n${stderr}`)));
    });
    const urls = JSON.parse(line) as { api: string; web: string };
    return { process: child, pid: child.pid as number, apiUrl: urls.api, webUrl: urls.web, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Signs in through the web form and returns the Cookie header a browser would send. */
export async function signInHeader(webUrl: string, username: string, password: string) {
  const cookie = await signIn(webUrl, username, password);
  if (!cookie) throw new Error(`sign-in as ${username} failed`);
  return `Cookie: ${cookie}`;
}
