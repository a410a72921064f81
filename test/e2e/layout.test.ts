import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SimClient } from '../helpers/clients.js';
import { useServer } from '../helpers/server.js';
import {
  forEachDatabaseInBrowser,
  horizontalOverflow,
  launchBrowser,
  newContext,
  signIn,
  startForeignSite,
} from './browser.js';
import { LONG_NAME, seedPeople } from './seed.js';

const messageTexts = (page: Page) => page.locator('.message .text').allTextContents();
const flashes = (page: Page) => page.locator('.flashes li').allTextContents();
const path = (page: Page) => {
  const url = new URL(page.url());
  return url.pathname + url.search;
};

async function signInAs(page: Page, base: string, username: string, password = 'secret') {
  await signIn(page, base, username, password);
  assert.equal(new URL(page.url()).pathname, '/', `signed in as ${username}`);
}

forEachDatabaseInBrowser('browser: paging, cross-site links, phone width, avatars', (kind) => {
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
    await seedPeople(server);
  });

  test('older messages page by 30, and a page stays the same while new messages arrive', async () => {
    const pager = 'Page Turner';
    assert.equal((await api.register(pager)).status, 204);
    for (let i = 1; i <= 35; i++) {
      assert.equal((await api.tweet(pager, `page message ${i}`)).status, 204);
    }
    const expected = (from: number, to: number) =>
      Array.from({ length: from - to + 1 }, (_, k) => `page message ${from - k}`);
    const { context, page } = await newContext(browser);
    const base = server.webUrl;
    try {
      await page.goto(`${base}/${encodeURIComponent(pager)}`);
      assert.deepEqual(await messageTexts(page), expected(35, 6));
      // Three new messages arrive while the reader is on the first page.
      for (let i = 1; i <= 3; i++) await api.tweet(pager, `late message ${i}`);
      await page.getByRole('link', { name: /Older messages/ }).click();
      assert.match(path(page), /^\/Page%20Turner\?before=\d+$/);
      assert.deepEqual(await messageTexts(page), expected(5, 1));
      assert.equal(await page.getByRole('link', { name: /Older messages/ }).count(), 0);
      // Back on the first page the new ones lead.
      await page.goto(`${base}/${encodeURIComponent(pager)}`);
      assert.deepEqual(await messageTexts(page), [
        'late message 3',
        'late message 2',
        'late message 1',
        ...expected(35, 9),
      ]);

      // The public timeline, followed page by page to the end, is every visible message once,
      // newest first: the same list the API gives.
      const all = ((await api.get('/msgs?no=100000')).json as { content: string }[]).map(
        (m) => m.content,
      );
      assert.ok(all.length > 60, 'enough messages for three pages');
      const seen: string[] = [];
      await page.goto(`${base}/public`);
      for (let pages = 1; ; pages++) {
        const texts = await messageTexts(page);
        assert.ok(texts.length <= 30);
        seen.push(...texts);
        const older = page.getByRole('link', { name: /Older messages/ });
        if ((await older.count()) === 0) break;
        assert.equal(texts.length, 30, `page ${pages} is full when an older one follows`);
        assert.ok(pages < 10);
        await older.click();
      }
      assert.deepEqual(seen, all);

      // My timeline pages too.
      await signInAs(page, base, pager);
      assert.equal((await messageTexts(page)).length, 30);
      await page.getByRole('link', { name: /Older messages/ }).click();
      assert.deepEqual(await messageTexts(page), expected(8, 1));

      // A cursor that is not a positive whole number is a clear 400 page, not a 500.
      const bad = await page.goto(`${base}/public?before=abc`);
      assert.equal(bad?.status(), 400);
      assert.match((await page.locator('.error').textContent()) ?? '', /before/);
    } finally {
      await context.close();
    }
  });

  test('a follow or unfollow link on another site only shows a confirmation and changes nothing', async () => {
    const victim = 'Vic Tim';
    const target = 'Tar Get';
    await api.register(victim);
    await api.register(target);
    const [v, t] = await Promise.all([
      server.app.domain.findUser(victim),
      server.app.domain.findUser(target),
    ]);
    assert.ok(v && t);
    const following = () => server.app.domain.isFollowing(v.user_id, t.user_id);
    const base = server.webUrl;
    const targetUrl = `${base}/${encodeURIComponent(target)}`;
    const foreign = await startForeignSite(
      `<a id="follow" href="${targetUrl}/follow">win a prize</a>
       <a id="unfollow" href="${targetUrl}/unfollow">see more</a>
       <form method="post" action="${targetUrl}/follow"><button id="forge">go</button></form>`,
    );
    const { context, page } = await newContext(browser);
    try {
      // Anonymous: the link needs a sign-in.
      await page.goto(foreign.url);
      const [anonymous] = await Promise.all([page.waitForNavigation(), page.click('#follow')]);
      assert.equal(anonymous?.status(), 401);
      // The page says why and offers the way in.
      assert.equal(await page.getByRole('link', { name: 'Sign in', exact: true }).count(), 1);

      await signInAs(page, base, victim);
      await page.goto(foreign.url);
      const [response] = await Promise.all([page.waitForNavigation(), page.click('#follow')]);
      assert.equal(response?.status(), 200);
      assert.equal(new URL(page.url()).pathname, `/${encodeURIComponent(target)}/follow`);
      assert.equal(await page.title(), `Follow ${target}? | MiniTwit`);
      assert.deepEqual(await flashes(page), []);
      assert.equal(await following(), false);
      // The person can still say yes, with a real button.
      await page.getByRole('button', { name: 'Follow user' }).click();
      assert.equal(new URL(page.url()).pathname, `/${encodeURIComponent(target)}`);
      assert.deepEqual(await flashes(page), [`You are now following "${target}"`]);
      assert.equal(await following(), true);

      // An unfollow link from elsewhere: confirmation, and "Back" leaves things as they were.
      await page.goto(foreign.url);
      await Promise.all([page.waitForNavigation(), page.click('#unfollow')]);
      assert.equal(await page.title(), `Unfollow ${target}? | MiniTwit`);
      assert.equal(await page.getByRole('button', { name: 'Unfollow user' }).count(), 1);
      await page.getByRole('link', { name: 'Back' }).click();
      assert.equal(new URL(page.url()).pathname, `/${encodeURIComponent(target)}`);
      assert.equal(await following(), true);

      // A form posted from the other site gets no further.
      await page.goto(foreign.url);
      const [forged] = await Promise.all([page.waitForNavigation(), page.click('#forge')]);
      assert.ok([401, 403].includes(forged?.status() ?? 0), `status ${forged?.status()}`);
      assert.equal(await following(), true);

      // The reference's GET link still works when the person types or follows it on MiniTwit.
      await page.goto(`${targetUrl}/unfollow`);
      assert.equal(new URL(page.url()).pathname, `/${encodeURIComponent(target)}`);
      assert.deepEqual(await flashes(page), [`You are no longer following "${target}"`]);
      assert.equal(await following(), false);
    } finally {
      await context.close();
      await foreign.close();
    }
  });

  test('nothing overflows sideways at a 360 px wide screen', async () => {
    const { context, page } = await newContext(browser, { width: 360, height: 740 });
    const base = server.webUrl;
    const long = `/${encodeURIComponent(LONG_NAME)}`;
    const checked: string[] = [];
    const check = async (label: string) => {
      assert.equal(await horizontalOverflow(page), 0, `${label} (${path(page)})`);
      checked.push(label);
    };
    try {
      for (const [label, url] of [
        ['public timeline', '/public'],
        ['user page with a long name', long],
        ['sign in', '/login'],
        ['sign up', '/register'],
        ['unknown page', '/no-such-user-here'],
      ] as const) {
        await page.goto(base + url);
        await check(label);
      }
      await page.goto(`${base}/public`);
      await page.getByRole('link', { name: /Older messages/ }).click();
      await check('older public messages');

      await page.goto(`${base}/register`);
      await page.fill('#username', LONG_NAME);
      await page.fill('#email', `${'very.long.address'.repeat(4)}@example.com`);
      await page.getByRole('button', { name: 'Sign Up' }).click();
      assert.equal(await page.locator('.error').count(), 1);
      await check('sign up with an error');
      await page.goto(`${base}/login`);
      await page.fill('#username', 'nobody');
      await page.fill('#password', 'x');
      await page.getByRole('button', { name: 'Sign In' }).click();
      assert.equal(await page.locator('.error').count(), 1);
      await check('sign in with an error');

      await signInAs(page, base, LONG_NAME);
      await check('my timeline with a long name');
      await page.goto(base + long);
      await check('my own page');
      await page.goto(`${base}/${encodeURIComponent('Ada Lovelace')}`);
      await check('another user, follow button');
      const foreign = await startForeignSite(`<a id="go" href="${base}${long}/follow">x</a>`);
      try {
        await page.goto(foreign.url);
        await Promise.all([page.waitForNavigation(), page.click('#go')]);
        assert.match(await page.title(), /^Follow /);
        await check('follow confirmation');
      } finally {
        await foreign.close();
      }
      assert.equal(checked.length, 12);
    } finally {
      await context.close();
    }
  });

  for (const [label, width, size] of [
    ['desktop', 1280, 48],
    ['phone', 360, 40],
  ] as const) {
    test(`avatars are drawn by MiniTwit: ${size} px discs with the initials, no third party (${label})`, async () => {
      const { context, page, blocked } = await newContext(browser, { width, height: 900 });
      try {
        await page.goto(`${server.webUrl}/public`);
        // Contract change (docs/contract.md): no Gravatar by default, so nothing is asked of
        // anyone else and no avatar is ever blank while a picture loads or fails.
        assert.deepEqual(blocked, []);
        const avatars = await page.locator('.message .avatar').evaluateAll((spans) =>
          spans.slice(0, 4).map((node) => {
            const span = node as unknown as {
              getBoundingClientRect(): { width: number; height: number };
              nextElementSibling: { getBoundingClientRect(): { left: number } };
              querySelector(
                s: string,
              ): { textContent: string | null; getAttribute(n: string): string | null } | null;
            };
            const box = span.getBoundingClientRect();
            return {
              width: box.width,
              height: box.height,
              textLeft: span.nextElementSibling.getBoundingClientRect().left,
              letters: span.querySelector('svg text')?.textContent ?? '',
              fill: span.querySelector('svg circle')?.getAttribute('fill') ?? '',
            };
          }),
        );
        assert.equal(avatars.length, 4);
        const authors = (await page.locator('.message .author').allTextContents()).slice(0, 4);
        for (const [i, a] of avatars.entries()) {
          assert.equal(a.width, size);
          assert.equal(a.height, size);
          assert.equal(a.textLeft, avatars[0]?.textLeft, 'message texts line up');
          assert.equal(a.letters[0], authors[i]?.[0]?.toUpperCase());
          assert.match(a.fill, /^#[0-9a-f]{6}$/);
        }
      } finally {
        await context.close();
      }
    });
  }
});
