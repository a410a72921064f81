import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder, from dist/src/config/paths.js (built) or src/config/paths.ts (sources). */
export const packageRoot = resolve(
  dirname(fileURLToPath(import.meta.url)),
  import.meta.url.includes('/dist/') ? '../../..' : '../..',
);

export const webAssets = resolve(packageRoot, 'src/web');

/**
 * The course simulator's scenario (25,922 tab-separated lines; course/README.md), kept in the
 * repository: the default of `npm run sim` and the workload of the tests and benchmarks.
 */
export const courseScenario = resolve(packageRoot, 'course/minitwit_scenario.csv');

/**
 * A `minitwit.db` written by the reference MiniTwit itself (course/README.md), with its
 * `latest_processed_sim_action_id.txt` beside it: what `minitwit import-legacy` reads.
 */
export const legacyDatabase = resolve(packageRoot, 'course/legacy-minitwit.db');
