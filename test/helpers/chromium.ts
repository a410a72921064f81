import { existsSync } from 'node:fs';
import { requirePrerequisite } from './prerequisites.js';

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

/** Why Chromium cannot be driven here, or undefined when it can (see prerequisites.ts). */
export function chromiumProblem(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  return `not installed at ${CHROMIUM}; apt-get install chromium`;
}

/**
 * Suite level (see requirePrerequisite): true when Chromium is there; otherwise declares the
 * failing (CI=true) or skipped test in its place and returns false.
 *
 * @param what the suite that needs it, for the message
 */
export function requireChromium(what: string): boolean {
  return requirePrerequisite('Chromium', chromiumProblem(), what);
}
