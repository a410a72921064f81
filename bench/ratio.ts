// The ratio phase: MiniTwit side by side with the bare program (bench/bare.ts) doing the same
// work over the same database, in interleaved rounds of the same wrk settings. Optionally a
// build of an older revision ("before") is measured in the same rounds.
import { execFileSync } from 'node:child_process';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../src/config/paths.js';
import { seedUsername, userIndexForRank } from '../src/dataops/bulk.js';
import { type MiniTwitChild, startBare, startMiniTwit } from './server.js';
import { type WrkResult, wrk } from './wrk.js';

/** The data the ratio phase runs on: 1,000 users, 10,000 messages, 20,000 follows. */
export const RATIO_DATA = { users: 1000, messages: 10_000, follows: 20_000 };

export interface RatioOptions {
  connections: number;
  seconds: number;
  rounds: number;
  auth: string;
  /** Where scripts and log files go. */
  work: string;
  /** A checkout of an older revision, built, to measure in the same rounds. */
  beforeRoot?: string | undefined;
  /** The before build's own database (seeded by it: its migrations may be older than ours). */
  beforeUrl?: string | undefined;
  log: (line: string) => void;
  /** Only the works whose name contains one of these (all by default). */
  only?: string[] | undefined;
  /** node arguments for the MiniTwit process (--cpu-prof, say). */
  nodeArgs?: string[];
}

export interface RatioRow {
  database: string;
  work: string;
  bare: number;
  minitwit: number;
  ratio: number;
  before?: number | undefined;
  beforeRatio?: number | undefined;
  /** Non-2xx answers and socket errors over every round, per program. */
  errors: { bare: number; minitwit: number; before?: number | undefined };
}

const lua = (s: string) => JSON.stringify(s);

interface Work {
  name: string;
  door: 'api' | 'web';
  script: string;
}

/** The works measured: each simulator hot path and /public; writes carry ?latest=. */
function works(users: string[], auth: string): Work[] {
  const list = `local users = {${users.map((u) => lua(encodeURIComponent(u))).join(', ')}}
local names = {${users.map(lua).join(', ')}}
local n = 0
math.randomseed(${Math.floor(Math.random() * 1e6)})
local json = {["Authorization"] = ${lua(auth)}, ["Content-Type"] = "application/json"}
local plain = {["Authorization"] = ${lua(auth)}}
`;
  const req = (body: string) => `${list}request = function()
  n = n + 1
  local i = math.random(#users)
  ${body}
end
`;
  return [
    {
      name: 'tweet POST /msgs/<user>?latest=N',
      door: 'api',
      script: req(
        `return wrk.format("POST", "/msgs/" .. users[i] .. "?latest=" .. n, json, '{"content": "ratio message ' .. n .. '"}')`,
      ),
    },
    {
      name: 'follow POST /fllws/<user>?latest=N',
      door: 'api',
      script: req(
        `return wrk.format("POST", "/fllws/" .. users[i] .. "?latest=" .. n, json, '{"follow": "' .. names[math.random(#names)] .. '"}')`,
      ),
    },
    {
      name: 'GET /msgs?no=100',
      door: 'api',
      script: req('return wrk.format("GET", "/msgs?no=100", plain)'),
    },
    {
      name: 'GET /msgs/<user>?no=100',
      door: 'api',
      script: req('return wrk.format("GET", "/msgs/" .. users[i] .. "?no=100", plain)'),
    },
    {
      name: 'GET /fllws/<user>?no=100',
      door: 'api',
      script: req('return wrk.format("GET", "/fllws/" .. users[i] .. "?no=100", plain)'),
    },
    { name: 'web GET /public', door: 'web', script: req('return wrk.format("GET", "/public")') },
  ];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/**
 * Builds revision `rev` of this repository in a temporary worktree (its node_modules shared when
 * package-lock.json is the same, else installed with npm ci); returns its folder.
 */
export function buildRevision(rev: string, work: string, log: (line: string) => void): string {
  const dir = join(work, `before-${rev.replace(/[^\w.-]/g, '_')}`);
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: packageRoot, encoding: 'utf8' }).trim();
  const sha = git('rev-parse', '--verify', `${rev}^{commit}`);
  log(`before: building ${rev} (${sha.slice(0, 10)}) in ${dir}`);
  git('worktree', 'add', '--detach', '--force', dir, sha);
  const sameLock =
    git('show', `${sha}:package-lock.json`) ===
    execFileSync('cat', [resolve(packageRoot, 'package-lock.json')], { encoding: 'utf8' }).trim();
  if (sameLock && existsSync(resolve(packageRoot, 'node_modules'))) {
    symlinkSync(resolve(packageRoot, 'node_modules'), join(dir, 'node_modules'));
  } else {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'ignore' });
  }
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: dir, stdio: 'ignore' });
  return dir;
}

/** Removes the worktree buildRevision made. */
export function removeRevision(dir: string) {
  execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: packageRoot });
}

/**
 * Runs the ratio phase on the (seeded, migrated) database at `url`: bare, MiniTwit (and the
 * before build) up at once, each work measured on each in turn, the order alternating between
 * rounds; the median req/s of the rounds is kept.
 */
export async function ratioPhase(
  kind: string,
  url: string,
  options: RatioOptions,
): Promise<RatioRow[]> {
  const { connections, seconds, rounds, auth, work, log } = options;
  const users = Array.from({ length: 200 }, (_, r) =>
    seedUsername(userIndexForRank(r, RATIO_DATA.users)),
  );
  const targets: {
    name: 'bare' | 'minitwit' | 'before';
    child: MiniTwitChild | Awaited<ReturnType<typeof startBare>>;
  }[] = [];
  try {
    // MiniTwit first: it migrates the database (nothing to do after the seed) and warms up.
    targets.push({
      name: 'minitwit',
      child: await startMiniTwit(url, {
        logLevel: 'info',
        logFile: join(work, `minitwit-${kind}.log`),
        nodeArgs: options.nodeArgs ?? [],
      }),
    });
    if (options.beforeRoot) {
      targets.push({
        name: 'before',
        child: await startMiniTwit(options.beforeUrl ?? url, {
          root: options.beforeRoot,
          logLevel: 'info',
          logFile: join(work, `before-${kind}.log`),
        }),
      });
    }
    targets.push({ name: 'bare', child: await startBare(url, auth) });
    const results = new Map<string, { rps: number[]; errors: number }>();
    const all = works(users, auth).filter(
      (w) => !options.only?.length || options.only.some((o) => w.name.includes(o)),
    );
    for (const w of all) writeFileSync(join(work, `${w.name.replace(/\W+/g, '_')}.lua`), w.script);
    for (let round = 0; round < rounds; round++) {
      for (const w of all) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          const base = w.door === 'api' ? t.child.apiUrl : t.child.webUrl;
          const script = join(work, `${w.name.replace(/\W+/g, '_')}.lua`);
          const r: WrkResult = await wrk(base, { connections, seconds, script });
          const key = `${w.name}|${t.name}`;
          const entry = results.get(key) ?? { rps: [], errors: 0 };
          entry.rps.push(r.rps);
          entry.errors += r.errors;
          results.set(key, entry);
          log(`${kind} round ${round + 1}: ${w.name} ${t.name} ${r.rps.toFixed(0)} req/s`);
        }
      }
    }
    return all.map((w) => {
      const get = (name: string) => results.get(`${w.name}|${name}`);
      const bare = median(get('bare')?.rps ?? [0]);
      const minitwit = median(get('minitwit')?.rps ?? [0]);
      const before = get('before') ? median(get('before')?.rps ?? [0]) : undefined;
      return {
        database: kind,
        work: w.name,
        bare,
        minitwit,
        ratio: minitwit / bare,
        before,
        beforeRatio: before === undefined ? undefined : before / bare,
        errors: {
          bare: get('bare')?.errors ?? 0,
          minitwit: get('minitwit')?.errors ?? 0,
          before: get('before')?.errors,
        },
      };
    });
  } finally {
    for (const t of targets) await t.child.stop();
  }
}

/** The ratio rows as a Markdown table. */
export function ratioTable(rows: RatioRow[]): string {
  const before = rows.some((r) => r.before !== undefined);
  const head = before
    ? '| database | work | bare req/s | MiniTwit req/s | ratio | before req/s | before ratio | errors (bare/MiniTwit/before) |\n|---|---|---:|---:|---:|---:|---:|---|'
    : '| database | work | bare req/s | MiniTwit req/s | ratio | errors (bare/MiniTwit) |\n|---|---|---:|---:|---:|---|';
  const lines = rows.map((r) => {
    const base = `| ${r.database} | ${r.work} | ${r.bare.toFixed(0)} | ${r.minitwit.toFixed(0)} | **${r.ratio.toFixed(2)}**`;
    return before
      ? `${base} | ${(r.before ?? 0).toFixed(0)} | ${(r.beforeRatio ?? 0).toFixed(2)} | ${r.errors.bare}/${r.errors.minitwit}/${r.errors.before ?? 0} |`
      : `${base} | ${r.errors.bare}/${r.errors.minitwit} |`;
  });
  return [head, ...lines].join('\n');
}
