import { existsSync } from 'node:fs';

/** The Debian Chromium every browser suite drives; never a downloaded browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless, no sandbox (root), and none of Chromium's own connections: this machine's network
 * refuses them, many at a time.
 */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why a browser suite cannot run here, or undefined when it can. */
export function browserProblem(suite = 'the browser suite'): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  return `Chromium is not installed at ${CHROMIUM} (apt-get install chromium); ${suite} did NOT run`;
}
