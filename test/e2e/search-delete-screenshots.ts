/**
 * Screenshots of the search results page and the delete confirm page at 1280 and 375 px wide,
 * light and dark, for the docs and for a person to look at:
 *   npm run build && node dist/test/e2e/search-delete-screenshots.js [docs/images]
 * Runs a throw-away server on a temporary SQLite database; needs /usr/bin/chromium.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromiumProblem } from '../helpers/chromium.js';
import { startServer } from '../helpers/server.js';
import { launchBrowser, newContext, signIn } from './browser.js';
import { seedPeople } from './seed.js';

// A tool, not a test: it does nothing when the test runner starts it.
if (process.env.NODE_TEST_CONTEXT === undefined) await main();

async function main() {
  const out = resolve(process.argv[2] ?? 'docs/images');
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
    const ada = await server.app.store.findUserByName('Ada Lovelace');
    if (!ada) throw new Error('no Ada');
    const [newest] = await server.app.store.userTimeline(ada.user_id, { limit: 1 });
    if (!newest) throw new Error('Ada has no message');
    for (const [width, height, scheme] of [
      [1280, 900, 'light'],
      [375, 812, 'light'],
      [1280, 900, 'dark'],
      [375, 812, 'dark'],
    ] as const) {
      const { context, page } = await newContext(browser, { width, height, colorScheme: scheme });
      const base = server.webUrl;
      const suffix = `${width}${scheme === 'dark' ? '-dark' : ''}`;
      const shot = async (name: string) => {
        const file = join(out, `${name}-${suffix}.png`);
        await page.screenshot({ path: file, fullPage: width > 400 });
        console.log(file);
      };
      await signIn(page, base, 'Ada Lovelace', 'secret');
      await page.waitForURL(`${base}/`);
      await page.goto(`${base}/search?q=${encodeURIComponent('ship')}`);
      await shot('search-results');
      await page.goto(`${base}/search?q=${encodeURIComponent('loom')}`);
      await shot('search-escaping');
      await page.goto(`${base}/search?q=${encodeURIComponent('hop')}`);
      await shot('search-users');
      await page.goto(`${base}/public`);
      await page.goto(`${base}/messages/${newest.messageId}/delete`);
      await shot('delete-confirm');
      await context.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
}
