import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

/** The id of the newest message of `author` whose text is `text`, read from the database. */
async function idOf(
  server: {
    app: { store: { findUserByName(n: string): Promise<{ user_id: number } | undefined> } };
  },
  timeline: (id: number) => Promise<{ messageId: number; text: string }[]>,
  author: string,
  text: string,
): Promise<number> {
  const user = await server.app.store.findUserByName(author);
  assert.ok(user, `user ${author}`);
  const found = (await timeline(user.user_id)).find((m) => m.text === text);
  assert.ok(found, `message "${text}" of ${author}`);
  return found.messageId;
}

forEachDatabase('deleting one own message', (kind) => {
  const server = useServer(kind);
  let api: SimClient;
  let alice: WebClient;
  let bob: WebClient;
  const same = { 'sec-fetch-site': 'same-origin' };
  const messageId = (author: string, text: string) =>
    idOf(server, (id) => server.app.store.userTimeline(id, { limit: 100 }), author, text);

  before(async () => {
    api = new SimClient(server.apiUrl);
    alice = new WebClient(server.webUrl);
    bob = new WebClient(server.webUrl);
    assert.equal((await alice.register('alice')).status, 200);
    assert.equal((await bob.register('bob')).status, 200);
    await alice.login('alice');
    await bob.login('bob');
    assert.equal((await bob.post('/bob/follow', {}, same)).status, 302);
  });

  test('own messages have a delete link; others do not', async () => {
    await alice.post('/add_message', { text: 'alice keeps this' });
    await bob.post('/add_message', { text: 'bob says hi' });
    const page = await alice.get('/public');
    const id = await messageId('alice', 'alice keeps this');
    const bobs = await messageId('bob', 'bob says hi');
    assert.match(page.html, new RegExp(`href="/messages/${id}/delete"`));
    assert.doesNotMatch(page.html, new RegExp(`/messages/${bobs}/delete`));
    assert.doesNotMatch((await new WebClient(server.webUrl).get('/public')).html, /\/delete"/);
  });

  test('the confirm page changes nothing; the POST hides the message everywhere, API included', async () => {
    await alice.post('/add_message', { text: 'a regrettable <b>post</b>' });
    const id = await messageId('alice', 'a regrettable <b>post</b>');
    const confirm = await alice.get(`/messages/${id}/delete`, {
      referer: `${server.webUrl}/alice?x=1`,
    });
    assert.equal(confirm.status, 200);
    assert.match(confirm.html, /Delete this message\?/);
    assert.match(confirm.html, /a regrettable &lt;b&gt;post&lt;\/b&gt;/);
    assert.match(confirm.html, /name="back" value="\/alice\?x=1"/);
    assert.match((await alice.get('/public')).html, /a regrettable/, 'still there after GET');

    const done = await alice.post(`/messages/${id}/delete`, { back: '/alice?x=1' }, same);
    assert.equal(done.status, 302);
    assert.equal(done.location, '/alice?x=1');
    const landed = await alice.get('/alice?x=1');
    assert.match(landed.html, /Your message was deleted/);
    for (const path of ['/', '/public', '/alice']) {
      assert.doesNotMatch((await alice.get(path)).html, /a regrettable/, path);
      assert.doesNotMatch((await bob.get(path)).html, /a regrettable/, `${path} (bob)`);
    }
    const all = await api.request('GET', '/msgs?no=100');
    assert.equal(all.status, 200);
    assert.ok(!JSON.stringify(all.json).includes('regrettable'));
    assert.ok(JSON.stringify(all.json).includes('alice keeps this'));
    const mine = await api.request('GET', '/msgs/alice?no=100');
    assert.ok(!JSON.stringify(mine.json).includes('regrettable'));
    // Not in the moderation listing (`minitwit messages`) either.
    const listed: number[] = [];
    for await (const m of server.app.domain.listMessages()) listed.push(m.messageId);
    assert.ok(!listed.includes(id));
    assert.ok(listed.length > 0);
    // The row stays, marked deleted.
    const row = await server.app.store.findMessage(id);
    assert.ok(row && row.deletedAt !== null && row.deletedAt > 0);

    // Deleting again is no error and says so.
    const again = await alice.post(`/messages/${id}/delete`, {}, same);
    assert.equal(again.status, 302);
    assert.equal(again.location, '/');
    assert.match((await alice.get('/')).html, /already deleted/);
    const page = await alice.get(`/messages/${id}/delete`);
    assert.equal(page.status, 302);
  });

  test("someone else's message: 403 page; a missing or malformed id: 404 page; never deleted", async () => {
    const bobs = await messageId('bob', 'bob says hi');
    const get = await alice.get(`/messages/${bobs}/delete`);
    assert.equal(get.status, 403);
    assert.match(get.html, /only delete your own messages/);
    const post = await alice.post(`/messages/${bobs}/delete`, {}, same);
    assert.equal(post.status, 403);
    assert.match((await bob.get('/public')).html, /bob says hi/);
    for (const id of ['999999', '0', 'abc', '1e3', '99999999999999999999']) {
      assert.equal((await alice.get(`/messages/${id}/delete`)).status, 404, id);
      assert.equal((await alice.post(`/messages/${id}/delete`, {}, same)).status, 404, id);
    }
  });

  test('signed out: 401; from another site: refused (403) and nothing deleted', async () => {
    const id = await messageId('alice', 'alice keeps this');
    const anonymous = new WebClient(server.webUrl);
    assert.equal((await anonymous.get(`/messages/${id}/delete`)).status, 401);
    assert.equal((await anonymous.post(`/messages/${id}/delete`, {})).status, 401);
    const forged = await alice.post(
      `/messages/${id}/delete`,
      {},
      { 'sec-fetch-site': 'cross-site' },
    );
    assert.equal(forged.status, 403);
    const foreignOrigin = await alice.post(
      `/messages/${id}/delete`,
      {},
      { origin: 'https://evil.example' },
    );
    assert.equal(foreignOrigin.status, 403);
    assert.match((await alice.get('/public')).html, /alice keeps this/);
  });

  test('the return address is a path on this site only: anything else returns to /', async () => {
    for (const back of [
      '//evil.example/x',
      'https://evil.example/',
      '/\\evil.example',
      'alice',
      '/a\nb',
    ]) {
      await alice.post('/add_message', { text: `to delete ${back.length}` });
      const id = await messageId('alice', `to delete ${back.length}`);
      const res = await alice.post(`/messages/${id}/delete`, { back }, same);
      assert.equal(res.status, 302);
      assert.equal(res.location, '/', JSON.stringify(back));
    }
  });

  test('a deleted message is out of the counts, the newer pages and the suggestions too', async () => {
    const carol = new WebClient(server.webUrl);
    assert.equal((await carol.register('carol')).status, 200);
    await carol.login('carol');
    await carol.post('/add_message', { text: 'carol only ever said this' });
    const id = await messageId('carol', 'carol only ever said this');
    const store = server.app.store;
    const carolId = (await store.findUserByName('carol'))?.user_id as number;
    assert.equal((await store.profileCounts(carolId)).messages, 1);
    const dave = (await store.findUserByName('bob'))?.user_id as number;
    const suggested = async () =>
      (await store.recentAuthors(dave, 50)).map((u: { username: string }) => u.username);
    assert.ok((await suggested()).includes('carol'), 'suggested while her message stands');
    const newer = () => store.timelineAfter({ kind: 'public' }, id - 1, 10);
    assert.ok((await newer()).some((m: { messageId: number }) => m.messageId === id));

    assert.equal((await carol.post(`/messages/${id}/delete`, {}, same)).status, 302);
    assert.equal((await store.profileCounts(carolId)).messages, 0);
    assert.ok(!(await suggested()).includes('carol'), 'not suggested for a deleted message');
    assert.ok(!(await newer()).some((m: { messageId: number }) => m.messageId === id));
    const profile = await bob.get('/carol');
    assert.match(profile.html, /<strong>0<\/strong> messages/);
    assert.doesNotMatch((await bob.get(`/public?after=${id - 1}`)).html, /carol only ever/);
  });
});
