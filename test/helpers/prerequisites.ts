/**
 * The one rule for what the tests need from the machine (PostgreSQL, Chromium, nginx, promtool,
 * prometheus, pg_dump, …): when a prerequisite is missing the run says so loudly on stderr, and
 *   - under CI=true that is a failing test (CI installs everything: a missing piece is a fault);
 *   - otherwise it is a skipped test whose reason names what is missing and what did NOT run.
 * A missing prerequisite never turns into a pass. test/helpers/prerequisites.test.ts holds this
 * policy to both halves.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

/** Why a prerequisite cannot be used (a sentence), or undefined when it can. */
export type Problem = string | undefined;

/** True when a missing prerequisite fails the run (CI=true), false when it is skipped. */
export function prerequisitesRequired(): boolean {
  return process.env.CI === 'true';
}

function announce(message: string) {
  process.stderr.write(`\n!!! ${message}\n\n`);
}

function missingMessage(name: string, problem: string, what: string) {
  return `${name} is not available (${problem}): ${what} did NOT run`;
}

/**
 * Suite level: call at the top of a `describe` body (or of a suite callback) before declaring
 * any test. Returns true when the prerequisite is there and the caller declares its tests.
 * Otherwise it announces the problem on stderr, declares one test in its place — failing under
 * CI=true, skipped with the reason elsewhere — and returns false: the caller declares nothing.
 *
 * @param name what is needed, as a person would name it ("PostgreSQL", "nginx, openssl")
 * @param problem why it cannot be used, or undefined when it can
 * @param what the tests that depend on it, for the message ("the topology test")
 */
export function requirePrerequisite(
  name: string,
  problem: Problem,
  what = 'the tests that need it',
): boolean {
  if (problem === undefined) return true;
  const message = missingMessage(name, problem, what);
  announce(message);
  if (prerequisitesRequired()) {
    test(`${name} is available (required when CI=true)`, () => {
      throw new Error(message);
    });
  } else {
    test(`${name} is available`, { skip: message }, () => {});
  }
  return false;
}

/**
 * Test level: call first thing in a test that checks for itself. Returns true when the
 * prerequisite is there. Otherwise it announces the problem and, under CI=true, throws (the test
 * fails); elsewhere it marks the test skipped with the reason and returns false: the caller
 * returns at once.
 *
 * @param t the running test's context (anything with `skip(message)`)
 * @throws Error naming the prerequisite when it is missing under CI=true
 */
export function needs(
  t: { skip(message?: string): void },
  name: string,
  problem: Problem,
  what = 'this test',
): boolean {
  if (problem === undefined) return true;
  const message = missingMessage(name, problem, what);
  announce(message);
  if (prerequisitesRequired()) throw new Error(message);
  t.skip(message);
  return false;
}

/**
 * For a suite that goes on without the prerequisite, testing less (in a `before` hook, say).
 * Returns true when it is there. Otherwise it announces what is NOT tested and, under CI=true,
 * throws (the hook, and so the suite, fails); elsewhere it returns false and the caller leaves
 * out what needs it.
 *
 * @param lost what goes untested without it ("the pg_dump backup is NOT tested")
 * @throws Error naming the prerequisite when it is missing under CI=true
 */
export function partlyNeeds(name: string, problem: Problem, lost: string): boolean {
  if (problem === undefined) return true;
  const message = `${name} is not available (${problem}): ${lost}`;
  announce(message);
  if (prerequisitesRequired()) throw new Error(message);
  return false;
}

/**
 * Undefined when every command is on PATH, else which are not, with `hint` on how to get them.
 * Names are taken as written (constants of the tests, never input).
 */
export function missingCommands(commands: string[], hint?: string): Problem {
  const missing = commands.filter(
    (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length === 0) return undefined;
  return `not installed: ${missing.join(', ')}${hint ? `; ${hint}` : ''}`;
}
