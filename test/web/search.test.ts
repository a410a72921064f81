import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Page } from '../../src/sim/html.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

/** The texts of the messages a page lists, in order, as a reader sees them (entities decoded). */
function texts(html: string): string[] {
  return new Page(html).byClass('text').map((node) => textOf(node));
}

function textOf(node: unknown): string {
  const n = node as { value?: string; childNodes?: unknown[] };
  if (typeof n.value === 'string') return n.value;
  return (n.childNodes ?? []).map(textOf).join('');
}

/** The names in the page's user list. */
function userNames(html: string): string[] {
  return new Page(html).byClass('user-list').flatMap((list) =>
    textOf(list)
      .trim()
      .split(/\s*\n\s*/)
      .filter(Boolean),
  );
}

const q = (query: string, extra = '') => `/search?q=${encodeURIComponent(query)}${extra}`;

forEachDatabase('search: users by name and messages by words', (kind) => {
  const server = useServer(kind);
  let api: SimClient;
  let web: WebClient;

  before(async () => {
    api = new SimClient(server.apiUrl);
    for (const name of ['Roger Histand', 'alice', 'Historian Bob']) {
      assert.equal((await api.register(name, `${name.replace(/ /g, '')}@x.dk`, 'pw')).status, 204);
    }
    for (const text of [
      'The water is cold today',
      'Hot water, cold feet',
      '<script>alert("water")</script> & "quotes"',
      'Café au lait near the river',
      'no match here',
    ]) {
      assert.equal((await api.tweet('alice', text)).status, 204);
    }
    assert.equal((await api.tweet('Roger Histand', 'water for the flagged one')).status, 204);
    assert.equal((await api.tweet('Roger Histand', 'water for the deleted one')).status, 204);
    const roger = await server.app.store.findUserByName('Roger Histand');
    assert.ok(roger);
    const mine = await server.app.store.userTimeline(roger.user_id, { limit: 10 });
    const flagged = mine.find((m) => m.text.includes('flagged'));
    const deleted = mine.find((m) => m.text.includes('deleted'));
    assert.ok(flagged && deleted);
    await server.app.domain.setFlagged([flagged.messageId], true);
    assert.equal(await server.app.domain.deleteMessage(roger.user_id, deleted.messageId), true);
    web = new WebClient(server.webUrl);
  });

  test('messages holding every word, newest first; flagged and deleted never shown; text escaped', async () => {
    const page = await web.get(q('water'));
    assert.equal(page.status, 200);
    assert.deepEqual(texts(page.html), [
      '<script>alert("water")</script> & "quotes"',
      'Hot water, cold feet',
      'The water is cold today',
    ]);
    assert.ok(!page.html.includes('<script>alert'), 'the message text is escaped');
    assert.match(
      page.html,
      /&lt;script&gt;alert\(&#34;water&#34;\)&lt;\/script&gt; &amp; &#34;quotes&#34;/,
    );
    assert.deepEqual(texts((await web.get(q('COLD  Water'))).html), [
      'Hot water, cold feet',
      'The water is cold today',
    ]);
    assert.deepEqual(texts((await web.get(q('flagged'))).html), []);
    assert.deepEqual(texts((await web.get(q('deleted'))).html), []);
    assert.match((await web.get(q('deleted'))).html, /No message matches/);
  });

  test('users by the start of any word of their name, case folded', async () => {
    assert.deepEqual(userNames((await web.get(q('hist'))).html), [
      'Roger Histand',
      'Historian Bob',
    ]);
    assert.deepEqual(userNames((await web.get(q('ROGER'))).html), ['Roger Histand']);
    assert.deepEqual(userNames((await web.get(q('bob hist'))).html), ['Historian Bob']);
    const page = await web.get(q('rog'));
    assert.match(page.html, /href="\/Roger%20Histand"/);
    assert.match((await web.get(q('zzz'))).html, /No user(?:&#39;|')s name matches/);
  });

  test('FTS and tsquery syntax is plain text: quotes, stars, NEAR, operators never fail', async () => {
    for (const query of [
      '"',
      '""',
      '*',
      'water*',
      '"water',
      'NEAR(water cold)',
      'water NEAR cold',
      'water AND',
      'OR',
      'NOT water',
      '-water',
      'water:*',
      '!water & | cold',
      "'",
      '(',
      ')',
      '^water',
      'text:water',
      '{water}',
      '\\',
      '%_',
      '\u0000',
      'a'.repeat(200),
      '😀 emoji',
      `${'word '.repeat(30)}`,
    ]) {
      const page = await web.get(q(query));
      assert.equal(page.status, 200, `${JSON.stringify(query)}: ${page.status}`);
    }
    assert.deepEqual(texts((await web.get(q('"water'))).html).length, 3);
    assert.deepEqual(texts((await web.get(q('near'))).html), ['Café au lait near the river']);
  });

  test('empty, too long, repeated or badly paged queries: a page, never a 500', async () => {
    const empty = await web.get('/search');
    assert.equal(empty.status, 200);
    assert.match(empty.html, /<form[^>]+role="search"/);
    assert.equal((await web.get(q('   '))).status, 200);
    const long = await web.get(q('a'.repeat(201)));
    assert.equal(long.status, 400);
    assert.match(long.html, /at most 200 characters/);
    assert.equal((await web.get(q('b'.repeat(5000)))).status, 400);
    assert.equal((await web.get('/search?q=a&q=b')).status, 400);
    assert.equal((await web.get(q('water', '&before=abc'))).status, 400);
    assert.equal((await web.get(q('water', '&before=99999999999999999999'))).status, 200);
    assert.equal((await web.get(q('water', '&before=1'))).status, 200);
  });

  test('pages of 30, newest first, stable while new messages arrive', async () => {
    for (let i = 1; i <= 35; i++) {
      assert.equal((await api.tweet('alice', `pagingword number ${i}`)).status, 204);
    }
    const first = await web.get(q('pagingword'));
    const firstTexts = texts(first.html);
    assert.equal(firstTexts.length, 30);
    assert.equal(firstTexts[0], 'pagingword number 35');
    const next = /<a class="older" rel="next" href="([^"]+)"/
      .exec(first.html)?.[1]
      ?.replace(/&amp;/g, '&');
    assert.ok(next, 'a link to older results');
    assert.match(next, /^\/search\?q=pagingword&before=\d+$/);
    // New messages after the first page was read do not shift the second.
    assert.equal((await api.tweet('alice', 'pagingword number 36')).status, 204);
    const second = texts((await web.get(next)).html);
    assert.deepEqual(second, [
      'pagingword number 5',
      'pagingword number 4',
      'pagingword number 3',
      'pagingword number 2',
      'pagingword number 1',
    ]);
    assert.doesNotMatch((await web.get(next)).html, /rel="next"/);
    assert.doesNotMatch(
      (await web.get(next)).html,
      /id="users-heading"/,
      'users on the first page only',
    );
  });

  test('the layout links to the search page, anonymous and signed in; own results can be deleted', async () => {
    assert.match((await web.get('/public')).html, /<a href="\/search">search<\/a>/);
    const alice = new WebClient(server.webUrl);
    await alice.login('alice', 'pw');
    const page = await alice.get(q('cold'));
    assert.match(page.html, /<a href="\/search">search<\/a>/);
    assert.match(page.html, /href="\/messages\/\d+\/delete"/);
  });
});
