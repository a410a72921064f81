import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../src/config/paths.js';

/**
 * The shape of src/: which folder may import which. Imports run one way, down: the CLI and the
 * composition root (app.ts) at the top, the front doors under them, then observability, the
 * data operations and the domain, then the database layer, then the settings. A folder not
 * listed here, or an import this table does not allow, fails the test until the table says why.
 */
const MAY_IMPORT: Record<string, string[]> = {
  config: [],
  db: ['config'],
  domain: ['db', 'config'],
  dataops: ['domain', 'db', 'config'],
  observability: ['domain', 'db', 'config'],
  http: ['observability', 'domain', 'db', 'config'],
  runtime: ['observability', 'db', 'config'],
  web: ['http', 'observability', 'domain', 'db', 'config'],
  api: ['http', 'observability', 'domain', 'db', 'config'],
  sim: ['terminal', 'config'],
  terminal: [],
  'app.ts': ['web', 'api', 'http', 'observability', 'domain', 'db', 'config'],
  cli: [
    'app.ts',
    'runtime',
    'web',
    'api',
    'http',
    'sim',
    'terminal',
    'dataops',
    'observability',
    'domain',
    'db',
    'config',
  ],
};

const srcRoot = resolve(packageRoot, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of one file (static, re-exports and dynamic), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]/gms),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] ?? '');
  return specs
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
}

/** The top-level folder (or root file) of src/ a path belongs to. */
const areaOf = (file: string) => relative(srcRoot, file).split('/')[0] ?? '';

const graph = new Map(sources(srcRoot).map((file) => [file, importsOf(file)]));

test('src/ has no folder the import table does not know', () => {
  const areas = new Set([...graph.keys()].map(areaOf));
  const unknown = [...areas].filter((area) => !(area in MAY_IMPORT));
  assert.deepEqual(unknown, [], 'add the new folder to MAY_IMPORT, with what it may import');
});

test('every import in src/ runs down the table (no upward or sideways import)', () => {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    const from = areaOf(file);
    for (const target of imports) {
      const to = areaOf(target);
      if (to === from) continue;
      if (!MAY_IMPORT[from]?.includes(to)) {
        wrong.push(`${relative(srcRoot, file)} -> ${relative(srcRoot, target)}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test('no file in src/ imports one that imports it back (no circle of any length)', () => {
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      const start = path.indexOf(file);
      circles.push([...path.slice(start), file].map((f) => relative(srcRoot, f)).join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(circles, []);
});

test('the check itself sees imports: app.ts imports both front doors', () => {
  const app = graph.get(join(srcRoot, 'app.ts')) ?? [];
  for (const door of ['web/server.ts', 'api/server.ts']) {
    assert.ok(app.includes(join(srcRoot, door)), `app.ts -> ${door}`);
  }
});
