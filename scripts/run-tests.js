#!/usr/bin/env node
// Runs the compiled test suite with Node's test runner. `npm test` builds first.
// Test files are dist/test/**/*.test.js; pass files or folders (and runner flags such as
// --test-name-pattern) to narrow a run.
//
// Files run one at a time: several suites replay the scenario under the course simulator's
// 0.3 s timeout, and on a 2-core machine a browser or a three-instance topology running beside
// them turns that into a measure of the machine's load rather than of MiniTwit.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

if (!existsSync('dist/test')) {
  console.error('dist/test is missing: run `npm run build` first');
  process.exit(2);
}

function testFiles(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .flatMap((entry) => {
      const child = join(path, entry.name);
      if (entry.isDirectory()) return testFiles(child);
      return entry.name.endsWith('.test.js') ? [child] : [];
    })
    .sort();
}

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('-'));
const roots = args.filter((a) => !a.startsWith('-'));
const files = (roots.length ? roots : ['dist/test']).flatMap(testFiles);
const concurrency = process.env.TEST_CONCURRENCY ?? '1';
const result = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=900000', ...flags, ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
