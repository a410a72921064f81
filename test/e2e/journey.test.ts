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

/** The flash messages on the page now shown. */
const flashes = (page: Page) => page.locator('.flashes li').allTextContents();
const navLinks = async (page: Page) =>
  (await page.locator('header nav a').allTextContents()).map((t) => t.trim());
const messageTexts = (page: Page) => page.locator('.message .text').allTextContents();
const errorText = async (page: Page) =>
  (await page.locator('.error').textContent())?.replace(/\s+/g, ' ').trim();

async function signUp(page: Page, base: string, fields: Record<string, string>) {
  await page.goto(`${base}/register`);
  for (const [name, value] of Object.entries(fields)) await page.fill(`#${name}`, value);
  await page.getByRole('button', { name: 'Sign Up' }).click();
}

forEachDatabaseInBrowser('browser: a person uses MiniTwit', (kind) => {
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
    test(`register, log in, post, see it everywhere, follow, unfollow, log out (${mode})`, async () => {
      const me = javaScript ? 'Ada Lovelace' : 'Alan Turing';
      const other = javaScript ? 'Grace Hopper' : 'Joan Clarke';
      const theirs = `${other}: hello from the simulator API`;
      assert.equal((await api.register(other)).status, 204);
      assert.equal((await api.tweet(other, theirs)).status, 204);

      const { context, page, blocked } = await newContext(browser, {
        javaScriptEnabled: javaScript,
      });
      const base = server.webUrl;
      const probe = await startForeignSite(
        '<p id="probe">static</p><script>document.getElementById("probe").textContent = "script ran";</script>',
      );
      try {
        // Scripts really are on, or really off, in this browser profile.
        await page.goto(probe.url);
        assert.equal(
          await page.locator('#probe').textContent(),
          javaScript ? 'script ran' : 'static',
        );

        // Anonymous: / goes to the public timeline.
        await page.goto(`${base}/`);
        assert.equal(new URL(page.url()).pathname, '/public');
        assert.equal(await page.title(), 'Public Timeline | MiniTwit');
        assert.deepEqual(await navLinks(page), ['public timeline', 'search', 'sign up', 'sign in']);
        assert.ok((await messageTexts(page)).includes(theirs));

        // Sign up through the navigation link.
        await page.getByRole('link', { name: 'sign up' }).click();
        assert.equal(await page.title(), 'Sign Up | MiniTwit');
        await page.fill('#username', me);
        await page.fill('#email', 'me@example.com');
        await page.fill('#password', 'p4ss "word"');
        await page.fill('#password2', 'p4ss "word"');
        await page.getByRole('button', { name: 'Sign Up' }).click();
        assert.equal(new URL(page.url()).pathname, '/login');
        assert.deepEqual(await flashes(page), [
          'You were successfully registered and can login now',
        ]);

        // Log in.
        await page.fill('#username', me);
        await page.fill('#password', 'p4ss "word"');
        await page.getByRole('button', { name: 'Sign In' }).click();
        assert.equal(new URL(page.url()).pathname, '/');
        assert.equal(await page.title(), 'My Timeline | MiniTwit');
        assert.deepEqual(await flashes(page), ['You were logged in']);
        assert.deepEqual(await navLinks(page), [
          'my timeline',
          'public timeline',
          'search',
          `sign out [${me}]`,
        ]);
        assert.equal(await page.locator('.message').count(), 0);
        assert.equal(
          (await page.locator('.empty').textContent())?.trim(),
          "There's no message so far.",
        );

        // Post a message that looks like markup: it is shown as typed, not interpreted.
        const mine = `<b>bold?</b> & "quoted" from ${me}`;
        await page.fill('#text', mine);
        await page.getByRole('button', { name: 'Share' }).click();
        assert.equal(new URL(page.url()).pathname, '/');
        assert.deepEqual(await flashes(page), ['Your message was recorded']);
        assert.deepEqual(await messageTexts(page), [mine]);
        assert.equal(await page.locator('.message .text b').count(), 0);
        assert.equal(await page.locator('.message .author').first().textContent(), me);
        assert.match(
          (await page.locator('.message time').first().textContent()) ?? '',
          // The reference's text, labelled UTC (contract change: docs/contract.md).
          /^\d{4}-\d\d-\d\d @ \d\d:\d\d UTC$/,
        );

        // An empty message stores nothing and says nothing.
        await page.fill('#text', '');
        await page.getByRole('button', { name: 'Share' }).click();
        assert.deepEqual(await flashes(page), []);
        assert.deepEqual(await messageTexts(page), [mine]);

        // On the public timeline, newest first, then on my own page via the author link.
        await page.getByRole('link', { name: 'public timeline' }).click();
        const publicTexts = await messageTexts(page);
        assert.ok(
          publicTexts.indexOf(mine) >= 0 && publicTexts.indexOf(mine) < publicTexts.indexOf(theirs),
        );
        await page.locator('.message .author', { hasText: me }).first().click();
        assert.equal(new URL(page.url()).pathname, `/${encodeURIComponent(me)}`);
        assert.equal(await page.title(), `${me}'s Timeline | MiniTwit`);
        assert.equal((await page.locator('.relation').textContent())?.trim(), 'This is you!');
        assert.deepEqual(await messageTexts(page), [mine]);

        // Follow the other user from their page.
        await page.goto(`${base}/public`);
        await page.locator('.message .author', { hasText: other }).first().click();
        assert.equal(await page.title(), `${other}'s Timeline | MiniTwit`);
        assert.match(
          (await page.locator('.relation').textContent()) ?? '',
          /You are not yet following this user\./,
        );
        assert.equal(await server.app.domain.isFollowing(...(await ids(me, other))), false);
        await page.getByRole('button', { name: 'Follow user' }).click();
        assert.equal(new URL(page.url()).pathname, `/${encodeURIComponent(other)}`);
        assert.deepEqual(await flashes(page), [`You are now following "${other}"`]);
        assert.match(
          (await page.locator('.relation').textContent()) ?? '',
          /You are currently following this user\./,
        );
        assert.equal(await server.app.domain.isFollowing(...(await ids(me, other))), true);

        // Their message is now on my timeline, below my newer one.
        await page.getByRole('link', { name: 'my timeline' }).click();
        assert.deepEqual(await messageTexts(page), [mine, theirs]);

        // Unfollow: gone from my timeline again.
        await page.goto(`${base}/${encodeURIComponent(other)}`);
        await page.getByRole('button', { name: 'Unfollow user' }).click();
        assert.deepEqual(await flashes(page), [`You are no longer following "${other}"`]);
        assert.match(
          (await page.locator('.relation').textContent()) ?? '',
          /You are not yet following this user\./,
        );
        await page.getByRole('link', { name: 'my timeline' }).click();
        assert.deepEqual(await messageTexts(page), [mine]);

        // Log out.
        await page.getByRole('link', { name: `sign out [${me}]` }).click();
        assert.equal(new URL(page.url()).pathname, '/public');
        assert.deepEqual(await flashes(page), ['You were logged out']);
        assert.deepEqual(await navLinks(page), ['public timeline', 'search', 'sign up', 'sign in']);
        await page.goto(`${base}/`);
        assert.equal(new URL(page.url()).pathname, '/public');

        // Nothing on these pages needs a script: the only one, the composer's counter, is
        // on the home page only, and from this site (contract change: docs/contract.md).
        assert.equal(await page.locator('script').count(), 0);
        // Avatars are drawn by MiniTwit itself: no page asked anyone else for anything.
        assert.deepEqual(blocked, []);
      } finally {
        await context.close();
        await probe.close();
      }
    });
  }

  async function ids(who: string, whom: string): Promise<[number, number]> {
    const [a, b] = await Promise.all([
      server.app.domain.findUser(who),
      server.app.domain.findUser(whom),
    ]);
    assert.ok(a && b);
    return [a.user_id, b.user_id];
  }

  test('the sign-up form shows each error of the contract in order, keeping username and email', async () => {
    assert.equal((await api.register('Taken Name')).status, 204);
    const { context, page } = await newContext(browser);
    const base = server.webUrl;
    try {
      const cases: [Record<string, string>, string][] = [
        [{}, 'You have to enter a username'],
        [{ email: 'x@example.com', password: 'a', password2: 'a' }, 'You have to enter a username'],
        [{ username: 'Newcomer' }, 'You have to enter a valid email address'],
        [{ username: 'Newcomer', email: 'no-at-sign' }, 'You have to enter a valid email address'],
        [{ username: 'Newcomer', email: 'n@example.com' }, 'You have to enter a password'],
        [
          { username: 'Newcomer', email: 'n@example.com', password: 'a', password2: 'b' },
          'The two passwords do not match',
        ],
        [
          { username: 'Taken Name', email: 't@example.com', password: 'a', password2: 'a' },
          'The username is already taken',
        ],
      ];
      for (const [fields, message] of cases) {
        await signUp(page, base, fields);
        const label = JSON.stringify(fields);
        assert.equal(new URL(page.url()).pathname, '/register', label);
        assert.equal(await page.title(), 'Sign Up | MiniTwit', label);
        assert.equal(await errorText(page), `Error: ${message}`, label);
        assert.equal(await page.inputValue('#username'), fields.username ?? '', label);
        assert.equal(await page.inputValue('#email'), fields.email ?? '', label);
        assert.equal(await page.inputValue('#password'), '', label);
      }
      // The form still works after all that.
      await signUp(page, base, {
        username: 'Newcomer',
        email: 'n@example.com',
        password: 'a',
        password2: 'a',
      });
      assert.equal(new URL(page.url()).pathname, '/login');
      assert.deepEqual(await flashes(page), ['You were successfully registered and can login now']);
    } finally {
      await context.close();
    }
  });

  test('the sign-in form says Invalid username / Invalid password and keeps the username', async () => {
    assert.equal((await api.register('Known User', 'known@example.com', 'right')).status, 204);
    const { context, page } = await newContext(browser);
    const base = server.webUrl;
    try {
      for (const [username, password, message] of [
        ['Nobody At All', 'right', 'Invalid username'],
        ['known user', 'right', 'Invalid username'],
        ['Known User', 'wrong', 'Invalid password'],
        ['Known User', 'Right', 'Invalid password'],
      ] as const) {
        await signIn(page, base, username, password);
        assert.equal(new URL(page.url()).pathname, '/login');
        assert.equal(await page.title(), 'Sign In | MiniTwit');
        assert.equal(await errorText(page), `Error: ${message}`);
        assert.equal(await page.inputValue('#username'), username);
        assert.equal(await page.inputValue('#password'), '');
        assert.deepEqual(await navLinks(page), ['public timeline', 'search', 'sign up', 'sign in']);
      }
      await signIn(page, base, 'Known User', 'right');
      assert.equal(new URL(page.url()).pathname, '/');
      // Signed in, the forms send you home.
      for (const path of ['/login', '/register']) {
        await page.goto(base + path);
        assert.equal(new URL(page.url()).pathname, '/', path);
      }
    } finally {
      await context.close();
    }
  });

  test('a flash message shows once, on the next page, and not after a reload', async () => {
    assert.equal((await api.register('Flash Gordon', 'f@example.com', 'pw')).status, 204);
    const { context, page } = await newContext(browser);
    const base = server.webUrl;
    try {
      await signIn(page, base, 'Flash Gordon', 'pw');
      assert.deepEqual(await flashes(page), ['You were logged in']);
      await page.reload();
      assert.deepEqual(await flashes(page), []);
      await page.fill('#text', 'first');
      await page.getByRole('button', { name: 'Share' }).click();
      assert.deepEqual(await flashes(page), ['Your message was recorded']);
      await page.goto(`${base}/public`);
      assert.deepEqual(await flashes(page), []);
      await page.goto(`${base}/logout`);
      assert.deepEqual(await flashes(page), ['You were logged out']);
      await page.goto(`${base}/public`);
      assert.deepEqual(await flashes(page), []);
    } finally {
      await context.close();
    }
  });
});
