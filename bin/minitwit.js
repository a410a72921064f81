#!/usr/bin/env node
// The operator CLI. The TypeScript sources are compiled to dist/ by `npm run build`.
import '../dist/src/cli/main.js';
