#!/usr/bin/env node
// The simulator CLI: `npm run sim -- <api-url> [options]` (see USAGE in main.ts).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
