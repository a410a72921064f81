import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SimClient } from '../helpers/clients.js';
import { useServer } from '../helpers/server.js';
import {
  forEachDatabaseInBrowser,
  launchBrowser,
  newContext,
  signIn,
  startForeignSite,
} from './browser.js';

const flashes = (page: Page) => page.locator('.flashes li').allTextContents();
const messageTexts = (page: Page) => page.locator('.message .text').allTextContents();

forEachDatabaseInBrowser('browser: deleting one own message, and search', (kind) => {
  let browser: Browser;
  let api: SimClient;
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
    test(`delete: a link on my own messages, a confirm page, back with a flash (${mode})`, async () => {
      const me = javaScript ? 'Del Ada' : 'Del Alan';
      const other = javaScript ? 'Del Grace' : 'Del Joan';
      assert.equal((await api.register(me, `${me.replace(' ', '')}@x.dk`, 'pw')).status, 204);
      assert.equal((await api.register(other, `${other.replace(' ', '')}@x.dk`, 'pw')).status, 204);
      assert.equal((await api.tweet(other, `${other} keeps talking`)).status, 204);
      const { context, page } = await newContext(browser, { javaScriptEnabled: javaScript });
      const base = server.webUrl;
      try {
        await signIn(page, base, me, 'pw');
        await page.waitForURL(`${base}/`);
        for (const text of ['first thought', 'second thought, regretted']) {
          await page.fill('#text', text);
          await Promise.all([
            page.waitForURL(`${base}/`),
            page.getByRole('button', { name: 'Share' }).click(),
          ]);
        }
        await page.goto(`${base}/public`);
        const mine = page.locator('.message', { hasText: 'second thought, regretted' });
        const theirs = page.locator('.message', { hasText: `${other} keeps talking` });
        assert.equal(await theirs.getByRole('link', { name: /delete/i }).count(), 0);
        await mine.getByRole('link', { name: 'Delete this message' }).click();
        assert.match(page.url(), /\/messages\/\d+\/delete$/);
        assert.equal(await page.locator('h1').textContent(), 'Delete this message?');
        assert.equal(
          (await page.locator('.quoted-message .text').textContent())?.trim(),
          'second thought, regretted',
        );
        // Going back changes nothing.
        await page.getByRole('link', { name: 'Keep it and go back' }).click();
        assert.equal(page.url(), `${base}/public`);
        assert.ok((await messageTexts(page)).includes('second thought, regretted'));

        await mine.getByRole('link', { name: 'Delete this message' }).click();
        await Promise.all([
          page.waitForURL(`${base}/public`),
          page.getByRole('button', { name: 'Delete message' }).click(),
        ]);
        assert.deepEqual(await flashes(page), ['Your message was deleted']);
        const left = await messageTexts(page);
        assert.ok(!left.includes('second thought, regretted'));
        assert.ok(left.includes('first thought'));
        for (const path of ['/', `/${encodeURIComponent(me)}`]) {
          await page.goto(base + path);
          assert.ok(!(await messageTexts(page)).includes('second thought, regretted'), path);
        }
        const listed = await api.request('GET', `/msgs/${encodeURIComponent(me)}?no=10`);
        assert.deepEqual(
          (listed.json as { content: string }[]).map((m) => m.content),
          ['first thought'],
        );
      } finally {
        await context.close();
      }
    });
  }

  test('delete: a form on another site cannot delete my message', async () => {
    const me = 'Del Victim';
    assert.equal((await api.register(me, 'victim@x.dk', 'pw')).status, 204);
    assert.equal((await api.tweet(me, 'do not delete me')).status, 204);
    const user = await server.app.store.findUserByName(me);
    assert.ok(user);
    const [message] = await server.app.store.userTimeline(user.user_id, { limit: 1 });
    assert.ok(message);
    const base = server.webUrl;
    const site = await startForeignSite(
      `<form method="post" action="${base}/messages/${message.messageId}/delete"><button id="go">go</button></form>`,
      '127.0.0.1',
    );
    const { context, page } = await newContext(browser);
    try {
      await signIn(page, base, me, 'pw');
      await page.waitForURL(`${base}/`);
      await page.goto(site.url);
      const [response] = await Promise.all([page.waitForNavigation(), page.click('#go')]);
      assert.equal(response?.status(), 403);
      await page.goto(`${base}/public`);
      assert.ok((await messageTexts(page)).includes('do not delete me'));
    } finally {
      await context.close();
      await site.close();
    }
  });

  for (const javaScript of [true, false]) {
    const mode = javaScript ? 'with JavaScript' : 'with JavaScript disabled';
    test(`search: from the navigation, users then messages, escaped, paged (${mode})`, async () => {
      const word = javaScript ? 'zucchini' : 'aubergine';
      const author = javaScript ? 'Searchable Sam' : 'Searchable Sue';
      assert.equal(
        (await api.register(author, `${author.replace(' ', '')}@x.dk`, 'pw')).status,
        204,
      );
      const tricky = `<img src=x onerror="document.title='pwned'"> ${word} & "friends"`;
      assert.equal((await api.tweet(author, tricky)).status, 204);
      for (let i = 1; i <= 31; i++) {
        assert.equal((await api.tweet(author, `${word} number ${i}`)).status, 204);
      }
      const { context, page } = await newContext(browser, { javaScriptEnabled: javaScript });
      const base = server.webUrl;
      try {
        await page.goto(`${base}/public`);
        await page.locator('header nav').getByRole('link', { name: 'search' }).click();
        assert.equal(page.url(), `${base}/search`);
        await page.getByLabel('Search messages and users').fill(`${word.toUpperCase()} "`);
        await page.getByRole('button', { name: 'Search' }).click();
        await page.waitForURL(/\/search\?q=/);
        assert.equal(await page.locator('#q').inputValue(), `${word.toUpperCase()} "`);
        const firstPage = await messageTexts(page);
        assert.equal(firstPage.length, 30);
        assert.equal(firstPage[0], `${word} number 31`);
        assert.equal(
          await page.locator('.message .text img').count(),
          0,
          'no markup from a message',
        );
        await page.getByRole('link', { name: /Older messages/ }).click();
        assert.deepEqual(await messageTexts(page), [`${word} number 1`, tricky]);
        assert.notEqual(await page.title(), 'pwned');

        await page.goto(
          `${base}/search?q=${encodeURIComponent(author.split(' ')[1]?.slice(0, 3) ?? '')}`,
        );
        const users = await page.locator('.user-list a').allTextContents();
        assert.ok(users.includes(author), JSON.stringify(users));
        await page.locator('.user-list').getByRole('link', { name: author }).click();
        assert.equal(page.url(), `${base}/${encodeURIComponent(author)}`);
      } finally {
        await context.close();
      }
    });
  }
});
