import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missingCommands } from './prerequisites.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/prerequisite-policy.js', import.meta.url));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The TAP summary counts: tests, pass, fail, skipped, … */
  counts: Record<string, number>;
}

/** Runs the fixture suite under `node --test` in a child process, CI as given (or unset). */
function runFixture(ci: string | undefined): Run {
  const env = { ...process.env };
  // The child is a run of its own, not a part of this one.
  delete env.NODE_TEST_CONTEXT;
  delete env.CI;
  if (ci !== undefined) env.CI = ci;
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', FIXTURE], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const counts: Record<string, number> = {};
  for (const [, name, n] of run.stdout.matchAll(/^# (\w+) (\d+)$/gm)) {
    counts[name as string] = Number(n);
  }
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, counts };
}

describe('the prerequisite rule (helpers/prerequisites.ts)', () => {
  test('without CI=true a missing prerequisite is a skipped test with the reason, said loudly', () => {
    const run = runFixture(undefined);
    const output = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, output);
    assert.deepEqual(
      {
        tests: run.counts.tests,
        pass: run.counts.pass,
        fail: run.counts.fail,
        skipped: run.counts.skipped,
      },
      { tests: 5, pass: 3, fail: 0, skipped: 2 },
      output,
    );
    assert.match(
      run.stdout,
      /# SKIP absent suite tool is not available \(not installed: policy-fixture-tool\): the fixture suite did NOT run/,
    );
    assert.match(
      run.stdout,
      /# SKIP absent test tool is not available \(not installed: policy-fixture-tool\): the fixture test did NOT run/,
    );
    assert.doesNotMatch(output, /ran although missing/);
    for (const tool of ['absent suite tool', 'absent test tool', 'absent partial tool']) {
      assert.match(output, new RegExp(`!!! ${tool} is not available`), tool);
    }
  });

  test('with CI=true every missing prerequisite is a failing test', () => {
    const run = runFixture('true');
    const output = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 1, output);
    // A failed `before` hook (partlyNeeds) leaves its tests cancelled: not passed either.
    const { tests, pass, fail = 0, cancelled = 0, skipped } = run.counts;
    assert.deepEqual(
      { tests, pass, notPassed: fail + cancelled, skipped },
      { tests: 5, pass: 2, notPassed: 3, skipped: 0 },
      output,
    );
    assert.match(
      run.stdout,
      /not ok \d+ - absent suite tool is available \(required when CI=true\)/,
    );
    assert.match(run.stdout, /not ok \d+ - a test whose prerequisite is missing/);
    assert.match(run.stdout, /not ok \d+ - runs the rest/);
    assert.doesNotMatch(output, /ran although missing/);
  });

  test('missingCommands names the commands that are not on PATH', () => {
    assert.equal(missingCommands(['sh', 'node']), undefined);
    assert.equal(
      missingCommands(['sh', 'no-such-command-for-minitwit'], 'install it'),
      'not installed: no-such-command-for-minitwit; install it',
    );
  });
});
