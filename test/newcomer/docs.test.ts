/**
 * The documentation holds together without running anything: every link stays inside the
 * repository and leads somewhere, the README's data commands are the ones the operator pages run
 * (first-hour.test.ts runs those), and what the app writes by default stays out of git and out of
 * the image.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_DATABASE_URL } from '../../src/config/config.js';
import { packageRoot } from '../../src/config/paths.js';
import { commandBlocks } from './pages.js';

const read = (path: string) => readFileSync(join(packageRoot, path), 'utf8');

function markdownFiles(): string[] {
  return [
    'README.md',
    'course/README.md',
    'test/e2e/README.md',
    ...readdirSync(join(packageRoot, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
  ];
}

test('every link of the README and docs/ leads to a file inside the repository', () => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    const text = read(file);
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = (match[1] ?? '').split('#')[0] ?? '';
      if (target === '' || /^[a-z]+:/.test(target)) continue;
      const path = resolve(packageRoot, file, '..', target);
      const inside = !relative(packageRoot, path).startsWith('..');
      if (!inside || !existsSync(path)) broken.push(`${file}: ${match[1]}`);
    }
    if (/\.\.\/shared|\/work\/shared/.test(text)) broken.push(`${file}: mentions ../shared`);
  }
  assert.deepEqual(broken, []);
});

test("the README's data commands are the ones the operator pages run", () => {
  const runnable = readdirSync(join(packageRoot, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .flatMap((name) => commandBlocks(read(`docs/${name}`), 'run'))
    .join('\n')
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim());
  const readmeCommands = [...read('README.md').matchAll(/^```sh\n([\s\S]*?)^```$/gm)]
    .flatMap((m) => (m[1] ?? '').split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => /^(npx minitwit|npm run sim)/.test(line));
  assert.ok(readmeCommands.length >= 3, 'replay, seed and legacy import lines');
  const missing = readmeCommands.filter((line) => !runnable.includes(line));
  assert.deepEqual(missing, []);
});

test('what the app writes by default stays out of git and of the image', () => {
  // The database (DATABASE_URL's default) and backups (backup --dir's default).
  const defaults = [DEFAULT_DATABASE_URL.replace(/^sqlite:\.\/([^/]+)\/.*$/, '$1'), 'backups'];
  assert.deepEqual(defaults, ['data', 'backups']);
  const gitignore = read('.gitignore').split('\n');
  const dockerignore = read('.dockerignore').split('\n');
  for (const folder of defaults) {
    assert.ok(gitignore.includes(`${folder}/`), `.gitignore lists ${folder}/`);
    assert.ok(dockerignore.includes(folder), `.dockerignore lists ${folder}`);
  }
  for (const pattern of ['*.jsonl.gz', '*.pgdump', '*.sqlite']) {
    assert.ok(gitignore.includes(pattern), `.gitignore lists ${pattern}`);
    assert.ok(dockerignore.includes(pattern), `.dockerignore lists ${pattern}`);
  }
});
