import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder, from dist/src/config/paths.js (built) or src/config/paths.ts (sources). */
export const packageRoot = resolve(
  dirname(fileURLToPath(import.meta.url)),
  import.meta.url.includes('/dist/') ? '../../..' : '../..',
);

export const webAssets = resolve(packageRoot, 'src/web');
