import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SimClient } from '../helpers/clients.js';
import { useServer } from '../helpers/server.js';
import { forEachDatabaseInBrowser, launchBrowser, newContext, signIn } from './browser.js';
import { seedPeople } from './seed.js';

const messageTexts = (page: Page) => page.locator('.message .text').allTextContents();
const flashes = (page: Page) => page.locator('.flashes li').allTextContents();
const path = (page: Page) => {
  const url = new URL(page.url());
  return url.pathname + url.search;
};

/** What has the keyboard focus: its tag, id, text and accessible label, and its outline. */
function focused(page: Page) {
  return page.evaluate(() => {
    // Runs in the page; the test code is compiled without the DOM's types.
    const g = globalThis as unknown as {
      document: { activeElement: FocusedElement | null };
      getComputedStyle(e: FocusedElement): { outlineStyle: string; outlineWidth: string };
    };
    const e = g.document.activeElement;
    if (!e) return { tag: '', id: '', text: '', label: '', outline: 0 };
    const style = g.getComputedStyle(e);
    return {
      tag: e.tagName.toLowerCase(),
      id: e.id,
      text: (e.textContent ?? '').trim(),
      label: e.getAttribute('aria-label') ?? (e as unknown as { value?: string }).value ?? '',
      outline: style.outlineStyle === 'none' ? 0 : Number.parseFloat(style.outlineWidth),
    };
  });
}

interface FocusedElement {
  tagName: string;
  id: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
}

/**
 * Presses Tab (only Tab) until the focused element matches `wanted`, at most 60 times; fails
 * when it never does. Every element the focus lands on must show a focus ring of at least 2 px.
 */
async function tabTo(page: Page, wanted: (f: Awaited<ReturnType<typeof focused>>) => boolean) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (now.tag === 'a' || now.tag === 'button' || now.tag === 'input' || now.tag === 'textarea') {
      assert.ok(now.outline >= 2, `a visible focus ring on ${now.tag} "${now.text || now.id}"`);
    }
    if (wanted(now)) return now;
  }
  assert.fail('Tab never reached the wanted element');
}

forEachDatabaseInBrowser(
  'browser: keyboard journey, profile lists, paging both ways, return-to',
  (kind) => {
    let browser: Browser;
    let api: SimClient;
    after(async () => {
      await browser?.close();
    });
    const server = useServer(kind);
    before(async () => {
      browser = await launchBrowser();
      api = new SimClient(server.apiUrl);
      await seedPeople(server);
    });

    test('keyboard only: sign up, sign in, post and follow with Tab, typing and Enter', async () => {
      const { context, page } = await newContext(browser);
      const base = server.webUrl;
      await page.goto(`${base}/public`);
      await tabTo(page, (f) => f.tag === 'a' && f.text === 'sign up');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${base}/register`);

      await tabTo(page, (f) => f.id === 'username');
      await page.keyboard.type('Keys Only');
      for (const [id, text] of [
        ['email', 'keys@example.com'],
        ['password', 'pw-by-keys'],
        ['password2', 'pw-by-keys'],
      ] as const) {
        await page.keyboard.press('Tab');
        assert.equal((await focused(page)).id, id);
        await page.keyboard.type(text);
      }
      await page.keyboard.press('Tab');
      assert.equal((await focused(page)).label, 'Sign Up');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${base}/login`);
      assert.deepEqual(await flashes(page), ['You were successfully registered and can login now']);

      await tabTo(page, (f) => f.id === 'username');
      await page.keyboard.type('Keys Only');
      await page.keyboard.press('Tab');
      await page.keyboard.type('pw-by-keys');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${base}/`);
      assert.deepEqual(await flashes(page), ['You were logged in']);

      await tabTo(page, (f) => f.id === 'text');
      await page.keyboard.type('Typed, shared and followed without a mouse.');
      await tabTo(page, (f) => f.tag === 'button' && f.text === 'Share');
      // The same address before and after: wait for the next page to load instead.
      await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
      assert.deepEqual(await flashes(page), ['Your message was recorded']);
      assert.deepEqual(await messageTexts(page), ['Typed, shared and followed without a mouse.']);

      // A new account is offered people to follow; their buttons are reachable by Tab.
      await tabTo(page, (f) => f.tag === 'button' && f.label === 'Follow Grace Hopper');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${base}/Grace%20Hopper`);
      assert.deepEqual(await flashes(page), ['You are now following "Grace Hopper"']);
      await context.close();
    });

    test('a profile shows its counts and pages through who it follows and who follows it', async () => {
      const star = 'Popular Person';
      assert.equal((await api.register(star)).status, 204);
      const fans = Array.from({ length: 55 }, (_, i) => `fan ${String(i + 1).padStart(2, '0')}`);
      for (const fan of fans) {
        assert.equal((await api.register(fan)).status, 204);
        assert.equal((await api.follow(fan, star)).status, 204);
      }
      assert.equal((await api.follow(star, 'Ada Lovelace')).status, 204);
      assert.equal((await api.tweet(star, 'one message')).status, 204);
      const { context, page } = await newContext(browser);
      const base = server.webUrl;
      await page.goto(`${base}/Popular%20Person`);
      assert.deepEqual(
        (await page.locator('.counts li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ')),
        ['1 message', '1 following', '55 followers'],
      );
      await page.getByRole('link', { name: '1 following' }).click();
      assert.equal(path(page), '/Popular%20Person/following');
      assert.deepEqual(await page.locator('.users .author').allTextContents(), ['Ada Lovelace']);

      await page.goto(`${base}/Popular%20Person`);
      await page.getByRole('link', { name: '55 followers' }).click();
      assert.equal(path(page), '/Popular%20Person/followers');
      const first = await page.locator('.users .author').allTextContents();
      assert.deepEqual(first, fans.slice(0, 50));
      assert.equal(await page.getByRole('link', { name: /Previous/ }).count(), 0);
      await page.getByRole('link', { name: /Next/ }).click();
      assert.deepEqual(await page.locator('.users .author').allTextContents(), fans.slice(50));
      assert.equal(await page.getByRole('link', { name: /Next/ }).count(), 0);
      await page.getByRole('link', { name: /Previous/ }).click();
      assert.deepEqual(await page.locator('.users .author').allTextContents(), first);
      await page.getByRole('link', { name: 'fan 07' }).click();
      assert.equal(path(page), '/fan%2007');
      await context.close();
    });

    test('paging goes to older and back to newer messages, and stays put while messages arrive', async () => {
      const writer = 'Busy Writer';
      assert.equal((await api.register(writer)).status, 204);
      for (let i = 1; i <= 65; i++) {
        assert.equal((await api.tweet(writer, `busy ${i}`)).status, 204);
      }
      const range = (from: number, to: number) =>
        Array.from({ length: from - to + 1 }, (_, k) => `busy ${from - k}`);
      const { context, page } = await newContext(browser);
      await page.goto(`${server.webUrl}/Busy%20Writer`);
      assert.deepEqual(await messageTexts(page), range(65, 36));
      assert.equal(await page.getByRole('link', { name: /Newer messages/ }).count(), 0);
      await page.getByRole('link', { name: /Older messages/ }).click();
      assert.deepEqual(await messageTexts(page), range(35, 6));
      // Five new messages while the reader is on page 2: no page shifts.
      for (let i = 66; i <= 70; i++) {
        assert.equal((await api.tweet(writer, `busy ${i}`)).status, 204);
      }
      await page.getByRole('link', { name: /Older messages/ }).click();
      assert.deepEqual(await messageTexts(page), range(5, 1));
      assert.equal(await page.getByRole('link', { name: /Older messages/ }).count(), 0);
      await page.getByRole('link', { name: /Newer messages/ }).click();
      assert.match(path(page), /^\/Busy%20Writer\?after=\d+$/);
      assert.deepEqual(await messageTexts(page), range(35, 6));
      await page.getByRole('link', { name: /Newer messages/ }).click();
      assert.deepEqual(await messageTexts(page), range(65, 36));
      await page.getByRole('link', { name: /Newer messages/ }).click();
      assert.deepEqual(await messageTexts(page), range(70, 66));
      assert.equal(await page.getByRole('link', { name: /Newer messages/ }).count(), 0);
      await page.getByRole('link', { name: /Older messages/ }).click();
      assert.deepEqual(await messageTexts(page), range(65, 36));
      await context.close();
    });

    test('signing in returns to the page it was asked from; other sites are never a return', async () => {
      const { context, page } = await newContext(browser);
      const base = server.webUrl;
      await page.goto(`${base}/Grace%20Hopper`);
      await page.getByRole('link', { name: 'sign in' }).click();
      assert.equal(path(page), '/login?next=%2FGrace%2520Hopper');
      await page.fill('#username', 'Ada Lovelace');
      await page.fill('#password', 'secret');
      await page.getByRole('button', { name: 'Sign In' }).click();
      assert.equal(path(page), '/Grace%20Hopper');
      assert.deepEqual(await flashes(page), ['You were logged in']);
      await context.close();

      for (const evil of ['//127.0.0.2/', '/\\127.0.0.2/', 'http://127.0.0.2/', '/%09/127.0.0.2']) {
        const fresh = await newContext(browser);
        await fresh.page.goto(`${base}/login?next=${encodeURIComponent(evil)}`);
        await fresh.page.fill('#username', 'Ada Lovelace');
        await fresh.page.fill('#password', 'secret');
        await fresh.page.getByRole('button', { name: 'Sign In' }).click();
        assert.equal(new URL(fresh.page.url()).origin, new URL(base).origin, evil);
        assert.equal(fresh.blocked.length, 0, `${evil}: no request left the site`);
        await fresh.context.close();
      }
    });

    test('a message typed when the session ended comes back in the box after signing in', async () => {
      const { context, page } = await newContext(browser);
      const base = server.webUrl;
      await signIn(page, base, 'Grace Hopper', 'secret');
      const draft = 'Line one of a long thought,\nline two — with ünïcödé and "quotes" <b>.';
      await page.fill('#text', draft);
      await context.clearCookies(); // the session ends (expired, or signed out in another tab)
      await page.getByRole('button', { name: 'Share' }).click();
      assert.match(await page.locator('main').innerText(), /Your message is kept/);
      await page.getByRole('link', { name: 'Sign in' }).first().click();
      await page.fill('#username', 'Grace Hopper');
      await page.fill('#password', 'secret');
      await page.getByRole('button', { name: 'Sign In' }).click();
      assert.equal(path(page), '/');
      assert.equal(await page.locator('#text').inputValue(), draft);
      assert.match(
        await page.locator('#text-left').innerText(),
        /^9\d\d of 1,000 characters left$/,
      );
      await page.getByRole('button', { name: 'Share' }).click();
      assert.deepEqual(await flashes(page), ['Your message was recorded']);
      assert.equal((await messageTexts(page))[0], draft);
      // Given back once: the next visit has an empty box.
      await page.goto(`${base}/`);
      assert.equal(await page.locator('#text').inputValue(), '');
      await context.close();
    });

    test('the composer counts what is left as you type (script), and says the limit without it', async () => {
      for (const javaScriptEnabled of [true, false]) {
        const { context, page } = await newContext(browser, { javaScriptEnabled });
        await signIn(page, server.webUrl, 'Margaret Hamilton', 'secret');
        const counter = page.locator('#text-left');
        assert.equal(await counter.innerText(), '1,000 of 1,000 characters left');
        assert.equal(await page.locator('#text').getAttribute('maxlength'), '1000');
        await page.fill('#text', 'x'.repeat(970));
        assert.equal(
          await counter.innerText(),
          javaScriptEnabled ? '30 of 1,000 characters left' : '1,000 of 1,000 characters left',
        );
        await context.close();
      }
    });
  },
);
