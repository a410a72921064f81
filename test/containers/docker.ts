import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Problem } from '../helpers/prerequisites.js';

/**
 * What the container suites share: the engine (scripts/containers/engine.sh), the stand-in
 * images (scripts/containers/images.sh), the product image built from the repository's
 * Dockerfile, and a promise-based `docker` runner. Every suite starts the engine when it is not
 * running and stops it again at the end when it started it (images stay: they are the cache).
 */

export const ROOT = resolve('.');
const ENGINE = join(ROOT, 'scripts/containers/engine.sh');
const IMAGES = join(ROOT, 'scripts/containers/images.sh');

/** The legacy builder: BuildKit would pull its `# syntax` frontend from a registry. */
export const DOCKER_ENV = { ...process.env, DOCKER_BUILDKIT: '0' };

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws. Output is kept in memory (commands here print little). */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(command, args, {
      env: options.env ?? DOCKER_ENV,
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      done({ code: -1, stdout, stderr: `${stderr}${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    // A command that exits without reading its input must not fail the writer (EPIPE).
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** `docker …`; resolves with the result whatever the exit status. */
export function docker(args: string[], options: Parameters<typeof run>[2] = {}) {
  return run('docker', args, options);
}

/** `docker …` that must succeed: resolves with its trimmed stdout, throws with its stderr. */
export async function dockerOk(args: string[], options: Parameters<typeof run>[2] = {}) {
  const result = await docker(args, options);
  if (result.code !== 0) {
    throw new Error(`docker ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout.trim();
}

let startedEngine = false;

/**
 * Undefined when a Docker engine answers, after starting one if needed (root only): installs
 * Debian's docker.io and friends when they are missing and runs dockerd in the background.
 * Otherwise why it cannot, for requirePrerequisite.
 */
export async function engineProblem(): Promise<Problem> {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (spawnSync('sh', ['-c', 'command -v docker'], { stdio: 'ignore' }).status !== 0) {
    if (process.getuid?.() !== 0) return 'no docker command, and not root to install it';
  }
  const status = await run('bash', [ENGINE, 'status']);
  if (status.code === 0) return undefined;
  if (process.getuid?.() !== 0) return 'no engine answers, and starting dockerd needs root';
  const started = await run('bash', [ENGINE, 'start'], { timeoutMs: 300_000 });
  if (started.code !== 0) {
    return `scripts/containers/engine.sh start failed: ${started.stderr.trim().split('\n').slice(-5).join(' | ')}`;
  }
  startedEngine = true;
  return undefined;
}

/** Stops the engine if engineProblem started it (bridges, iptables and ip_forward restored). */
export async function stopEngineIfStarted() {
  if (!startedEngine || process.env.MINITWIT_KEEP_ENGINE === 'true') return;
  const stopped = await run('bash', [ENGINE, 'stop'], { timeoutMs: 120_000 });
  if (stopped.code !== 0) throw new Error(`engine.sh stop: ${stopped.stderr}`);
  startedEngine = false;
}

export interface StandIns {
  debian: string;
  node: string;
  postgres: string;
  nginx: string;
  prometheus: string;
  /** Debian unstable's nginx (current upstream), when asked for. */
  nginx_current?: string;
}

/** Makes (or finds, cached) the stand-in images; `current` adds Debian unstable's nginx. */
export async function standIns(current = false): Promise<StandIns> {
  const result = await run('bash', [IMAGES, ...(current ? ['current'] : [])], {
    timeoutMs: 900_000,
  });
  if (result.code !== 0) throw new Error(`scripts/containers/images.sh failed: ${result.stderr}`);
  const images: Record<string, string> = {};
  for (const line of result.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) images[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  for (const name of ['debian', 'node', 'postgres', 'nginx', 'prometheus']) {
    if (!images[name]) throw new Error(`images.sh named no ${name} image: ${result.stdout}`);
  }
  return images as unknown as StandIns;
}

/** The product image's tag in these tests (never pushed anywhere). */
export const PRODUCT = 'minitwit-e2e/minitwit';

/**
 * Builds the product image from the repository's Dockerfile as it is, with the stand-in Node.js
 * base passed as the NODE_IMAGE build argument; `revision` labels a second, otherwise equal
 * build (a new image for a rolling update). Returns the tag and the build's seconds.
 */
export async function buildProduct(
  nodeImage: string,
  revision = 'a',
): Promise<{ image: string; seconds: number }> {
  const image = `${PRODUCT}:${revision}`;
  const started = performance.now();
  const result = await docker(
    [
      'build',
      '--build-arg',
      `NODE_IMAGE=${nodeImage}`,
      '--label',
      `minitwit.e2e.revision=${revision}`,
      '-t',
      image,
      '.',
    ],
    { timeoutMs: 900_000 },
  );
  if (result.code !== 0) {
    throw new Error(`docker build failed: ${result.stdout.slice(-3000)}${result.stderr}`);
  }
  return { image, seconds: (performance.now() - started) / 1000 };
}

/** A self-signed certificate for localhost and 127.0.0.1 in a new directory: cert.pem, key.pem. */
export function certificate(): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'minitwit-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const result = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  if (result.status !== 0) throw new Error('openssl could not make a certificate');
  return { dir, cert, key };
}

/** Polls `check` every `everyMs` until it returns a value other than undefined. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
}

/** GET over HTTP(S) to this machine, self-signed certificates accepted; status, headers, body. */
export async function get(url: string, headers: Record<string, string> = {}) {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (done, fail) => {
      const req = request(
        url,
        { rejectUnauthorized: false, agent: false, headers, timeout: 10_000 },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            done({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', fail);
      req.end();
    },
  );
}

/** The raw header lines named `name` of an HTTPS answer (node would join repeated ones). */
export async function rawHeaderCount(url: string, name: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = httpsRequest(url, { rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      let count = 0;
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        if (res.rawHeaders[i]?.toLowerCase() === name.toLowerCase()) count++;
      }
      res.on('end', () => done(count));
    });
    req.on('error', fail);
    req.end();
  });
}

/** Writes `text` to a new file in a new temporary directory (mode 0644) and returns its path. */
export function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'minitwit-e2e-')), name);
  writeFileSync(path, text, { mode: 0o644 });
  return path;
}

/** Whether something already listens on 0.0.0.0/127.0.0.1 `port` (from /proc/net/tcp*). */
export function portTaken(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local?.endsWith(`:${hex}`)) return true;
    }
  }
  return false;
}
