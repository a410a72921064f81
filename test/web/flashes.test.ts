import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Page } from '../../src/sim/html.js';
import { FLASH_COOKIE, MAX_FLASHES } from '../../src/web/session.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

/** The flash messages a page shows, one per item, as a reader sees them. */
const flashes = (html: string) =>
  new Page(html)
    .byClass('flashes')
    .flatMap((list) => list.childNodes)
    .map((node) => ('childNodes' in node ? node.childNodes : []))
    .map((children) => children.map((c) => ('value' in c ? c.value : '')).join(''));

forEachDatabase('flash messages stay few', (kind) => {
  const server = useServer(kind);
  let api: SimClient;
  before(async () => {
    api = new SimClient(server.apiUrl);
    for (const name of ['flasher', 'Followed One', 'Followed Two']) {
      assert.equal((await api.register(name, `${name.replace(/ /g, '')}@x.dk`, 'pw')).status, 204);
    }
  });

  test('200 redirects without a page in between: the cookie stays small, the next page shows the newest 3, once', async () => {
    const client = new WebClient(server.webUrl);
    assert.equal(
      (await client.post('/login', { username: 'flasher', password: 'pw' })).status,
      302,
    );
    let largest = 0;
    for (let i = 0; i < 50; i++) {
      for (const path of ['/Followed%20One/follow', '/Followed%20One/unfollow']) {
        assert.equal((await client.get(path)).status, 302);
      }
      assert.equal((await client.post('/add_message', { text: `note ${i}` })).status, 302);
      assert.equal((await client.get('/Followed%20Two/follow')).status, 302);
      largest = Math.max(largest, (client.cookies.get(FLASH_COOKIE) ?? '').length);
    }
    // Before the cap, 200 messages made a cookie of about 4 kB (browsers drop larger ones).
    assert.ok(largest > 0 && largest < 600, `the flash cookie reached ${largest} characters`);
    const page = await client.get('/');
    assert.equal(page.status, 200);
    assert.equal(MAX_FLASHES, 3);
    assert.deepEqual(flashes(page.html), [
      'You are no longer following "Followed One"',
      'Your message was recorded',
      'You are now following "Followed Two"',
    ]);
    assert.deepEqual(flashes((await client.get('/')).html), [], 'shown once');
  });

  test('a cookie already holding 150 flashes (written before the cap) shows only the newest 3', async () => {
    const client = new WebClient(server.webUrl);
    const piled = Array.from({ length: 150 }, (_, i) => `old flash ${i}`);
    const value = Buffer.from(JSON.stringify(piled)).toString('base64url');
    client.cookies.set(FLASH_COOKIE, encodeURIComponent(server.app.web.signCookie(value)));
    const page = await client.get('/public');
    assert.deepEqual(flashes(page.html), ['old flash 147', 'old flash 148', 'old flash 149']);
    assert.equal(client.cookies.has(FLASH_COOKIE), false, 'and the cookie is cleared');
  });

  test('the flashes element holds only the messages: its text is exactly them', async () => {
    const client = new WebClient(server.webUrl);
    const page = await client.submit('/login', { username: 'flasher', password: 'pw' });
    const [element] = new Page(page.html).byClass('flashes');
    assert.ok(element);
    const text = (node: (typeof element.childNodes)[number]): string =>
      'value' in node ? node.value : 'childNodes' in node ? node.childNodes.map(text).join('') : '';
    assert.equal(text(element), 'You were logged in');
  });
});
