import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { requireChromium } from '../helpers/chromium.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { useServer } from '../helpers/server.js';
import { CHROMIUM, CHROMIUM_ARGS, Tally, userDataDir } from './support.js';

/** Usernames obey the rules (no slash, at most 64 characters), so these are all accepted. */
const XSS_USERNAMES = [
  '<img src=x onerror=alert("u1")>',
  '"><svg onload=alert("u2")>',
  "'><details open ontoggle=alert('u3')>",
  '<iframe srcdoc="<b onmouseover=alert(4)>">',
  'javascript:alert("u5")',
];
/** E-mail addresses may not contain spaces; they only reach pages in the sign-up form. */
const XSS_EMAILS = ['"><img/src=x/onerror=alert("e1")>@x.dk', "x@x'><svg/onload=alert('e2')>"];
const XSS_MESSAGES = [
  '<script>alert("m1")</script>',
  '<img src=x onerror=alert("m2")>',
  '<a href="javascript:alert(\'m3\')">click me</a>',
  '<style>body{display:none}</style>',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(\'m5\')">',
  '</p><script>alert("m6")</script><p>',
  '<svg><script>alert("m7")</script></svg>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose
  '{{7*7}} <%= 7*7 %> ${7*7}',
  '<body onload=alert("m9")>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert("m10")>',
];
const PASSWORD = 'pw';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

interface PageReport {
  handlers: string[];
  injected: string[];
  violations: string[];
  text: string;
}

/**
 * What an executed payload would leave behind in the DOM. Browser code is kept as text, since
 * this project compiles without the DOM library.
 */
const INSPECT = `(() => {
  const handlers = [...document.querySelectorAll('*')]
    .filter((e) => [...e.attributes].some((a) => a.name.toLowerCase().startsWith('on')))
    .map((e) => e.outerHTML.slice(0, 100));
  const injected = [...document.querySelectorAll(${JSON.stringify(
    // Our own: the composer's script and the drawn avatars' SVG (docs/contract.md).
    'script:not([src="/static/composer.js"]), iframe, svg:not(.avatar > svg), math, details, style, meta[http-equiv], base, object, embed, img[src="x"], a[href^="javascript:" i]',
  )})].map((e) => e.outerHTML.slice(0, 100));
  return { handlers, injected, violations: window.__violations ?? [], text: document.body.innerText };
})()`;

/** Records Content-Security-Policy violations, from before any page script could run. */
const RECORD_VIOLATIONS = `window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});`;

const inspect = (page: Page) => page.evaluate<PageReport>(INSPECT);

describe('XSS payloads are inert on every page, in a real browser', () => {
  if (!requireChromium('the browser XSS suite')) return;

  const tally = new Tally();
  let context: BrowserContext;
  let profile: ReturnType<typeof userDataDir>;
  const dialogs: string[] = [];

  // Registered before useServer's hooks, so the browser closes before the server does.
  after(async () => {
    await context?.close();
    profile?.remove();
  });
  const server = useServer('sqlite', {
    env: { REGISTER_LIMIT_PER_ADDRESS: '0', LOGIN_LIMIT_PER_ADDRESS: '0' },
  });

  before(async () => {
    const api = new SimClient(server.apiUrl);
    for (const [i, name] of XSS_USERNAMES.entries()) {
      const email = XSS_EMAILS[i % XSS_EMAILS.length] ?? 'x@x';
      assert.equal((await api.register(name, email, PASSWORD)).status, 204, name);
    }
    for (const [i, text] of XSS_MESSAGES.entries()) {
      const author = XSS_USERNAMES[i % XSS_USERNAMES.length] ?? '';
      assert.equal((await api.tweet(author, text)).status, 204, text);
    }
    profile = userDataDir();
    context = await chromium.launchPersistentContext(profile.dir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
    });
    // Loopback only: avatars are answered locally, anything else is refused.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(server.webUrl)) return route.continue();
      if (url.startsWith('https://www.gravatar.com/')) {
        return route.fulfill({ status: 200, contentType: 'image/png', body: PNG });
      }
      return route.abort();
    });
    await context.addInitScript({ content: RECORD_VIOLATIONS });
    context.on('page', (page) => {
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
    });
  });

  /** Asserts that the page shows no sign of an executed or injected payload. */
  async function assertInert(page: Page, where: string, mustShow: string[] = []) {
    const report = await inspect(page);
    assert.deepEqual(dialogs, [], `${where}: a dialog opened`);
    assert.deepEqual(report.handlers, [], `${where}: event-handler attributes in the DOM`);
    assert.deepEqual(report.injected, [], `${where}: injected elements in the DOM`);
    assert.deepEqual(report.violations, [], `${where}: CSP violations (something tried to run)`);
    for (const text of mustShow) {
      assert.ok(report.text.includes(text), `${where}: "${text}" is not shown as text`);
    }
    tally.add(where.split(' ')[0] ?? where, Math.max(1, mustShow.length));
  }

  test('control: the checks do catch a payload that runs', async () => {
    const page = await context.newPage();
    await page.setContent('<img src=x onerror="alert(1)">');
    await page.waitForEvent('dialog', { timeout: 5000 }).catch(() => undefined);
    for (let i = 0; i < 20 && dialogs.length === 0; i++) await page.waitForTimeout(50);
    assert.equal(dialogs.length, 1, 'an unescaped payload opens a dialog');
    assert.equal((await inspect(page)).handlers.length, 1);
    dialogs.length = 0;
    // On our pages the policy itself stops an inline script, and the recorder sees it.
    await page.goto(`${server.webUrl}/public`);
    await page.addScriptTag({ content: 'alert("inline")' }).catch(() => undefined);
    await page.waitForTimeout(100);
    assert.deepEqual(dialogs, [], 'CSP blocks inline scripts');
    const report = await inspect(page);
    assert.ok(
      report.violations.some((v) => v.startsWith('script-src')),
      JSON.stringify(report.violations),
    );
    await page.close();
  });

  test('public timeline, every profile, and pages past the first', async () => {
    const page = await context.newPage();
    await page.goto(`${server.webUrl}/public`);
    await assertInert(page, 'public-timeline', [...XSS_MESSAGES, ...XSS_USERNAMES]);
    for (const name of XSS_USERNAMES) {
      await page.goto(`${server.webUrl}/${encodeURIComponent(name)}`);
      await assertInert(page, `profile ${name}`, [name]);
      // Following the author link from the page lands on the same profile.
      assert.equal(decodeURIComponent(new URL(page.url()).pathname.slice(1)), name);
    }
    await page.goto(`${server.webUrl}/${encodeURIComponent('<script>alert(1)</script>')}`);
    await assertInert(page, 'not-found');
    for (const query of [
      'before=<script>alert(1)</script>',
      'before="><img src=x onerror=alert(2)>',
    ]) {
      const res = await page.goto(`${server.webUrl}/public?${query}`);
      assert.equal(res?.status(), 400);
      await assertInert(page, 'bad-request');
    }
    await page.close();
  });

  test('signed in: home timeline, flashes, follow buttons, confirm pages, sign-out', async () => {
    const page = await context.newPage();
    const me = XSS_USERNAMES[0] ?? '';
    await page.goto(`${server.webUrl}/login`);
    await page.fill('#username', me);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${server.webUrl}/`), page.click('[type=submit]')]);
    await assertInert(page, 'home', ['You were logged in', me]);
    for (const name of XSS_USERNAMES.slice(1)) {
      await page.goto(`${server.webUrl}/${encodeURIComponent(name)}`);
      await Promise.all([page.waitForLoadState(), page.click('text=Follow user')]);
      await assertInert(page, `follow-flash ${name}`, [`You are now following "${name}"`]);
    }
    await page.goto(`${server.webUrl}/`);
    await assertInert(page, 'home', XSS_MESSAGES);
    // Post a payload through the form itself.
    await page.fill('#text', '<img src=x onerror=alert("posted")>');
    await Promise.all([page.waitForURL(`${server.webUrl}/`), page.click('text=Share')]);
    await assertInert(page, 'home', ['<img src=x onerror=alert("posted")>']);
    await page.goto(`${server.webUrl}/logout`);
    await assertInert(page, 'logout', ['You were logged out']);
    await page.close();
  });

  test('forms that show back what was typed: failed sign-in and sign-up', async () => {
    const page = await context.newPage();
    for (const name of [...XSS_USERNAMES, '"><script>alert("typed")</script>']) {
      await page.goto(`${server.webUrl}/login`);
      await page.fill('#username', name);
      await page.fill('#password', 'wrong');
      await Promise.all([page.waitForLoadState(), page.click('[type=submit]')]);
      await assertInert(page, `login-error ${name}`);
      assert.equal(await page.inputValue('#username'), name, 'the typed name is kept as text');
    }
    for (const email of [...XSS_EMAILS, '"><script>alert("mail")</script>@x']) {
      await page.goto(`${server.webUrl}/register`);
      await page.fill('#username', '<b onclick=alert(1)>new</b>');
      await page.fill('#email', email);
      await page.fill('#password', 'a');
      await page.fill('#password2', 'b');
      await Promise.all([page.waitForLoadState(), page.click('[type=submit]')]);
      await assertInert(page, `register-error ${email}`, ['The two passwords do not match']);
      assert.equal(await page.inputValue('#email'), email);
    }
    await page.close();
  });

  test('pages a browser cannot reach directly: the cross-site confirm page, escaped in the HTML', async () => {
    const client = new WebClient(server.webUrl);
    await client.login(XSS_USERNAMES[1] ?? '', PASSWORD);
    for (const name of XSS_USERNAMES) {
      const res = await client.get(`/${encodeURIComponent(name)}/follow`, {
        'sec-fetch-site': 'cross-site',
      });
      assert.equal(res.status, 200);
      assert.ok(!res.html.includes(name), `${name} appears unescaped`);
      assert.ok(
        res.html.includes(
          name
            .replace(/&/g, '&amp;')
            .replace(/</g, '&lt;')
            .replace(/>/g, '&gt;')
            .replace(/"/g, '&#34;')
            .replace(/'/g, '&#39;'),
        ),
      );
      const page = await context.newPage();
      await page.setContent(res.html);
      await assertInert(page, `confirm ${name}`);
      await page.close();
    }
  });

  after((t) => tally.report(t as unknown as TestContext, 'xss, in Chromium'));
});
