/**
 * The command blocks of the repository's documentation, and a runner that types them the way a
 * person would: in a checkout of the repository, one page at a time, in its own network
 * namespace (so the documented default ports 5000, 5001, 9464, 9090 and 5432 are free, whatever
 * else runs on the machine), with a private PostgreSQL on 127.0.0.1:5432 when the page uses one.
 *
 * Fenced blocks by info string:
 *   ```sh run        run here by test/newcomer/first-hour.test.ts, in page order
 *   ```sh container  needs a Docker engine, a cluster or a cloud account: run by the container
 *                    suite (see containerBlocks), never here
 *   ```sh            an illustration, not run
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type BlockKind = 'run' | 'container';

/** The bodies of the fenced `sh <kind>` blocks of a markdown text, in order. */
export function commandBlocks(markdown: string, kind: BlockKind): string[] {
  const blocks: string[] = [];
  const fence = /^```sh (run|container)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (const match of markdown.matchAll(fence)) {
    if (match[1] === kind) blocks.push(match[2] ?? '');
  }
  return blocks;
}

/** Markdown pages of `root`/docs with blocks of `kind`, as [file name, blocks]. */
export function pagesWith(root: string, kind: BlockKind): [string, string[]][] {
  const pages: [string, string[]][] = [];
  for (const name of readdirSync(join(root, 'docs')).sort()) {
    if (!name.endsWith('.md')) continue;
    const blocks = commandBlocks(readFileSync(join(root, 'docs', name), 'utf8'), kind);
    if (blocks.length > 0) pages.push([name, blocks]);
  }
  return pages;
}

/** For the container suite: every `sh container` block of docs/, by page. */
export function containerBlocks(root: string): [string, string[]][] {
  return pagesWith(root, 'container');
}

/** The PostgreSQL server programs (initdb, pg_ctl) of the newest installed major version. */
export function postgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  } catch {
    return undefined;
  }
  for (const version of versions) {
    const bin = join(base, version, 'bin');
    if (spawnSync(join(bin, 'pg_ctl'), ['--version'], { stdio: 'ignore' }).status === 0) return bin;
  }
  return undefined;
}

export interface PageRun {
  code: number | null;
  output: string;
  seconds: number;
}

/**
 * Runs the `sh run` blocks of one page as one bash script (`set -euo pipefail`) in `checkout`,
 * inside a new network namespace with only loopback, and with a private PostgreSQL (trust auth,
 * user postgres) on 127.0.0.1:5432 when `postgres` is true. Leftover processes are killed after.
 * Resolves with the exit code and everything the page printed.
 */
export async function runPage(options: {
  checkout: string;
  script: string;
  env: NodeJS.ProcessEnv;
  postgres?: boolean;
  timeoutMs: number;
}): Promise<PageRun> {
  const work = mkdtempSync(join(tmpdir(), 'minitwit-page-'));
  chmodSync(work, 0o755);
  const page = join(work, 'page.sh');
  writeFileSync(page, `set -euo pipefail\n${options.script}`);
  const pgBin = options.postgres ? postgresBin() : undefined;
  const pgData = join(work, 'pg');
  const harness = [
    'set -eu',
    'ip link set lo up',
    ...(pgBin
      ? [
          `mkdir -p ${pgData} && chown postgres ${pgData}`,
          `runuser -u postgres -- ${pgBin}/initdb -D ${pgData}/data -A trust -U postgres >/dev/null`,
          `runuser -u postgres -- ${pgBin}/pg_ctl -D ${pgData}/data -l ${pgData}/log -w -o "-c listen_addresses=127.0.0.1 -p 5432 -k ${pgData} -c fsync=off" start >/dev/null`,
          `trap 'runuser -u postgres -- ${pgBin}/pg_ctl -D ${pgData}/data -m immediate stop >/dev/null 2>&1 || true' EXIT`,
        ]
      : []),
    `cd ${JSON.stringify(options.checkout)}`,
    `bash ${page}`,
  ].join('\n');
  writeFileSync(join(work, 'harness.sh'), harness);
  const started = performance.now();
  const child = spawn('unshare', ['--net', 'bash', join(work, 'harness.sh')], {
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => {
    output += `\n[page killed after ${options.timeoutMs} ms]\n`;
    killGroup(child.pid);
  }, options.timeoutMs);
  // 'exit', not 'close': a server the page left running would hold the pipes open for ever.
  const closed = new Promise((resolve) => child.on('close', resolve));
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (status) => resolve(status));
  });
  clearTimeout(timer);
  killGroup(child.pid);
  // The rest of the output, once the leftovers are gone (a few seconds at most).
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000))]);
  if (pgBin) {
    spawnSync(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        `${pgBin}/pg_ctl`,
        '-D',
        `${pgData}/data`,
        '-m',
        'immediate',
        'stop',
      ],
      {
        stdio: 'ignore',
      },
    );
  }
  rmSync(work, { recursive: true, force: true });
  return { code, output, seconds: (performance.now() - started) / 1000 };
}

/** Ends every process the page left behind (a server started with `&` that was not stopped). */
function killGroup(pid: number | undefined) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
