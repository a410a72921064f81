import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SimClient } from '../helpers/clients.js';
import { useServer } from '../helpers/server.js';
import {
  forEachDatabaseInBrowser,
  launchBrowser,
  newContext,
  startForeignSite,
} from './browser.js';

/** The text of the page's `flashes` element, exactly as the DOM holds it. */
const flashText = async (page: Page) =>
  (await page.locator('.flashes').count()) === 0
    ? ''
    : await page
        .locator('.flashes')
        .first()
        .evaluate((e) => e.textContent ?? '');

forEachDatabaseInBrowser('browser: the course way, and forms from other origins', (kind) => {
  let browser: Browser;
  let api: SimClient;
  // Registered before useServer's hooks, so the browser closes before the server does.
  after(async () => {
    await browser?.close();
  });
  const server = useServer(kind);
  before(async () => {
    browser = await launchBrowser();
    api = new SimClient(server.apiUrl);
  });

  for (const javaScript of [true, false]) {
    const mode = javaScript ? 'with JavaScript' : 'with JavaScript disabled';
    test(`sign up and in as the course's browser test finds the forms: by class "actions" and input position (${mode})`, async () => {
      const name = javaScript ? 'Course Tester' : 'Course Tester Nojs';
      const { context, page } = await newContext(browser, { javaScriptEnabled: javaScript });
      try {
        await page.goto(`${server.webUrl}/register`);
        await page.waitForSelector('.actions');
        const inputs = page.locator('input');
        for (const [i, value] of [name, 'course@example.com', 'secret', 'secret'].entries()) {
          await inputs.nth(i).fill(value);
        }
        await Promise.all([page.waitForURL(/\/login$/), inputs.nth(4).press('Enter')]);
        assert.equal(await flashText(page), 'You were successfully registered and can login now');

        await page.waitForSelector('.actions');
        await inputs.nth(0).fill(name);
        await inputs.nth(1).fill('secret');
        await Promise.all([page.waitForURL(`${server.webUrl}/`), inputs.nth(2).press('Enter')]);
        assert.equal(await flashText(page), 'You were logged in');
        assert.equal(await page.title(), 'My Timeline | MiniTwit');
      } finally {
        await context.close();
      }
    });
  }

  test('a real form post from another origin of the same site, and from another site, is refused and changes nothing', async () => {
    assert.equal((await api.register('Target User')).status, 204);
    assert.equal((await api.register('Victim User', 'victim@example.com', 'pw')).status, 204);
    const victim = await server.app.domain.findUser('Victim User');
    const target = await server.app.domain.findUser('Target User');
    assert.ok(victim && target);
    const base = server.webUrl;
    const forms = `
      <form method="post" action="${base}/add_message"><input name="text" value="forged by another origin"><button id="post">post</button></form>
      <form method="post" action="${base}/${encodeURIComponent('Target User')}/follow"><button id="follow">follow</button></form>
      <form method="post" action="${base}/logout"><button id="logout">logout</button></form>`;
    const sibling = await startForeignSite(forms, '127.0.0.1'); // same site, another port
    const elsewhere = await startForeignSite(forms); // 127.0.0.2: another site
    const { context, page } = await newContext(browser);
    try {
      await page.goto(`${base}/login`);
      await page.fill('#username', 'Victim User');
      await page.fill('#password', 'pw');
      await Promise.all([page.waitForURL(`${base}/`), page.click('[type=submit]')]);
      const messages = async () => (await api.get('/msgs/Victim%20User')).json.length as number;

      for (const [label, site, expected] of [
        ['same site, another port', sibling, 'same-site'],
        ['another site', elsewhere, 'cross-site'],
      ] as const) {
        for (const button of ['#post', '#follow', '#logout']) {
          await page.goto(site.url);
          const [response] = await Promise.all([page.waitForNavigation(), page.click(button)]);
          assert.equal(response?.status(), 403, `${label} ${button}`);
          assert.match((await page.textContent('main')) ?? '', /came from another site/);
          // What Chromium sent, as the server logged it when it refused.
          const refusal = JSON.parse(
            server.logs.filter((l) => l.includes('cross-origin request refused')).at(-1) ?? '{}',
          ) as { secFetchSite?: string; signedIn?: boolean };
          assert.equal(refusal.secFetchSite, expected, `${label} ${button}: Sec-Fetch-Site`);
          // SameSite=Lax sends the session cookie along from the same site: only the origin
          // check stops it there. From another site the cookie stays home.
          assert.equal(refusal.signedIn, expected === 'same-site', `${label} ${button}: cookie`);
        }
      }
      assert.equal(await messages(), 0, 'no message stored');
      assert.equal(await server.app.domain.isFollowing(victim.user_id, target.user_id), false);
      await page.goto(`${base}/`);
      assert.equal(new URL(page.url()).pathname, '/', 'still signed in');

      // The same forms on MiniTwit's own pages work: the post box, then the follow button.
      await page.fill('#text', 'from my own page');
      await Promise.all([
        page.waitForURL(`${base}/`),
        page.getByRole('button', { name: 'Share' }).click(),
      ]);
      assert.equal(await flashText(page), 'Your message was recorded');
      await page.goto(`${base}/${encodeURIComponent('Target User')}`);
      await page.getByRole('button', { name: 'Follow user' }).click();
      assert.equal(await flashText(page), 'You are now following "Target User"');
      assert.equal(await messages(), 1);
      assert.equal(await server.app.domain.isFollowing(victim.user_id, target.user_id), true);
    } finally {
      await context.close();
      await sibling.close();
      await elsewhere.close();
    }
  });
});
