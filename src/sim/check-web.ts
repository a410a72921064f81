import { randomBytes } from 'node:crypto';
import type { CheckResult } from './check.js';
import { attr, descendants, type Element, lineage, Page, squash, textOf } from './html.js';
import { FormClient, type WebAnswer, WebRequestError } from './web-client.js';

/**
 * The web door's conformance rules: every route, status, redirect, flash and error text of the
 * contract's §2 that a client can observe, the markup the course's browser test relies on,
 * escaping, follow/unfollow, paging (when offered), plain-form clients and refusing forged
 * cross-site requests. Each rule is one line of `minitwit check`.
 *
 * The checker only ever writes as users it creates itself, named `check-<random> <Role>`
 * (a space, as the course's scenario names have): their sign-ups, messages and follows
 * among themselves. It makes about 9 sign-up attempts and 2 failed sign-ins from its address,
 * so a server with sign-up limits may refuse a second run soon after the first (429).
 */

class Failed extends Error {}

/** The reference's texts (contract §2), as a client sees them. */
export const WEB_TEXTS = {
  registered: 'You were successfully registered and can login now',
  loggedIn: 'You were logged in',
  loggedOut: 'You were logged out',
  recorded: 'Your message was recorded',
  following: (name: string) => `You are now following "${name}"`,
  unfollowed: (name: string) => `You are no longer following "${name}"`,
  noUsername: 'You have to enter a username',
  badEmail: 'You have to enter a valid email address',
  noPassword: 'You have to enter a password',
  mismatch: 'The two passwords do not match',
  taken: 'The username is already taken',
  invalidUsername: 'Invalid username',
  invalidPassword: 'Invalid password',
  empty: "There's no message so far.",
  isYou: 'This is you!',
  notFollowing: 'You are not yet following this user.',
  isFollowing: 'You are currently following this user.',
} as const;

/** The names of the web rules, in the order they run (the test suite refers to them). */
export const WEB_RULES = {
  anonymousHome: 'GET / without a sign-in redirects (302) to /public',
  publicPage:
    'GET /public: 200, title "Public Timeline | MiniTwit", navigation "public timeline", "sign up", "sign in"',
  registerMarkup:
    '/register: the first four <input>s are username, email, password, password2, the fifth an <input type="submit"> inside class "actions", one form',
  loginMarkup:
    '/login: the first <input>s are username, password, then an <input type="submit"> inside class "actions", one form',
  registerPlain: `POST /register as a plain form (no token, no browser headers): 302 to /login, flash "${WEB_TEXTS.registered}"`,
  registerErrors:
    'POST /register errors: the first failing check of five, in order, form re-shown (200, "Sign Up | MiniTwit") keeping username and email, nothing stored',
  loginErrors: `POST /login errors: "${WEB_TEXTS.invalidUsername}", "${WEB_TEXTS.invalidPassword}", form re-shown (200, "Sign In | MiniTwit") keeping the username, no sign-in`,
  loginPlain: `POST /login as a plain form: 302 to /, flash "${WEB_TEXTS.loggedIn}", "My Timeline | MiniTwit" with "my timeline", "public timeline", "sign out [<username>]"`,
  signedInForms: 'signed in, GET and POST /login and /register redirect (302) to /',
  flashMarkup:
    'a flash shows once, on the next page, in an element of class "flashes" holding only its text',
  postBox: 'the home page has a form posting a field named "text" to /add_message',
  addMessage: `POST /add_message: 302 to /, flash "${WEB_TEXTS.recorded}", the message on my, the public and my user timeline, newest first`,
  emptyMessage: 'POST /add_message with empty text stores nothing and redirects (302) to /',
  escaping:
    'message text is HTML-escaped: <x>, & and quotes show as typed (&lt;x&gt;), nothing is interpreted',
  messageView:
    'each message shows an avatar, its author linked to /<username> (URL-encoded) and the UTC time as YYYY-MM-DD @ HH:MM',
  emptyTimeline: `a timeline without messages says "${WEB_TEXTS.empty}"`,
  profile:
    "GET /<username>: 200 with that user's messages; an unknown user is 404, names are case-sensitive",
  relation: `signed in, a profile says "${WEB_TEXTS.isYou}" on your own, "${WEB_TEXTS.notFollowing}" with "Follow user" on another`,
  follow: `GET /<username>/follow: 302 to /<username>, flash You are now following "<username>" (quotes escaped), "${WEB_TEXTS.isFollowing}" with "Unfollow user", their messages on my timeline`,
  unfollow:
    'GET /<username>/unfollow: 302 to /<username>, flash You are no longer following "<username>", their messages gone from my timeline',
  needsSignIn:
    'without a sign-in, POST /add_message and GET /<username>/follow, /unfollow answer 401 and change nothing; signed in, an unknown user is 404',
  logout: `GET /logout: 302 to /public, flash "${WEB_TEXTS.loggedOut}", signed out afterwards`,
  paging:
    'a timeline shows 30 messages a page; paging, if offered, goes on to the older ones without gaps or repeats',
  crossSite:
    'state changes a browser sends from another site (Sec-Fetch-Site: cross-site or same-site, or a foreign Origin) change nothing; the GET links too',
} as const;

export interface WebCheckOptions {
  /** Per request, in milliseconds (default 10 s). */
  timeoutMs?: number;
  /**
   * Only these rules (names from WEB_RULES); all by default. Each rule makes the users and
   * messages it needs itself, so any subset runs on its own.
   */
  rules?: readonly string[];
}

const u = encodeURIComponent;

/** A request's outcome in a detail message. */
function show(answer: WebAnswer): string {
  const where = answer.location === undefined ? '' : ` to ${answer.location}`;
  return `${answer.method} ${answer.path} answered ${answer.status}${where}`;
}

function expectStatus(answer: WebAnswer, status: number, what: string) {
  if (answer.status !== status) throw new Failed(`${what}: expected ${status}, ${show(answer)}`);
}

/** The path (and query) a Location names, relative to the request, percent-decoded. */
function target(answer: WebAnswer, base: string): string | undefined {
  if (answer.location === undefined) return undefined;
  try {
    const url = new URL(answer.location, new URL(answer.path, base));
    return decodeURIComponent(url.pathname) + url.search;
  } catch {
    return answer.location;
  }
}

function expectRedirect(answer: WebAnswer, to: string, base: string, what: string) {
  if (answer.status !== 302 || target(answer, base) !== to) {
    throw new Failed(`${what}: expected 302 to ${to}, ${show(answer)}`);
  }
}

const last = (chain: WebAnswer[]) => chain[chain.length - 1] as WebAnswer;

/** The text of the page's `flashes` element(s), squashed; '' when there is none. */
function flashText(page: Page): string {
  return squash(
    page
      .byClass('flashes')
      .map((e) => textOf(e))
      .join(' '),
  );
}

function expectFlash(page: Page, message: string, what: string) {
  const flashes = page.byClass('flashes');
  if (flashes.length === 0) {
    throw new Failed(`${what}: no element of class "flashes" (expected "${message}")`);
  }
  const text = flashText(page);
  if (text !== message) {
    throw new Failed(
      `${what}: the "flashes" element says "${text}", expected exactly "${message}"`,
    );
  }
}

function expectText(page: Page, text: string, what: string) {
  if (!page.text.includes(text)) throw new Failed(`${what}: the page does not say "${text}"`);
}

function expectTitle(page: Page, title: string, what: string) {
  if (page.title !== title) throw new Failed(`${what}: title "${page.title}", expected "${title}"`);
}

/** Squashed texts of the page's links. */
const linkTexts = (page: Page) => page.links.map((l) => l.text);

/** Whether `field`'s (input or textarea) value attribute is `value`. */
function fieldValue(page: Page, name: string): string | undefined {
  const field = page.elements.find(
    (e) => (e.tagName === 'input' || e.tagName === 'textarea') && attr(e, 'name') === name,
  );
  if (!field) return undefined;
  return field.tagName === 'textarea' ? textOf(field) : (attr(field, 'value') ?? '');
}

/** The form around `element`, or undefined. */
const formOf = (element: Element) => lineage(element).find((e) => e.tagName === 'form');

/** The percent-decoded path `href` names on a page at `pagePath`. */
function pathOf(href: string, pagePath: string, base: string): string {
  try {
    const path = new URL(href, new URL(pagePath, base)).pathname;
    try {
      return decodeURIComponent(path);
    } catch {
      return path;
    }
  } catch {
    return href;
  }
}

/** Where a form posts, as a path (its action resolved against `pagePath`). */
const formTarget = (form: Element, pagePath: string, base: string) =>
  pathOf(attr(form, 'action') ?? '', pagePath, base);

/**
 * The list item (or other block) showing the message whose text is `text`: the nearest `li`
 * around the text, else the nearest element with more than the text in it.
 */
function messageItem(page: Page, text: string): Element | undefined {
  const [inner] = page.containing(text);
  if (!inner) return undefined;
  const chain = lineage(inner);
  return (
    chain.find((e) => e.tagName === 'li') ??
    chain.find((e) => squash(textOf(e)).length > squash(text).length + 5)
  );
}

/** The texts of `texts` the page shows, in page order. */
function shownInOrder(page: Page, texts: string[]): string[] {
  const body = page.text;
  return texts
    .map((t) => ({ t, at: body.indexOf(t) }))
    .filter((x) => x.at >= 0)
    .sort((a, b) => a.at - b.at)
    .map((x) => x.t);
}

interface Account {
  name: string;
  email: string;
  password: string;
}

/**
 * What the rules share: the checker's own users (created on first use, through the web form)
 * and their signed-in clients. A rule that needs something the server would not give fails
 * with the reason.
 */
class Context {
  readonly tag = randomBytes(4).toString('hex');
  private readonly accounts = new Map<string, Promise<Account>>();
  private readonly sessions = new Map<string, Promise<FormClient>>();
  private readonly posts = new Map<string, Promise<string>>();

  constructor(
    readonly base: string,
    readonly timeoutMs: number,
  ) {}

  client(headers?: Record<string, string>): FormClient {
    return new FormClient(this.base, {
      timeoutMs: this.timeoutMs,
      ...(headers ? { headers } : {}),
    });
  }

  name(role: string): string {
    return `check-${this.tag} ${role}`;
  }

  /** The details of a user this run signs up as (not yet signed up). */
  details(role: string): Account {
    return {
      name: this.name(role),
      email: `check-${this.tag}.${role.toLowerCase()}@example.com`,
      password: `p4ss]=)[${role} "x"`,
    };
  }

  /** The user `role`, signed up through the web form on first use. */
  account(role: string): Promise<Account> {
    let found = this.accounts.get(role);
    if (!found) {
      found = (async () => {
        const account = this.details(role);
        const answer = await this.client().post('/register', {
          username: account.name,
          email: account.email,
          password: account.password,
          password2: account.password,
        });
        if (answer.status !== 302) {
          throw new Failed(`could not sign up "${account.name}": ${show(answer)}`);
        }
        return account;
      })();
      this.accounts.set(role, found);
    }
    return found;
  }

  /** Records that `role` was signed up by a rule itself. */
  adopt(role: string, account: Account) {
    this.accounts.set(role, Promise.resolve(account));
  }

  /** A client signed in as `role` (one per role, shared by the rules). */
  session(role: string): Promise<FormClient> {
    let found = this.sessions.get(role);
    if (!found) {
      found = (async () => {
        const account = await this.account(role);
        const client = this.client();
        await signIn(client, account);
        // Read the sign-in's flash now, so a rule's own flash is the only one on its next page.
        await client.visit('/');
        return client;
      })();
      this.sessions.set(role, found);
    }
    return found;
  }

  /** A message `role` posted through the web form (once), returned as its text. */
  message(role: string): Promise<string> {
    let found = this.posts.get(role);
    if (!found) {
      found = (async () => {
        const client = await this.session(role);
        const text = `hello from ${this.name(role)}`;
        const answer = await client.post('/add_message', { text });
        if (answer.status !== 302) {
          throw new Failed(`could not post as "${this.name(role)}": ${show(answer)}`);
        }
        return text;
      })();
      this.posts.set(role, found);
    }
    return found;
  }

  /** The page at `path` as `client` sees it after redirects. */
  async page(client: FormClient, path: string): Promise<{ answer: WebAnswer; page: Page }> {
    const answer = last(await client.visit(path));
    return { answer, page: new Page(answer.body) };
  }
}

async function signIn(client: FormClient, account: Account) {
  const answer = await client.post('/login', {
    username: account.name,
    password: account.password,
  });
  if (answer.status !== 302) {
    throw new Failed(`could not sign in as "${account.name}": ${show(answer)}`);
  }
}

type Rule = [name: string, probe: (ctx: Context) => Promise<string | undefined>];

const RULES: Rule[] = [
  [
    WEB_RULES.anonymousHome,
    async (ctx) => {
      expectRedirect(await ctx.client().get('/'), '/public', ctx.base, 'GET /');
      return undefined;
    },
  ],
  [
    WEB_RULES.publicPage,
    async (ctx) => {
      const answer = await ctx.client().get('/public');
      expectStatus(answer, 200, 'GET /public');
      const page = new Page(answer.body);
      expectTitle(page, 'Public Timeline | MiniTwit', 'GET /public');
      const links = linkTexts(page);
      for (const text of ['public timeline', 'sign up', 'sign in']) {
        if (!links.includes(text))
          throw new Failed(`no link "${text}" (links: ${links.join(', ')})`);
      }
      if (links.some((l) => l === 'my timeline' || l.startsWith('sign out'))) {
        throw new Failed('an anonymous page links to "my timeline" or "sign out"');
      }
      return undefined;
    },
  ],
  [
    WEB_RULES.registerMarkup,
    async (ctx) => {
      await markup(ctx, '/register', ['username', 'email', 'password', 'password2']);
      return undefined;
    },
  ],
  [
    WEB_RULES.loginMarkup,
    async (ctx) => {
      await markup(ctx, '/login', ['username', 'password']);
      return undefined;
    },
  ],
  [
    WEB_RULES.registerPlain,
    async (ctx) => {
      const account = ctx.details('Ann');
      const client = ctx.client();
      const answer = await client.post('/register', {
        username: account.name,
        email: account.email,
        password: account.password,
        password2: account.password,
      });
      expectRedirect(answer, '/login', ctx.base, 'POST /register');
      ctx.adopt('Ann', account);
      const page = new Page(last(await client.follow(answer)).body);
      expectFlash(page, WEB_TEXTS.registered, 'the page after signing up');
      return undefined;
    },
  ],
  [
    WEB_RULES.registerErrors,
    async (ctx) => {
      const taken = await ctx.account('Ann');
      const ghost = ctx.details('Ghost');
      const client = ctx.client();
      const cases: [Record<string, string>, string][] = [
        [{ username: '', email: ghost.email, password: 'a', password2: 'a' }, WEB_TEXTS.noUsername],
        [
          { username: ghost.name, email: 'no-at-sign', password: 'a', password2: 'a' },
          WEB_TEXTS.badEmail,
        ],
        [
          { username: ghost.name, email: ghost.email, password: '', password2: '' },
          WEB_TEXTS.noPassword,
        ],
        [
          { username: ghost.name, email: ghost.email, password: 'a', password2: 'b' },
          WEB_TEXTS.mismatch,
        ],
        [
          { username: taken.name, email: ghost.email, password: 'a', password2: 'a' },
          WEB_TEXTS.taken,
        ],
      ];
      for (const [form, text] of cases) {
        const what = `POST /register ${JSON.stringify(form)}`;
        const answer = await client.post('/register', form);
        expectStatus(answer, 200, what);
        const page = new Page(answer.body);
        expectTitle(page, 'Sign Up | MiniTwit', what);
        expectText(page, text, what);
        for (const [, other] of cases) {
          if (other !== text && page.text.includes(other)) {
            throw new Failed(`${what}: also says "${other}"`);
          }
        }
        for (const name of ['username', 'email'] as const) {
          const kept = fieldValue(page, name);
          if (kept !== (form[name] ?? '')) {
            throw new Failed(`${what}: the ${name} field holds "${kept}", not what was typed`);
          }
        }
      }
      expectStatus(await client.get(`/${u(ghost.name)}`), 404, 'the refused user');
      return undefined;
    },
  ],
  [
    WEB_RULES.loginErrors,
    async (ctx) => {
      const ann = await ctx.account('Ann');
      const client = ctx.client();
      const cases: [string, string, string][] = [
        [ctx.name('Nobody'), ann.password, WEB_TEXTS.invalidUsername],
        [ann.name, `${ann.password}-wrong`, WEB_TEXTS.invalidPassword],
      ];
      for (const [username, password, text] of cases) {
        const what = `POST /login as "${username}"${text === WEB_TEXTS.invalidPassword ? ' with a wrong password' : ''}`;
        const answer = await client.post('/login', { username, password });
        expectStatus(answer, 200, what);
        const page = new Page(answer.body);
        expectTitle(page, 'Sign In | MiniTwit', what);
        expectText(page, text, what);
        const kept = fieldValue(page, 'username');
        if (kept !== username) throw new Failed(`${what}: the username field holds "${kept}"`);
      }
      expectRedirect(await client.get('/'), '/public', ctx.base, 'GET / after failed sign-ins');
      return undefined;
    },
  ],
  [
    WEB_RULES.loginPlain,
    async (ctx) => {
      const ann = await ctx.account('Ann');
      const client = ctx.client();
      const answer = await client.post('/login', { username: ann.name, password: ann.password });
      expectRedirect(answer, '/', ctx.base, 'POST /login');
      const page = new Page(last(await client.follow(answer)).body);
      expectFlash(page, WEB_TEXTS.loggedIn, 'the page after signing in');
      expectTitle(page, 'My Timeline | MiniTwit', 'the page after signing in');
      const links = linkTexts(page);
      for (const text of ['my timeline', 'public timeline', `sign out [${ann.name}]`]) {
        if (!links.includes(text))
          throw new Failed(`no link "${text}" (links: ${links.join(', ')})`);
      }
      return undefined;
    },
  ],
  [
    WEB_RULES.signedInForms,
    async (ctx) => {
      const client = await ctx.session('Ann');
      const ghost = ctx.details('Ghost');
      for (const path of ['/login', '/register']) {
        expectRedirect(await client.get(path), '/', ctx.base, `GET ${path} signed in`);
      }
      const ann = await ctx.account('Ann');
      expectRedirect(
        await client.post('/login', { username: ann.name, password: ann.password }),
        '/',
        ctx.base,
        'POST /login signed in',
      );
      expectRedirect(
        await client.post('/register', {
          username: ghost.name,
          email: ghost.email,
          password: 'a',
          password2: 'a',
        }),
        '/',
        ctx.base,
        'POST /register signed in',
      );
      expectStatus(await client.get(`/${u(ghost.name)}`), 404, 'no user made by that POST');
      return undefined;
    },
  ],
  [
    WEB_RULES.flashMarkup,
    async (ctx) => {
      const ann = await ctx.account('Ann');
      const client = ctx.client();
      await signIn(client, ann);
      const first = await ctx.page(client, '/');
      expectFlash(first.page, WEB_TEXTS.loggedIn, 'the first page after signing in');
      const again = await ctx.page(client, '/');
      if (again.page.byClass('flashes').length > 0 && flashText(again.page) !== '') {
        throw new Failed(`the flash shows again on the next page: "${flashText(again.page)}"`);
      }
      return undefined;
    },
  ],
  [
    WEB_RULES.postBox,
    async (ctx) => {
      const client = await ctx.session('Ann');
      const { answer, page } = await ctx.page(client, '/');
      expectStatus(answer, 200, 'GET / signed in');
      const fields = page.elements.filter(
        (e) => (e.tagName === 'input' || e.tagName === 'textarea') && attr(e, 'name') === 'text',
      );
      const ok = fields.some((field) => {
        const form = formOf(field);
        return (
          form !== undefined &&
          (attr(form, 'method') ?? 'get').toLowerCase() === 'post' &&
          formTarget(form, '/', ctx.base) === '/add_message'
        );
      });
      if (!ok) throw new Failed('no form with method post, action /add_message and a field "text"');
      return undefined;
    },
  ],
  [
    WEB_RULES.addMessage,
    async (ctx) => {
      const client = await ctx.session('Ann');
      const ann = await ctx.account('Ann');
      const older = `first words of ${ann.name}`;
      const newer = `second words of ${ann.name}`;
      const first = await client.post('/add_message', { text: older });
      expectRedirect(first, '/', ctx.base, 'POST /add_message');
      await client.follow(first);
      // Timelines are ordered by whole seconds: the second message comes a second later.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const second = await client.post('/add_message', { text: newer });
      expectRedirect(second, '/', ctx.base, 'POST /add_message');
      const home = new Page(last(await client.follow(second)).body);
      expectFlash(home, WEB_TEXTS.recorded, 'the page after posting');
      for (const [label, path] of [
        ['my timeline', '/'],
        ['the public timeline', '/public'],
        ['my user timeline', `/${u(ann.name)}`],
      ] as const) {
        const { page } = await ctx.page(client, path);
        const order = shownInOrder(page, [older, newer]);
        if (order.length < 2) throw new Failed(`${label} does not show both messages`);
        if (order[0] !== newer) throw new Failed(`${label} shows the older message first`);
      }
      return undefined;
    },
  ],
  [
    WEB_RULES.emptyMessage,
    async (ctx) => {
      const client = await ctx.session('Ann');
      const ann = await ctx.account('Ann');
      // Each message links its author: count the links to my page.
      const mine = `/${ann.name}`;
      const count = async () => {
        const { page } = await ctx.page(client, `/${u(ann.name)}`);
        return page.links.filter((l) => pathOf(l.href, `/${u(ann.name)}`, ctx.base) === mine)
          .length;
      };
      const before = await count();
      expectRedirect(
        await client.post('/add_message', { text: '' }),
        '/',
        ctx.base,
        'POST /add_message with empty text',
      );
      const home = await ctx.page(client, '/');
      if (flashText(home.page).includes(WEB_TEXTS.recorded)) {
        throw new Failed(`an empty message flashes "${WEB_TEXTS.recorded}"`);
      }
      const after = await count();
      if (after !== before) throw new Failed('an empty message changed my user timeline');
      return undefined;
    },
  ],
  [
    WEB_RULES.escaping,
    async (ctx) => {
      const client = await ctx.session('Ann');
      const text = `<x> & "quoted" 'single' <b>${ctx.tag}</b>`;
      const answer = await client.post('/add_message', { text });
      expectRedirect(answer, '/', ctx.base, 'POST /add_message');
      for (const path of ['/', '/public']) {
        const { page } = await ctx.page(client, path);
        if (page.html.includes('<x>') || page.html.includes(`<b>${ctx.tag}</b>`)) {
          throw new Failed(`${path} has the message's markup unescaped`);
        }
        if (!page.html.includes('&lt;x&gt;')) throw new Failed(`${path} does not show &lt;x&gt;`);
        if (!page.text.includes(squash(text))) {
          throw new Failed(`${path} does not show the message as typed`);
        }
      }
      return undefined;
    },
  ],
  [
    WEB_RULES.messageView,
    async (ctx) => {
      const ann = await ctx.account('Ann');
      const text = await ctx.message('Ann');
      const { answer, page } = await ctx.page(ctx.client(), '/public');
      const item = messageItem(page, text);
      if (!item) throw new Failed(`the public timeline does not show "${text}"`);
      const inside = descendants(item);
      if (!inside.some((e) => e.tagName === 'img' || e.tagName === 'svg')) {
        throw new Failed('the message has no avatar image');
      }
      const author = inside.find(
        (e) => e.tagName === 'a' && squash(textOf(e)) === ann.name && attr(e, 'href') !== undefined,
      );
      if (!author) throw new Failed(`no link with the author's name "${ann.name}"`);
      const href = attr(author, 'href') ?? '';
      if (pathOf(href, '/public', ctx.base) !== `/${ann.name}`) {
        throw new Failed(`the author links to "${href}", not /${u(ann.name)}`);
      }
      const shown = /(\d{4})-(\d\d)-(\d\d) @ (\d\d):(\d\d)/.exec(squash(textOf(item)));
      if (!shown) throw new Failed('the message shows no time as YYYY-MM-DD @ HH:MM');
      const [y = 0, mo = 1, d = 1, h = 0, mi = 0] = shown.slice(1).map(Number);
      const when = Date.UTC(y, mo - 1, d, h, mi);
      const serverNow = Date.parse(String(answer.headers.date ?? '')) || Date.now();
      if (Math.abs(serverNow - when) > 3 * 60_000) {
        throw new Failed(
          `the time "${shown[0]}" is not the UTC time of posting (server clock ${new Date(serverNow).toISOString()})`,
        );
      }
      return undefined;
    },
  ],
  [
    WEB_RULES.emptyTimeline,
    async (ctx) => {
      const cy = await ctx.account('Cy');
      const { answer, page } = await ctx.page(ctx.client(), `/${u(cy.name)}`);
      expectStatus(answer, 200, `GET /${cy.name}`);
      expectText(page, WEB_TEXTS.empty, `the timeline of "${cy.name}"`);
      return undefined;
    },
  ],
  [
    WEB_RULES.profile,
    async (ctx) => {
      const bob = await ctx.account('Bob');
      const text = await ctx.message('Bob');
      const anonymous = ctx.client();
      const own = await anonymous.get(`/${u(bob.name)}`);
      expectStatus(own, 200, `GET /${bob.name}`);
      const page = new Page(own.body);
      expectText(page, text, `GET /${bob.name}`);
      if (!page.title.endsWith(' | MiniTwit')) {
        throw new Failed(`GET /${bob.name}: title "${page.title}" does not end in " | MiniTwit"`);
      }
      expectStatus(await anonymous.get(`/${u(ctx.name('Nobody'))}`), 404, 'an unknown user');
      expectStatus(
        await anonymous.get(`/${u(bob.name.toUpperCase())}`),
        404,
        'the name in capitals',
      );
      return undefined;
    },
  ],
  [
    WEB_RULES.relation,
    async (ctx) => {
      const ann = await ctx.account('Ann');
      const cy = await ctx.account('Cy');
      const client = await ctx.session('Ann');
      const self = await ctx.page(client, `/${u(ann.name)}`);
      expectText(self.page, WEB_TEXTS.isYou, 'my own page');
      const other = await ctx.page(client, `/${u(cy.name)}`);
      expectText(other.page, WEB_TEXTS.notFollowing, 'a user I do not follow');
      expectText(other.page, 'Follow user', 'a user I do not follow');
      return undefined;
    },
  ],
  [
    WEB_RULES.follow,
    async (ctx) => {
      const bob = await ctx.account('Bob');
      const text = await ctx.message('Bob');
      const client = await ctx.session('Ann');
      const answer = await client.get(`/${u(bob.name)}/follow`);
      expectRedirect(answer, `/${bob.name}`, ctx.base, 'GET /<username>/follow');
      const landed = last(await client.follow(answer));
      const page = new Page(landed.body);
      expectFlash(page, WEB_TEXTS.following(bob.name), 'the page after following');
      const quoted = [`&#34;${bob.name}&#34;`, `&quot;${bob.name}&quot;`];
      if (!quoted.some((q) => landed.body.includes(q))) {
        throw new Failed('the quotes around the name are not escaped as &#34; or &quot;');
      }
      expectText(page, WEB_TEXTS.isFollowing, "the followed user's page");
      expectText(page, 'Unfollow user', "the followed user's page");
      const home = await ctx.page(client, '/');
      expectText(home.page, text, 'my timeline after following');
      return undefined;
    },
  ],
  [
    WEB_RULES.unfollow,
    async (ctx) => {
      const bob = await ctx.account('Bob');
      const text = await ctx.message('Bob');
      const client = await ctx.session('Ann');
      // Follow first (whatever the previous rule found), then unfollow.
      await client.visit(`/${u(bob.name)}/follow`);
      const answer = await client.get(`/${u(bob.name)}/unfollow`);
      expectRedirect(answer, `/${bob.name}`, ctx.base, 'GET /<username>/unfollow');
      const page = new Page(last(await client.follow(answer)).body);
      expectFlash(page, WEB_TEXTS.unfollowed(bob.name), 'the page after unfollowing');
      expectText(page, WEB_TEXTS.notFollowing, "the unfollowed user's page");
      const home = await ctx.page(client, '/');
      if (home.page.text.includes(text)) {
        throw new Failed("the unfollowed user's message is still on my timeline");
      }
      return undefined;
    },
  ],
  [
    WEB_RULES.needsSignIn,
    async (ctx) => {
      const bob = await ctx.account('Bob');
      const anonymous = ctx.client();
      const text = `anonymous words ${ctx.tag}`;
      expectStatus(await anonymous.post('/add_message', { text }), 401, 'POST /add_message');
      for (const action of ['follow', 'unfollow']) {
        expectStatus(
          await anonymous.get(`/${u(bob.name)}/${action}`),
          401,
          `GET /<username>/${action}`,
        );
      }
      const pub = await ctx.page(anonymous, '/public');
      if (pub.page.text.includes(text)) throw new Failed('the anonymous message was stored');
      const client = await ctx.session('Ann');
      for (const action of ['follow', 'unfollow']) {
        expectStatus(
          await client.get(`/${u(ctx.name('Nobody'))}/${action}`),
          404,
          `GET /<unknown>/${action}`,
        );
      }
      return undefined;
    },
  ],
  [
    WEB_RULES.logout,
    async (ctx) => {
      const ann = await ctx.account('Ann');
      const client = ctx.client();
      await signIn(client, ann);
      await client.visit('/');
      const answer = await client.get('/logout');
      expectRedirect(answer, '/public', ctx.base, 'GET /logout');
      const page = new Page(last(await client.follow(answer)).body);
      expectFlash(page, WEB_TEXTS.loggedOut, 'the page after signing out');
      if (!linkTexts(page).includes('sign in')) throw new Failed('still signed in after /logout');
      expectRedirect(await client.get('/'), '/public', ctx.base, 'GET / after /logout');
      return undefined;
    },
  ],
  [
    WEB_RULES.paging,
    async (ctx) => {
      const pager = await ctx.account('Pager');
      const client = ctx.client();
      await signIn(client, pager);
      const texts = Array.from({ length: 31 }, (_, i) => `paged ${ctx.tag} #${i + 1}.`);
      for (const text of texts) {
        const answer = await client.post('/add_message', { text });
        if (answer.status !== 302) throw new Failed(`posting "${text}": ${show(answer)}`);
      }
      const seen: string[] = [];
      let path = `/${u(pager.name)}`;
      let pages = 0;
      let firstCount = 0;
      while (pages < 5) {
        const { answer, page } = await ctx.page(client, path);
        expectStatus(answer, 200, `GET ${path}`);
        const shown = texts.filter((t) => page.text.includes(t));
        if (pages === 0) firstCount = shown.length;
        for (const t of shown) {
          if (seen.includes(t)) throw new Failed(`"${t}" is shown on two pages`);
          seen.push(t);
        }
        pages++;
        const next = page.links.find(
          (l) =>
            (attr(l.element, 'rel') ?? '').split(/\s+/).includes('next') ||
            /older|next/i.test(l.text),
        );
        if (next === undefined) break;
        const url = new URL(next.href, new URL(path, ctx.base));
        path = url.pathname + url.search;
      }
      if (firstCount !== 30)
        throw new Failed(`the first page shows ${firstCount} of 31 messages, not 30`);
      if (pages === 1) return 'no paging offered (only the first 30 checked)';
      if (seen.length !== 31) {
        throw new Failed(`paging showed ${seen.length} of the 31 messages`);
      }
      return `paging offered: ${pages} pages`;
    },
  ],
  [
    WEB_RULES.crossSite,
    async (ctx) => {
      const ann = await ctx.account('Ann');
      const bob = await ctx.account('Bob');
      const signedIn = await ctx.session('Ann');
      const origin = new URL(ctx.base);
      const sibling = `${origin.protocol}//${origin.hostname}:${origin.port === '1' ? '2' : '1'}`;
      const forgeries: [string, Record<string, string>][] = [
        [
          'Sec-Fetch-Site: cross-site',
          { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
        ],
        ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site', origin: sibling }],
        ['a foreign Origin', { origin: 'https://evil.example' }],
      ];
      // Make sure Ann does not follow Bob, whatever earlier rules left.
      await signedIn.visit(`/${u(bob.name)}/unfollow`);
      for (const [label, headers] of forgeries) {
        const forger = signedIn.clone({ headers });
        const text = `forged (${label}) ${ctx.tag}`;
        await forger.post('/add_message', { text });
        await forger.post(`/${u(bob.name)}/follow`, {});
        const mine = await ctx.page(signedIn, `/${u(ann.name)}`);
        if (mine.page.text.includes(text))
          throw new Failed(`${label}: POST /add_message was stored`);
        const theirs = await ctx.page(signedIn, `/${u(bob.name)}`);
        if (theirs.page.text.includes(WEB_TEXTS.isFollowing)) {
          throw new Failed(`${label}: POST /<username>/follow was carried out`);
        }
      }
      const link = signedIn.clone({ headers: { 'sec-fetch-site': 'cross-site' } });
      await link.get(`/${u(bob.name)}/follow`);
      const theirs = await ctx.page(signedIn, `/${u(bob.name)}`);
      if (theirs.page.text.includes(WEB_TEXTS.isFollowing)) {
        throw new Failed('a cross-site GET /<username>/follow link was carried out');
      }
      return undefined;
    },
  ],
];

/** The markup rule of one form page: `names` then the submit input, as the course's test finds them. */
async function markup(ctx: Context, path: string, names: string[]) {
  const answer = await ctx.client().get(path);
  expectStatus(answer, 200, `GET ${path}`);
  const page = new Page(answer.body);
  const inputs = page.byTag('input');
  const described = inputs
    .slice(0, names.length + 1)
    .map((i) => `${attr(i, 'type') ?? 'text'}:${attr(i, 'name') ?? ''}`)
    .join(', ');
  names.forEach((name, i) => {
    const input = inputs[i];
    if (!input || attr(input, 'name') !== name) {
      throw new Failed(`<input> number ${i + 1} is not "${name}" (the first ones: ${described})`);
    }
  });
  const submit = inputs[names.length];
  if (!submit || (attr(submit, 'type') ?? '').toLowerCase() !== 'submit') {
    throw new Failed(
      `<input> number ${names.length + 1} is not type="submit" (the first ones: ${described})`,
    );
  }
  if (!lineage(submit).some((e) => (attr(e, 'class') ?? '').split(/\s+/).includes('actions'))) {
    throw new Failed('the submit <input> is not inside an element of class "actions"');
  }
  const form = formOf(submit);
  const all = inputs.slice(0, names.length + 1);
  if (!form || all.some((i) => formOf(i) !== form)) {
    throw new Failed('the fields and the submit input are not in one form');
  }
  if (
    (attr(form, 'method') ?? 'get').toLowerCase() !== 'post' ||
    formTarget(form, path, ctx.base) !== path
  ) {
    throw new Failed(`the form does not post to ${path}`);
  }
}

/**
 * Probes a MiniTwit web app (its base URL) for every rule in {@link WEB_RULES}, in that order.
 * Never throws: a rule whose requests fail, time out or find the wrong thing is a FAIL with
 * the reason. Writes only as its own `check-<random> …` users.
 */
export async function checkWeb(
  webUrl: string,
  options: WebCheckOptions = {},
): Promise<CheckResult[]> {
  const ctx = new Context(webUrl, options.timeoutMs ?? 10_000);
  const results: CheckResult[] = [];
  for (const [rule, probe] of RULES) {
    if (options.rules && !options.rules.includes(rule)) continue;
    try {
      const note = await probe(ctx);
      results.push({ rule, pass: true, ...(note ? { detail: note } : {}) });
    } catch (error) {
      const detail =
        error instanceof Failed || error instanceof WebRequestError
          ? error.message
          : `probe crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      results.push({ rule, pass: false, detail });
    }
  }
  return results;
}
