/**
 * The pictures of the pages issue 14 added or changed, for docs/images (each at 1280 and 375 px
 * wide, light; the profile also dark):
 *   npm run build && node dist/test/e2e/feature-screenshots.js [docs/images]
 * Runs a throw-away server on a temporary SQLite database; needs /usr/bin/chromium. Only the
 * first screenful is kept, so the files stay small.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromiumProblem } from '../helpers/chromium.js';
import { SimClient } from '../helpers/clients.js';
import { startServer } from '../helpers/server.js';
import { launchBrowser, newContext, signIn } from './browser.js';
import { seedPeople } from './seed.js';

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
    const api = new SimClient(server.apiUrl);
    for (const fan of ['Alan Turing', 'Barbara Liskov', 'Edsger Dijkstra']) {
      await api.register(fan);
      await api.follow(fan, 'Ada Lovelace');
    }
    // Enough messages for a middle page, which links both ways.
    for (let i = 1; i <= 30; i++) await api.tweet('Alan Turing', `Machine thought number ${i}.`);
    const base = server.webUrl;
    const runs = [
      [1280, 720, 'light'],
      [375, 720, 'light'],
      [1280, 720, 'dark'],
    ] as const;
    for (const [width, height, colorScheme] of runs) {
      const { context, page } = await newContext(browser, { width, height, colorScheme });
      const shot = async (name: string) => {
        const file = join(out, `i14-${name}-${width}${colorScheme === 'dark' ? '-dark' : ''}.png`);
        await page.screenshot({ path: file });
        console.log(file);
      };
      await page.goto(`${base}/Ada%20Lovelace`);
      await shot('profile');
      if (colorScheme === 'dark') {
        await context.close();
        continue;
      }
      await page.goto(`${base}/Ada%20Lovelace/followers`);
      await shot('followers');
      await page.goto(`${base}/Ada%20Lovelace/following`);
      await shot('following');
      await page.goto(`${base}/public`);
      await page.getByRole('link', { name: /Older messages/ }).click();
      // The end of the page, where the links both ways are.
      await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
      await shot('public-page-2-newer-older');
      await page.goto(`${base}/Grace%20Hopper`);
      await page.getByRole('link', { name: 'sign in' }).click();
      await shot('login-return-to');
      await page.fill('#username', 'Ada Lovelace');
      await page.fill('#password', 'secret');
      await page.getByRole('button', { name: 'Sign In' }).click();
      await page.goto(`${base}/`);
      await page.fill(
        '#text',
        'Drafting a longer thought.\nIt has a second line, and the box says what is left.',
      );
      await page.locator('#text').focus();
      await shot('composer');
      await context.clearCookies();
      await page.getByRole('button', { name: 'Share' }).click();
      await shot('signed-out-post-kept');
      await page.getByRole('link', { name: 'Sign in' }).first().click();
      await page.fill('#username', 'Ada Lovelace');
      await page.fill('#password', 'secret');
      await page.getByRole('button', { name: 'Sign In' }).click();
      await shot('draft-restored');
      await context.close();

      const fresh = await newContext(browser, { width, height, colorScheme });
      const name = `Newcomer ${width}`;
      await api.register(name);
      await signIn(fresh.page, base, name, 'secret');
      await fresh.page.screenshot({ path: join(out, `i14-new-account-suggestions-${width}.png`) });
      console.log(join(out, `i14-new-account-suggestions-${width}.png`));
      await fresh.context.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
}
