#!/usr/bin/env node
// Runs the compiled test suite with Node's test runner. `npm test` builds first.
// Test files are dist/test/**/*.test.js; pass paths or --test-name-pattern to narrow a run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync('dist/test')) {
  console.error('dist/test is missing: run `npm run build` first');
  process.exit(2);
}
const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-timeout=600000',
    ...flags,
    ...(files.length ? files : ['dist/test']),
  ],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
