/**
 * Screenshots of the main pages at desktop and phone width, for a person to look at:
 *   npm run build && node dist/test/e2e/screenshots.js [/tmp/minitwit-screens]
 * Runs a throw-away server on a temporary SQLite database; needs /usr/bin/chromium.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumProblem } from '../helpers/chromium.js';
import { startServer } from '../helpers/server.js';
import { launchBrowser, newContext, startForeignSite } from './browser.js';
import { seedPeople } from './seed.js';

// `npm test` runs every file under dist/test (Node 20 takes a directory's .js files as tests);
// this is a tool, not a test, so it does nothing when the test runner starts it.
if (process.env.NODE_TEST_CONTEXT === undefined) await main();

async function main() {
  const out = resolve(process.argv[2] ?? '/tmp/minitwit-screens');
  mkdirSync(out, { recursive: true });
  const problem = chromiumProblem();
  if (problem) {
    console.error(`Chromium is not available: ${problem}`);
    process.exitCode = 2;
    return;
  }

  const server = await startServer('sqlite');
  const browser = await launchBrowser();
  try {
    await seedPeople(server);
    for (const [label, width, height, colorScheme] of [
      ['desktop', 1280, 900, 'light'],
      ['phone', 360, 740, 'light'],
      ['dark-desktop', 1280, 900, 'dark'],
    ] as const) {
      const { context, page } = await newContext(browser, { width, height, colorScheme });
      const base = server.webUrl;
      const shot = async (name: string) => {
        const file = join(out, `${label}-${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        // The first screenful too: what a person sees before scrolling.
        await page.screenshot({ path: file.replace(/\.png$/, '-top.png') });
        console.log(file);
      };
      const go = async (path: string, name: string) => {
        await page.goto(base + path);
        await shot(name);
      };
      await go('/public', 'public');
      await go(`/${encodeURIComponent('Ada Lovelace')}`, 'user-anonymous');
      await go('/register', 'register');
      await submit(page, '#username', 'Ada Lovelace');
      await shot('register-error');
      await go('/login', 'login');
      await page.fill('#username', 'Ada Lovelace');
      await page.fill('#password', 'wrong');
      await page.click('[type=submit]');
      await shot('login-error');
      await page.fill('#password', 'secret');
      await page.click('[type=submit]');
      await shot('my-timeline-flash');
      await go(`/${encodeURIComponent('Grace Hopper')}`, 'user-following');
      await go(`/${encodeURIComponent('Margaret Hamilton')}`, 'user-not-following');
      await go(`/${encodeURIComponent('Ada Lovelace')}`, 'user-self');
      await go('/public?before=9', 'public-page-2');
      await go('/nobody-here', 'not-found');
      const foreign = await startForeignSite(
        `<a id="bait" href="${base}/${encodeURIComponent('Margaret Hamilton')}/follow">free cake</a>`,
      );
      await page.goto(foreign.url);
      await page.click('#bait');
      await page.waitForURL(/\/follow$/);
      await shot('confirm');
      await foreign.close();
      await context.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

async function submit(page: Page, selector: string, value: string) {
  await page.fill(selector, value);
  await page.click('[type=submit]');
}
