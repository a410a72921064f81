import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { missingCommands, requirePrerequisite } from '../helpers/prerequisites.js';
import { childPids, freePort } from './processes.js';

export const NGINX_DIR = resolve('deploy/nginx');

/**
 * Suite level (see requirePrerequisite): true when the Debian tools these tests drive are on
 * PATH; otherwise declares the failing (CI=true) or skipped test in their place and returns false.
 */
export function requireTools(tools: string[]): boolean {
  return requirePrerequisite(
    tools.join(', '),
    missingCommands(tools, '.ci/run installs them'),
    'these deployment tests',
  );
}

/** Replaces every ${MINITWIT_*} as envsubst would; a placeholder without a value is an error. */
export function renderTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(MINITWIT_[A-Z0-9_]+)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for \${${name}} in the nginx template`);
    return value;
  });
}

/** A self-signed certificate for localhost/127.0.0.1 (ECDSA P-256, one day). */
export function selfSignedCertificate(dir: string) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
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
  return { cert, key };
}

export interface Backend {
  webPort: number;
  apiPort: number;
}

/**
 * The shipped nginx configuration, rendered into a temporary prefix with loopback listeners,
 * a self-signed certificate and upstreams over the given backends.
 */
export class NginxSite {
  readonly dir: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly apiPort: number;
  proc: ChildProcess | undefined;
  readonly output: string[] = [];

  private constructor(dir: string, ports: [number, number, number]) {
    this.dir = dir;
    [this.httpPort, this.httpsPort, this.apiPort] = ports;
  }

  get httpUrl() {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get webUrl() {
    return `https://127.0.0.1:${this.httpsPort}`;
  }

  get apiUrl() {
    return `https://127.0.0.1:${this.apiPort}`;
  }

  static async render(backends: Backend[]): Promise<NginxSite> {
    const dir = mkdtempSync(join(tmpdir(), 'minitwit-nginx-'));
    // nginx workers run as nobody: they must reach the cache directory below.
    chmodSync(dir, 0o755);
    const site = new NginxSite(dir, [await freePort(), await freePort(), await freePort()]);
    mkdirSync(join(dir, 'conf.d'));
    copyFileSync(join(NGINX_DIR, 'nginx.conf'), join(dir, 'nginx.conf'));
    copyFileSync('/etc/nginx/mime.types', join(dir, 'mime.types'));
    const { cert, key } = selfSignedCertificate(dir);
    const servers = (port: (b: Backend) => number) =>
      backends.map((b) => `  server 127.0.0.1:${port(b)} max_fails=1 fail_timeout=5s;`).join('\n');
    // Static upstream blocks, named by the variables the site template proxies to.
    writeFileSync(
      join(dir, 'upstreams.conf'),
      `upstream minitwit_web_servers {\n${servers((b) => b.webPort)}\n}\n` +
        `upstream minitwit_api_servers {\n${servers((b) => b.apiPort)}\n}\n` +
        'map $host $minitwit_web {\n  default minitwit_web_servers;\n}\n' +
        'map $host $minitwit_api {\n  default minitwit_api_servers;\n}\n',
    );
    const template = readFileSync(join(NGINX_DIR, 'templates/minitwit.conf.template'), 'utf8');
    writeFileSync(
      join(dir, 'conf.d/minitwit.conf'),
      renderTemplate(template, {
        MINITWIT_SERVER_NAME: 'localhost',
        MINITWIT_HTTP_LISTEN: `127.0.0.1:${site.httpPort}`,
        MINITWIT_HTTPS_LISTEN: `127.0.0.1:${site.httpsPort}`,
        MINITWIT_HTTPS_PORT: String(site.httpsPort),
        MINITWIT_API_LISTEN: `127.0.0.1:${site.apiPort}`,
        MINITWIT_TLS_CERT: cert,
        MINITWIT_TLS_KEY: key,
        MINITWIT_UPSTREAMS: join(dir, 'upstreams.conf'),
        MINITWIT_CACHE_DIR: join(dir, 'cache'),
      }),
    );
    return site;
  }

  private args(): string[] {
    const globals = `daemon off; pid ${join(this.dir, 'nginx.pid')}; error_log ${join(this.dir, 'error.log')} warn;`;
    return ['-p', `${this.dir}/`, '-c', join(this.dir, 'nginx.conf'), '-g', globals];
  }

  /** `nginx -t` on the rendered configuration: exit status and what nginx said. */
  check(): { status: number | null; output: string } {
    // stdout must not be a socket: the access log goes to /dev/stdout.
    const result = spawnSync('nginx', ['-t', ...this.args()], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}${this.errorLog()}` };
  }

  async start() {
    const proc = spawn('nginx', this.args(), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    proc.stderr?.on('data', (c: Buffer) => this.output.push(c.toString()));
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      if (proc.exitCode !== null) {
        throw new Error(
          `nginx exited (${proc.exitCode}): ${this.output.join('')} ${this.errorLog()}`,
        );
      }
      try {
        const res = await fetch(`${this.httpUrl}/`, { redirect: 'manual' });
        if (res.status === 301) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`nginx did not start: ${this.errorLog()}`);
  }

  errorLog(): string {
    try {
      return readFileSync(join(this.dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops nginx (QUIT, then KILL) and removes its directory. */
  async stop() {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGQUIT');
      const gone = () => Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!(await gone())) {
        proc.kill('SIGTERM');
        if (!(await gone()) && proc.pid !== undefined) {
          for (const worker of childPids(proc.pid)) process.kill(worker, 'SIGKILL');
          proc.kill('SIGKILL');
          await exited;
        }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
