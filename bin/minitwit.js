#!/usr/bin/env node
// The operator CLI. The TypeScript sources are compiled to dist/ by `npm run build`; before that
// there is nothing to run, and one line says so instead of a module-not-found stack trace.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('minitwit: the CLI is not built yet: run `npm run build` first\n');
  process.exit(2);
}
await import(main.href);
