import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { requireChromium } from '../helpers/chromium.js';
import { SimClient } from '../helpers/clients.js';
import { useServer } from '../helpers/server.js';
import { type AxeViolation, axeViolations } from './axe.js';
import {
  type ForeignSite,
  launchBrowser,
  newContext,
  signIn,
  startForeignSite,
} from './browser.js';
import { seedPeople } from './seed.js';

type Who = 'anonymous' | 'ada' | 'newcomer' | 'drafter';

/** A page state: who looks, and how to get there from a fresh tab of that person. */
interface PageState {
  name: string;
  who: Who;
  go(page: Page, base: string, foreign: ForeignSite): Promise<unknown>;
}

const ada = '/Ada%20Lovelace';

async function post(page: Page, text: string) {
  await page.fill('#text', text);
  await page.getByRole('button', { name: 'Share' }).click();
}

/** Every page state a person can reach, signed out and in (33; each in both colour schemes). */
const STATES: PageState[] = [
  { name: 'public timeline, signed out', who: 'anonymous', go: (p, b) => p.goto(`${b}/public`) },
  {
    name: 'public timeline, page 2 (newer and older links)',
    who: 'anonymous',
    go: async (p, b) => {
      await p.goto(`${b}/public`);
      await p.getByRole('link', { name: /Older messages/ }).click();
    },
  },
  { name: 'user timeline, signed out', who: 'anonymous', go: (p, b) => p.goto(`${b}${ada}`) },
  {
    name: 'who a user follows',
    who: 'anonymous',
    go: (p, b) => p.goto(`${b}${ada}/following`),
  },
  {
    name: 'who follows a user',
    who: 'anonymous',
    go: (p, b) => p.goto(`${b}/Grace%20Hopper/followers`),
  },
  {
    name: 'an empty follow list',
    who: 'anonymous',
    go: (p, b) => p.goto(`${b}/Margaret%20Hamilton/following`),
  },
  { name: 'sign in', who: 'anonymous', go: (p, b) => p.goto(`${b}/login`) },
  {
    name: 'sign in with an error',
    who: 'anonymous',
    go: (p, b) => signIn(p, b, 'Ada Lovelace', 'wrong password'),
  },
  { name: 'sign up', who: 'anonymous', go: (p, b) => p.goto(`${b}/register`) },
  {
    name: 'sign up with an error',
    who: 'anonymous',
    go: async (p, b) => {
      await p.goto(`${b}/register`);
      await p.fill('#username', 'someone');
      await p.getByRole('button', { name: 'Sign Up' }).click();
    },
  },
  { name: 'error 404', who: 'anonymous', go: (p, b) => p.goto(`${b}/no-such-user-here`) },
  { name: 'error 400', who: 'anonymous', go: (p, b) => p.goto(`${b}/public?before=abc`) },
  { name: 'error 401', who: 'anonymous', go: (p, b) => p.goto(`${b}${ada}/follow`) },
  { name: 'error 405', who: 'anonymous', go: (p, b) => p.goto(`${b}/add_message`) },
  {
    name: 'flash after signing out',
    who: 'newcomer',
    go: async (p, b) => {
      await p.goto(`${b}/public`);
      await p.getByRole('link', { name: /sign out/ }).click();
      await p.locator('.flashes').waitFor();
    },
  },
  { name: 'my timeline', who: 'ada', go: (p, b) => p.goto(`${b}/`) },
  {
    name: 'my timeline with a flash',
    who: 'ada',
    go: async (p, b) => {
      await p.goto(`${b}/`);
      await post(p, 'posted for the flash');
      await p.locator('.flashes').waitFor();
    },
  },
  {
    name: 'my timeline with an error in the composer',
    who: 'ada',
    go: async (p, b) => {
      await p.goto(`${b}/`);
      // Past the box's maxlength, as a script or an old browser could send it.
      await p.locator('#text').evaluate((box, text) => {
        (box as unknown as { removeAttribute(n: string): void }).removeAttribute('maxlength');
        (box as unknown as { value: string }).value = text;
      }, 'x'.repeat(1001));
      await p.getByRole('button', { name: 'Share' }).click();
      await p.locator('.compose .error').waitFor();
    },
  },
  { name: 'my own profile', who: 'ada', go: (p, b) => p.goto(`${b}${ada}`) },
  {
    name: 'profile of a followed user',
    who: 'ada',
    go: (p, b) => p.goto(`${b}/Grace%20Hopper`),
  },
  {
    name: 'profile of a user not followed',
    who: 'ada',
    go: (p, b) => p.goto(`${b}/Margaret%20Hamilton`),
  },
  {
    name: 'confirm a follow asked by another site',
    who: 'ada',
    go: async (p, _b, foreign) => {
      await p.goto(foreign.url);
      await p.getByRole('link', { name: 'follow' }).click();
      await p.getByRole('button', { name: 'Follow user' }).waitFor();
    },
  },
  {
    name: 'confirm a sign-out asked by another site',
    who: 'ada',
    go: async (p, _b, foreign) => {
      await p.goto(foreign.url);
      await p.getByRole('link', { name: 'sign out' }).click();
      await p.getByRole('button', { name: 'Sign out' }).waitFor();
    },
  },
  {
    name: 'a new account: empty timeline with suggestions',
    who: 'newcomer',
    go: (p, b) => p.goto(`${b}/`),
  },
  {
    name: 'posting after the session ended: 401, message kept',
    who: 'drafter',
    go: async (p, b) => {
      await p.goto(`${b}/`);
      await p.context().clearCookies();
      await post(p, 'typed while the session ran out');
      assert.match(await p.locator('main').innerText(), /Your message is kept/);
    },
  },
  {
    name: 'the kept message back in the composer after signing in',
    who: 'drafter',
    go: async (p, b) => {
      await p.goto(`${b}/`);
      await p.context().clearCookies();
      await post(p, 'typed while the session ran out');
      await p.getByRole('link', { name: 'Sign in' }).first().click();
      await p.fill('#username', 'Drafter');
      await p.fill('#password', 'secret');
      await p.getByRole('button', { name: 'Sign In' }).click();
      assert.equal(await p.locator('#text').inputValue(), 'typed while the session ran out');
    },
  },
  { name: 'search, empty', who: 'anonymous', go: (p, b) => p.goto(`${b}/search`) },
  {
    name: 'search results: users and messages, signed out',
    who: 'anonymous',
    go: (p, b) => p.goto(`${b}/search?q=grace`),
  },
  {
    name: 'search results with delete links and paging, signed in',
    who: 'ada',
    go: async (p, b) => {
      await p.goto(`${b}/search`);
      await p.fill('input[name="q"]', 'engine');
      await p.keyboard.press('Enter');
      await p
        .getByRole('link', { name: /Delete/ })
        .first()
        .waitFor();
    },
  },
  { name: 'search, nothing found', who: 'ada', go: (p, b) => p.goto(`${b}/search?q=zzzzqqq`) },
  {
    name: 'search, query too long (400)',
    who: 'anonymous',
    go: (p, b) => p.goto(`${b}/search?q=${'x'.repeat(300)}`),
  },
  {
    name: 'confirm deleting my message, then the flash',
    who: 'ada',
    go: async (p, b) => {
      await p.goto(`${b}${ada}`);
      await p
        .getByRole('link', { name: /Delete/ })
        .first()
        .click();
      await p
        .getByRole('button', { name: /Delete/ })
        .first()
        .waitFor();
    },
  },
  {
    name: 'my profile after deleting a message (flash)',
    who: 'ada',
    go: async (p, b) => {
      await p.goto(`${b}${ada}`);
      await p
        .getByRole('link', { name: /Delete/ })
        .first()
        .click();
      await p
        .getByRole('button', { name: /Delete/ })
        .first()
        .click();
      await p.getByText('Your message was deleted').waitFor();
    },
  },
];

/** In-page helpers (a string, so the test code needs no DOM types): colours and contrast. */
const COLOUR_HELPERS = `
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const background = (e) => {
    for (let n = e.parentElement; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor).slice(0, 3);
  };
`;

/** The contrast of every text field's border, and the size of every link and button. */
const MEASURE = `(() => { ${COLOUR_HELPERS}
  const fields = [...document.querySelectorAll('input:not([type=submit]):not([type=hidden]), textarea')].map((e) => ({
    id: e.id, ratio: ratio(parse(getComputedStyle(e).borderTopColor).slice(0, 3), background(e)),
  }));
  const targets = [...document.querySelectorAll('a, button, input[type=submit]')].map((e) => {
    const r = e.getBoundingClientRect();
    return { text: (e.textContent || e.value || '').trim(), width: Math.round(r.width), height: Math.round(r.height) };
  });
  return { fields, targets };
})()`;

interface Measured {
  fields: { id: string; ratio: number }[];
  targets: { text: string; width: number; height: number }[];
}
interface Ring {
  text: string;
  width: number;
  ratio: number;
}

/** The focused element's outline: width and contrast against what is behind it. */
const RING = `(() => { ${COLOUR_HELPERS}
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  return {
    text: (e.textContent || e.value || e.id || '').trim(),
    width: s.outlineStyle === 'none' ? 0 : parseFloat(s.outlineWidth),
    ratio: ratio(parse(s.outlineColor).slice(0, 3), background(e)),
  };
})()`;

describe('accessibility: axe-core, WCAG 2.2 A and AA, every page state, light and dark [sqlite]', () => {
  if (!requireChromium('the accessibility suite')) return;
  let browser: Browser;
  let foreign: ForeignSite;
  const contexts: BrowserContext[] = [];
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await foreign?.close();
  });
  const server = useServer('sqlite');
  before(async () => {
    browser = await launchBrowser();
    await seedPeople(server);
    const api = new SimClient(server.apiUrl);
    for (const name of ['Newcomer light', 'Newcomer dark', 'Drafter']) {
      assert.equal((await api.register(name)).status, 204);
    }
    foreign = await startForeignSite(
      `<a href="${server.webUrl}/Margaret%20Hamilton/follow">follow</a> <a href="${server.webUrl}/logout">sign out</a>`,
    );
  });

  /** A fresh tab for `who` in `scheme`, signed in as needed. */
  async function tab(who: Who, scheme: 'light' | 'dark'): Promise<Page> {
    const { context, page } = await newContext(browser, { colorScheme: scheme, bypassCSP: true });
    contexts.push(context);
    const base = server.webUrl;
    const account =
      who === 'ada'
        ? 'Ada Lovelace'
        : who === 'newcomer'
          ? `Newcomer ${scheme}`
          : who === 'drafter'
            ? 'Drafter'
            : undefined;
    if (account) {
      await signIn(page, base, account, 'secret');
      assert.equal(new URL(page.url()).pathname, '/');
    }
    return page;
  }

  const describeViolations = (violations: AxeViolation[]) =>
    violations
      .map(
        (v) =>
          `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `  ${n.target}: ${n.summary}`).join('\n')}`,
      )
      .join('\n');

  // axe has no rule for the contrast of non-text parts (WCAG 1.4.11) nor for 24 px strictly:
  // measured here on the pages with every kind of control.
  for (const scheme of ['light', 'dark'] as const) {
    test(`field borders and the focus ring are at least 3:1, every target at least 24 px [${scheme}]`, async () => {
      const pages: [Who, string][] = [
        ['anonymous', '/login'],
        ['anonymous', '/register'],
        ['anonymous', '/public'],
        ['ada', '/'],
        ['ada', '/Margaret%20Hamilton'],
        ['newcomer', '/'],
      ];
      for (const [who, path] of pages) {
        const page = await tab(who, scheme);
        await page.goto(`${server.webUrl}${path}`);
        const found = (await page.evaluate(MEASURE)) as Measured;
        for (const f of found.fields) {
          assert.ok(f.ratio >= 3, `${path}: border of #${f.id} is ${f.ratio.toFixed(2)}:1`);
        }
        for (const t of found.targets) {
          assert.ok(
            t.width >= 24 && t.height >= 24,
            `${path}: "${t.text}" is ${t.width}x${t.height}`,
          );
        }
        assert.ok(found.targets.length > 0);
        // Tab through the page: each focused control shows a ring of 2 px or more at 3:1.
        for (let i = 0; i < found.targets.length + found.fields.length; i++) {
          await page.keyboard.press('Tab');
          const ring = (await page.evaluate(RING)) as Ring | null;
          if (!ring) continue;
          assert.ok(ring.width >= 2, `${path}: focus ring of "${ring.text}" is ${ring.width} px`);
          assert.ok(
            ring.ratio >= 3,
            `${path}: focus ring of "${ring.text}" is ${ring.ratio.toFixed(2)}:1`,
          );
        }
        await page.context().close();
      }
    });
  }

  for (const scheme of ['light', 'dark'] as const) {
    for (const state of STATES) {
      test(`${state.name} [${scheme}]: no violations`, async () => {
        const page = await tab(state.who, scheme);
        await state.go(page, server.webUrl, foreign);
        await page.waitForLoadState('load');
        const violations = await axeViolations(page);
        assert.deepEqual(violations, [], describeViolations(violations));
        await page.context().close();
      });
    }
  }
});
