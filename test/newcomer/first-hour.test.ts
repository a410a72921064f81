/**
 * A newcomer's and an operator's first hour, for real. The repository's committed HEAD is cloned
 * into a temporary folder (nothing beside it: no ../shared), then every `sh run` block of the
 * operator pages in docs/ is typed as written, page by page, starting with first-run.md and its
 * `npm ci`. Each page runs in its own network namespace (pages.ts), so the documented default
 * ports are free. The time of each page is reported (a diagnostic, never asserted).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageRoot } from '../../src/config/paths.js';
import { missingCommands, requirePrerequisite } from '../helpers/prerequisites.js';
import { commandBlocks, pagesWith, postgresBin, runPage } from './pages.js';

/** The operator pages in the order a newcomer meets them; each needs the one before it run. */
const PAGES = [
  'first-run.md',
  'seed.md',
  'replay.md',
  'backup-and-restore.md',
  'move-to-postgresql.md',
  'rotate-secrets.md',
  'scale.md',
  'dashboards.md',
];

/** What the pages need from the machine besides Node (.ci/run installs all of it). */
function problem(): string | undefined {
  if (process.getuid?.() !== 0) return 'the pages run in network namespaces, which needs root';
  const missing = missingCommands(
    ['git', 'unshare', 'ip', 'runuser', 'curl', 'openssl', 'createdb', 'prometheus'],
    'bash .ci/run installs them',
  );
  if (missing) return missing;
  if (spawnSync('unshare', ['--net', 'true']).status !== 0) {
    return 'unshare --net fails here (no network namespaces)';
  }
  if (!postgresBin())
    return 'no PostgreSQL server programs (initdb, pg_ctl) under /usr/lib/postgresql';
  return undefined;
}

/** The environment of a person at a shell: none of the test run's own settings. */
function newcomerEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'USER', 'SHELL', 'TMPDIR'];
  const env: NodeJS.ProcessEnv = {};
  for (const name of keep) if (process.env[name] !== undefined) env[name] = process.env[name];
  return {
    ...env,
    // The npm cache of this machine is used first: the install is what is tested, not the network.
    npm_config_prefer_offline: 'true',
    npm_config_update_notifier: 'false',
  };
}

describe('a newcomer on a fresh clone', () => {
  if (!requirePrerequisite('the newcomer walk-through', problem(), 'the docs pages')) return;

  let dir = '';
  let checkout = '';
  const timings: string[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'minitwit-newcomer-'));
    checkout = join(dir, 'minitwit');
    const clone = spawnSync('git', ['clone', '--quiet', packageRoot, checkout], {
      encoding: 'utf8',
    });
    assert.equal(clone.status, 0, clone.stderr);
  });

  after(() => {
    if (timings.length > 0) process.stderr.write(`\nnewcomer pages:\n${timings.join('\n')}\n`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the clone refers to nothing outside itself', () => {
    // Only CI's entry point may know the machine's layout, and these guards name what they look for.
    const grep = spawnSync(
      'git',
      [
        'grep',
        '-n',
        '-e',
        '../shared',
        '-e',
        '/work/shared',
        '--',
        '.',
        ':!.ci/run',
        ':!test/newcomer',
      ],
      { cwd: checkout, encoding: 'utf8' },
    );
    const lines = grep.stdout.split('\n').filter((l) => l !== '');
    assert.deepEqual(lines, []);
    assert.ok(existsSync(join(checkout, 'course/minitwit_scenario.csv')));
    assert.ok(existsSync(join(checkout, 'docs/contract.md')));
  });

  test('before any build, the CLI says in one line how to build', () => {
    const run = spawnSync(process.execPath, ['bin/minitwit.js', '--help'], {
      cwd: checkout,
      encoding: 'utf8',
    });
    assert.equal(run.status, 2);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, 'minitwit: the CLI is not built yet: run `npm run build` first\n');
  });

  test('every page with runnable commands is in the walk-through', () => {
    assert.deepEqual(
      pagesWith(packageRoot, 'run')
        .map(([name]) => name)
        .sort(),
      [...PAGES].sort(),
    );
  });

  for (const name of PAGES) {
    test(`docs/${name}: its commands run as written`, async () => {
      const text = readFileSync(join(checkout, 'docs', name), 'utf8');
      const script = commandBlocks(text, 'run').join('\n');
      // Every page starts from a checkout with dependencies and a build, and no data yet.
      for (const folder of ['data', 'backups']) {
        rmSync(join(checkout, folder), { recursive: true, force: true });
      }
      const run = await runPage({
        checkout,
        script,
        env: newcomerEnv(),
        postgres: /createdb|postgres:\/\//.test(script),
        timeoutMs: name === 'first-run.md' ? 30 * 60_000 : 15 * 60_000,
      });
      timings.push(`  ${name.padEnd(24)} ${run.seconds.toFixed(0).padStart(5)} s`);
      assert.equal(run.code, 0, `docs/${name} failed:\n${run.output.slice(-6000)}`);
      if (name === 'first-run.md') {
        assert.doesNotMatch(
          run.output,
          /npm warn|EBADENGINE|deprecated/i,
          'npm ci is warning-free',
        );
        assert.match(run.output, /^usage: minitwit <command>/m);
      }
      if (name === 'replay.md') {
        assert.match(run.output, /^actions: 25922$/m, 'the whole scenario from course/');
        assert.match(run.output, /^errors: 0$/m);
        assert.match(run.output, /\{"latest":25921\}/);
      }
      if (name === 'seed.md') {
        assert.match(run.output, /^\s*100001$/m);
        assert.match(run.output, /^\s*2323$/m);
      }
    });
  }
});
