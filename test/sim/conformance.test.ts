import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { checkApi } from '../../src/sim/check.js';
import { checkWeb, WEB_RULES } from '../../src/sim/check-web.js';
import { SimClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';
import { originalRows, snapshot } from '../security/support.js';
import {
  type Fault,
  type FaultProxy,
  jsonAnswer,
  pathOf,
  queryOf,
  redirectAnswer,
  signedIn,
  startFaultProxy,
  withQuery,
} from './fault-proxy.js';

const run = promisify(execFile);

/** `minitwit check …` as an operator runs it: a child process; its exit code and lines. */
async function check(args: string[]) {
  try {
    const { stdout } = await run(process.execPath, ['bin/minitwit.js', 'check', ...args]);
    return { code: 0, lines: stdout.trim().split('\n') };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, lines: e.stdout.trim().split('\n'), stderr: e.stderr };
  }
}

const WEB_RULE_COUNT = Object.keys(WEB_RULES).length;
const API_RULE_COUNT = 16;

forEachDatabase('minitwit check against our server', (kind) => {
  const server = useServer(kind, { env: { LOG_LEVEL: 'warn' } });

  test('every web and API rule passes, one PASS line each, exit 0, and nobody else is touched', async () => {
    // A bystander the checker must leave alone.
    const api = new SimClient(server.apiUrl);
    assert.equal((await api.register('Bystander One')).status, 204);
    assert.equal((await api.register('Bystander Two')).status, 204);
    assert.equal((await api.tweet('Bystander One', 'minding my own business')).status, 204);
    assert.equal((await api.follow('Bystander One', 'Bystander Two')).status, 204);
    const before_ = await snapshot(server.app);

    const { code, lines } = await check([server.webUrl, server.apiUrl, '--api-timeout', '3000']);
    const verdicts = lines.filter((l) => /^(PASS|FAIL) /.test(l));
    assert.deepEqual(
      verdicts.filter((l) => l.startsWith('FAIL')),
      [],
    );
    assert.equal(verdicts.filter((l) => l.startsWith('PASS web: ')).length, WEB_RULE_COUNT);
    assert.equal(verdicts.filter((l) => l.startsWith('PASS api: ')).length, API_RULE_COUNT);
    const total = WEB_RULE_COUNT + API_RULE_COUNT;
    assert.equal(lines.at(-1), `${total}/${total} rules pass`);
    assert.equal(code, 0);
    assert.ok(
      verdicts.some((l) => l.includes('paging offered')),
      'our timelines page: the paging rule followed them',
    );

    const after_ = await snapshot(server.app);
    assert.deepEqual(originalRows(before_, after_), before_, 'rows that were there are untouched');
    const made = after_.users.slice(before_.users.length);
    assert.ok(made.length >= 4, `the checker made its users (${made.length})`);
    for (const user of made) assert.match(user.username, /^check-[0-9a-f]{8} /);
    const ids = new Set(made.map((u) => u.user_id));
    for (const m of after_.messages.slice(before_.messages.length)) {
      assert.ok(ids.has(m.author_id), `message ${m.message_id} by one of the checker's users`);
    }
    for (const f of after_.followers) {
      const old = before_.followers.some((o) => o.who_id === f.who_id && o.whom_id === f.whom_id);
      assert.ok(old || (ids.has(f.who_id) && ids.has(f.whom_id)), 'follows among its own users');
    }
  });
});

// ---- the broken servers: one fault per rule, each shown to make that rule FAIL ----

const replaceBody =
  (from: string | RegExp, to: string, when?: (path: string, method: string) => boolean) =>
  (response: { body: string }, request: { url: string; method: string }) => {
    if (when && !when(pathOf(request.url), request.method)) return;
    response.body = response.body.replaceAll(from, to);
  };

const formField = (body: string, name: string) => new URLSearchParams(body).get(name);

/** A web fault and the rule it must break. */
const WEB_FAULTS: [rule: string, what: string, fault: Fault][] = [
  [
    WEB_RULES.anonymousHome,
    '/ shows the public timeline itself instead of redirecting',
    {
      response(r, q) {
        if (pathOf(q.url) === '/' && r.status === 302) r.status = 303;
      },
    },
  ],
  [
    WEB_RULES.publicPage,
    'the public timeline has another title',
    { response: replaceBody('<title>Public Timeline | MiniTwit', '<title>Everyone | MiniTwit') },
  ],
  [
    WEB_RULES.registerMarkup,
    'a hidden token field comes first in the sign-up form',
    {
      response: replaceBody(
        '<form class="card" method="post" action="/register">',
        '<form class="card" method="post" action="/register"><input type="hidden" name="_csrf" value="t">',
      ),
    },
  ],
  [
    WEB_RULES.loginMarkup,
    'the sign-in form submits with a <button>',
    {
      response: replaceBody(
        '<div class="actions"><input type="submit" value="Sign In"></div>',
        '<button type="submit">Sign In</button>',
      ),
    },
  ],
  [
    WEB_RULES.registerPlain,
    'a form post without a CSRF token is refused (403), as MiniTwit did before',
    {
      request(q) {
        if (q.method === 'POST' && formField(q.body, '_csrf') === null) {
          return {
            status: 403,
            headers: { 'content-type': 'text/html' },
            body: '<p>This form has expired</p>',
          };
        }
        return undefined;
      },
    },
  ],
  [
    WEB_RULES.registerErrors,
    'a sign-up error says something else',
    { response: replaceBody('The two passwords do not match', 'Passwords differ') },
  ],
  [
    WEB_RULES.loginErrors,
    'a failed sign-in answers 401',
    {
      response(r, q) {
        if (pathOf(q.url) === '/login' && q.method === 'POST' && r.status === 200) r.status = 401;
      },
    },
  ],
  [
    WEB_RULES.loginPlain,
    'the sign-in flash says something else',
    { response: replaceBody('You were logged in', 'Welcome back') },
  ],
  [
    WEB_RULES.signedInForms,
    'the sign-in form is shown to a signed-in user',
    {
      request(q) {
        if (q.method === 'GET' && pathOf(q.url) === '/login' && signedIn(q)) {
          delete q.headers.cookie;
        }
        return undefined;
      },
    },
  ],
  [
    WEB_RULES.flashMarkup,
    'flashes are never cleared, so they show again',
    {
      response(r) {
        const lines = r.headers['set-cookie'];
        if (Array.isArray(lines)) {
          r.headers['set-cookie'] = lines.filter(
            (l) => !(l.startsWith('mt_flash=') && /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(l)),
          );
        }
      },
    },
  ],
  [
    WEB_RULES.postBox,
    'the post box field is named "message"',
    {
      response: replaceBody('id="text" name="text"', 'id="text" name="message"', (p) => p === '/'),
    },
  ],
  [
    WEB_RULES.addMessage,
    'a posted message is dropped, with the redirect as usual',
    {
      request(q) {
        return q.method === 'POST' && pathOf(q.url) === '/add_message'
          ? redirectAnswer('/')
          : undefined;
      },
    },
  ],
  [
    WEB_RULES.emptyMessage,
    'an empty message is stored as "(empty)"',
    {
      request(q) {
        if (q.method === 'POST' && pathOf(q.url) === '/add_message') {
          if (formField(q.body, 'text') === '') q.body = 'text=%28empty%29';
        }
        return undefined;
      },
    },
  ],
  [
    WEB_RULES.escaping,
    'message text is shown unescaped',
    { response: replaceBody('&lt;x&gt;', '<x>') },
  ],
  [
    WEB_RULES.messageView,
    'times are shown without the " @ "',
    { response: replaceBody(/(\d{4}-\d\d-\d\d) @ (\d\d:\d\d)/g, '$1 $2') },
  ],
  [
    WEB_RULES.emptyTimeline,
    'an empty timeline says something else',
    { response: replaceBody("There's no message so far.", 'Nothing here yet.') },
  ],
  [
    WEB_RULES.profile,
    'an unknown user gets an empty page (200)',
    {
      response(r, q) {
        if (q.method === 'GET' && r.status === 404) r.status = 200;
      },
    },
  ],
  [
    WEB_RULES.relation,
    'your own page does not say "This is you!"',
    { response: replaceBody('This is you!', 'Your page') },
  ],
  [
    WEB_RULES.follow,
    'the quotes of the follow flash are not escaped',
    { response: replaceBody('&#34;', '"') },
  ],
  [
    WEB_RULES.unfollow,
    'unfollow does nothing and redirects',
    {
      request(q) {
        const path = pathOf(q.url);
        return q.method === 'GET' && path.endsWith('/unfollow')
          ? redirectAnswer(path.slice(0, -'/unfollow'.length))
          : undefined;
      },
    },
  ],
  [
    WEB_RULES.needsSignIn,
    'posting without a sign-in redirects to /login instead of 401',
    {
      response(r, q) {
        if (q.method === 'POST' && pathOf(q.url) === '/add_message' && r.status === 401) {
          r.status = 302;
          r.headers.location = '/login';
        }
      },
    },
  ],
  [
    WEB_RULES.logout,
    '/logout redirects without signing out',
    {
      request(q) {
        return pathOf(q.url) === '/logout' ? redirectAnswer('/public') : undefined;
      },
    },
  ],
  [
    WEB_RULES.paging,
    'the link to older messages shows the first page again',
    { response: replaceBody(/href="\?before=\d+"/g, 'href="?before=999999999"') },
  ],
  [
    WEB_RULES.crossSite,
    'no cross-site defence: the browser headers never reach the app',
    {
      request(q) {
        delete q.headers['sec-fetch-site'];
        delete q.headers.origin;
        return undefined;
      },
    },
  ],
];

const FORBIDDEN = { status: 403, error_msg: 'You are not authorized to use this resource!' };
const maxLatest = { seen: Number.NEGATIVE_INFINITY };

/** An API fault and the rule (its start) it must break. */
const API_FAULTS: [rule: string, what: string, fault: Fault][] = [
  [
    'GET /latest answers 200',
    '/latest answers {"last": <int>}',
    {
      response(r, q) {
        if (pathOf(q.url) === '/latest' && r.status === 200)
          r.body = r.body.replace('latest', 'last');
      },
    },
  ],
  [
    '?latest=<int> is stored',
    '?latest is dropped by GET /latest',
    {
      request(q) {
        if (pathOf(q.url) === '/latest') q.url = withQuery(q.url, (s) => s.delete('latest'));
        return undefined;
      },
    },
  ],
  [
    '?latest is stored before auth',
    'auth is checked before ?latest is read',
    {
      request(q) {
        const auth = q.headers.authorization;
        return pathOf(q.url).startsWith('/msgs') && auth !== undefined && !auth.includes('c2lt')
          ? jsonAnswer(403, FORBIDDEN)
          : undefined;
      },
    },
  ],
  [
    '?latest overwrites',
    '?latest keeps the largest value',
    {
      request(q) {
        const value = Number(queryOf(q.url).get('latest'));
        if (!Number.isInteger(value) || value < 0) return undefined;
        if (value < maxLatest.seen) q.url = withQuery(q.url, (s) => s.delete('latest'));
        else maxLatest.seen = value;
        return undefined;
      },
    },
  ],
  [
    '?latest that is not an integer',
    '?latest=abc and -1 are stored as 0',
    {
      request(q) {
        const raw = queryOf(q.url).get('latest');
        if (raw !== null && !/^\d+$/.test(raw))
          q.url = withQuery(q.url, (s) => s.set('latest', '0'));
        return undefined;
      },
    },
  ],
  [
    'missing or wrong auth',
    'the 403 says something else',
    {
      response(r) {
        if (r.status === 403) r.body = JSON.stringify({ status: 403, error_msg: 'Forbidden' });
      },
    },
  ],
  [
    'POST /register answers 204',
    'a sign-up answers 200 {}',
    {
      response(r, q) {
        if (pathOf(q.url) === '/register' && r.status === 204)
          Object.assign(r, jsonAnswer(200, {}));
      },
    },
  ],
  [
    'POST /register errors are 400',
    'sign-up errors say "Bad request"',
    {
      response(r, q) {
        if (pathOf(q.url) === '/register' && r.status === 400) {
          r.body = JSON.stringify({ status: 400, error_msg: 'Bad request' });
        }
      },
    },
  ],
  [
    'POST /msgs/<user> answers 204',
    "a user's messages are listed oldest first",
    {
      response(r, q) {
        if (q.method === 'GET' && /^\/msgs\/./.test(pathOf(q.url)) && r.status === 200) {
          r.body = JSON.stringify((JSON.parse(r.body) as unknown[]).reverse());
        }
      },
    },
  ],
  [
    "GET /msgs lists everyone's messages",
    '?no= is ignored by GET /msgs',
    {
      request(q) {
        if (pathOf(q.url) === '/msgs') q.url = withQuery(q.url, (s) => s.delete('no'));
        return undefined;
      },
    },
  ],
  [
    'GET/POST /msgs/<unknown>',
    'an unknown user is a 500',
    {
      response(r) {
        if (r.status === 404) Object.assign(r, jsonAnswer(500, { status: 500, error_msg: 'x' }));
      },
    },
  ],
  [
    'POST /fllws follow answers 204',
    'GET /fllws always lists nobody',
    {
      response(r, q) {
        if (q.method === 'GET' && pathOf(q.url).startsWith('/fllws/') && r.status === 200) {
          r.body = JSON.stringify({ follows: [] });
        }
      },
    },
  ],
  [
    'POST /fllws unfollow answers 204',
    'unfollow answers 204 and does nothing',
    {
      request(q) {
        if (q.method !== 'POST' || !pathOf(q.url).startsWith('/fllws/')) return undefined;
        const body = JSON.parse(q.body || '{}') as Record<string, unknown>;
        return 'unfollow' in body && !('follow' in body) ? jsonAnswer(204, undefined) : undefined;
      },
    },
  ],
  [
    'POST /fllws with both follow and unfollow',
    'with both, unfollow wins',
    {
      request(q) {
        if (q.method !== 'POST' || !pathOf(q.url).startsWith('/fllws/')) return undefined;
        const body = JSON.parse(q.body || '{}') as Record<string, unknown>;
        if ('unfollow' in body && 'follow' in body)
          q.body = JSON.stringify({ unfollow: body.unfollow });
        return undefined;
      },
    },
  ],
  [
    'POST /fllws naming an unknown target',
    'following an unknown user is 204',
    {
      response(r, q) {
        if (q.method === 'POST' && pathOf(q.url).startsWith('/fllws/') && r.status === 404) {
          Object.assign(r, jsonAnswer(204, undefined));
        }
      },
    },
  ],
  [
    'malformed JSON',
    'broken JSON is a 500',
    {
      request(q) {
        if (q.method !== 'POST' || q.body === '') return undefined;
        try {
          JSON.parse(q.body);
          return undefined;
        } catch {
          return jsonAnswer(500, { status: 500, error_msg: 'Internal Server Error' });
        }
      },
    },
  ],
];

describe('minitwit check against deliberately broken servers', () => {
  // No sign-up or sign-in limits: the checker runs once per fault from one address.
  const server = useServer('sqlite', {
    env: {
      LOG_LEVEL: 'warn',
      REGISTER_LIMIT_PER_ADDRESS: '0',
      LOGIN_LIMIT_PER_ADDRESS: '0',
      LOGIN_LIMIT_PER_USERNAME: '0',
    },
  });
  let web: FaultProxy;
  let api: FaultProxy;
  before(async () => {
    web = await startFaultProxy(server.webUrl);
    api = await startFaultProxy(server.apiUrl);
  });
  after(async () => {
    await web?.close();
    await api?.close();
  });

  test('every web rule has a fault of its own', () => {
    assert.deepEqual(WEB_FAULTS.map(([rule]) => rule).sort(), Object.values(WEB_RULES).sort());
  });

  test('through the proxy with no fault, every rule passes (the proxy itself breaks nothing)', async () => {
    web.fault = undefined;
    api.fault = undefined;
    const results = [
      ...(await checkWeb(web.url)),
      ...(await checkApi(api.url, { timeoutMs: 3000 })),
    ];
    assert.deepEqual(
      results.filter((r) => !r.pass),
      [],
    );
    assert.equal(results.length, WEB_RULE_COUNT + API_RULE_COUNT);
  });

  for (const [rule, what, fault] of WEB_FAULTS) {
    test(`web fault "${what}" fails: ${rule}`, async (t) => {
      // The rule passes on its own without the fault, so the fault is what fails it.
      web.fault = undefined;
      const [control] = await checkWeb(web.url, { rules: [rule] });
      assert.equal(control?.pass, true, `without the fault: ${control?.detail}`);
      web.fault = fault;
      try {
        const [result] = await checkWeb(web.url, { rules: [rule] });
        assert.equal(result?.rule, rule);
        assert.equal(result?.pass, false, `the rule passed despite the fault: ${what}`);
        assert.ok(result?.detail && !result.detail.startsWith('probe crashed'), result?.detail);
        t.diagnostic(`FAIL -- ${result.detail}`);
      } finally {
        web.fault = undefined;
      }
    });
  }

  for (const [rule, what, fault] of API_FAULTS) {
    test(`API fault "${what}" fails: ${rule}…`, async (t) => {
      api.fault = fault;
      maxLatest.seen = Number.NEGATIVE_INFINITY;
      try {
        const results = await checkApi(api.url, { timeoutMs: 3000 });
        const target = results.filter((r) => r.rule.startsWith(rule));
        assert.equal(target.length, 1, `one rule starts with "${rule}"`);
        assert.equal(target[0]?.pass, false, `the rule passed despite the fault: ${what}`);
        t.diagnostic(`FAIL -- ${target[0]?.detail}`);
      } finally {
        api.fault = undefined;
      }
    });
  }

  test('the CLI prints FAIL with the reason and exits 1 against the old token-checking MiniTwit', async () => {
    web.fault = WEB_FAULTS.find(([rule]) => rule === WEB_RULES.registerPlain)?.[2];
    try {
      const { code, lines } = await check(['--only', 'web', web.url]);
      assert.equal(code, 1);
      const failed = lines.filter((l) => l.startsWith('FAIL web: '));
      assert.ok(
        failed.some((l) => l.includes(WEB_RULES.registerPlain) && l.includes('answered 403')),
        failed.join('\n'),
      );
      assert.match(lines.at(-1) ?? '', new RegExp(`^\\d+/${WEB_RULE_COUNT} rules pass$`));
    } finally {
      web.fault = undefined;
    }
  });

  test('usage errors: a missing URL, a bad --only, a URL that is not http', async () => {
    for (const args of [
      [],
      ['http://127.0.0.1:1'],
      ['--only', 'both', 'http://x'],
      ['ftp://x', 'http://y'],
    ]) {
      const res = await check(args);
      assert.equal(res.code, 1, args.join(' '));
      assert.match(res.stderr ?? '', /minitwit check: /, args.join(' '));
    }
  });

  test('an unreachable server: every rule FAILs with the reason, exit 1, no crash', async () => {
    const { code, lines } = await check([
      '--timeout',
      '2000',
      'http://127.0.0.1:9',
      'http://127.0.0.1:9',
    ]);
    assert.equal(code, 1);
    const failed = lines.filter((l) => l.startsWith('FAIL '));
    assert.equal(failed.length, WEB_RULE_COUNT + API_RULE_COUNT);
    assert.ok(
      failed.every((l) => !l.includes('probe crashed')),
      failed.join('\n'),
    );
  });
});
