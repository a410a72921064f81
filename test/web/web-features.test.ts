import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { AVATAR_COLOURS, avatarOf, relativeTime } from '../../src/web/render.js';
import { safeReturnPath } from '../../src/web/return-to.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

describe('return paths after sign-in: this site only', () => {
  test('paths of this site are kept, with their query', () => {
    for (const ok of ['/', '/public?before=9', '/Ada%20Lovelace', '/x/followers?after=3']) {
      assert.equal(safeReturnPath(ok), ok);
    }
  });
  test('anything that could leave the site, loop or confuse is refused', () => {
    for (const bad of [
      '//evil.example/',
      '/\\evil.example/',
      '\\\\evil.example',
      'https://evil.example/',
      'http:/evil.example',
      'javascript:alert(1)',
      'evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      '/ok\\..\\x',
      '/login',
      '/login?next=/',
      '/logout',
      '/register',
      '/Ada%20Lovelace/follow',
      '/x/unfollow?y=1',
      '',
      `/${'a'.repeat(2000)}`,
      undefined,
      ['/'],
    ]) {
      assert.equal(safeReturnPath(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe('relative times and drawn avatars', () => {
  test('relative time in words', () => {
    const now = 1_000_000_000;
    const cases: [number, string][] = [
      [0, 'just now'],
      [-30, 'just now'],
      [59, 'just now'],
      [60, '1 min ago'],
      [5 * 60 + 59, '5 min ago'],
      [3600, '1 h ago'],
      [86_400, '1 day ago'],
      [2 * 86_400, '2 days ago'],
      [30 * 86_400, '1 month ago'],
      [300 * 86_400, '10 months ago'],
      [365 * 86_400, '1 year ago'],
      [800 * 86_400, '2 years ago'],
    ];
    for (const [ago, words] of cases) assert.equal(relativeTime(now - ago, now), words, `${ago}`);
  });
  test('initials and a stable colour from the name; Gravatar only when asked', () => {
    assert.equal(avatarOf('Ada Lovelace', 'a@x', 'minitwit').initials, 'AL');
    assert.equal(avatarOf('grace_hopper', 'g@x', 'minitwit').initials, 'GH');
    assert.equal(avatarOf('_x', 'g@x', 'minitwit').initials, 'X');
    assert.equal(avatarOf('ünï', 'u@x', 'minitwit').initials, 'Ü');
    assert.equal(avatarOf('😀', 'u@x', 'minitwit').initials, '😀');
    const a = avatarOf('someone', 's@x', 'minitwit');
    assert.deepEqual(avatarOf('someone', 'other@x', 'minitwit'), a);
    assert.ok(AVATAR_COLOURS.includes(a.colour));
    assert.equal(a.image, undefined);
    assert.match(
      avatarOf('someone', 's@x', 'gravatar').image ?? '',
      /^https:\/\/www\.gravatar\.com\/avatar\/[0-9a-f]{32}\?d=identicon&s=48$/,
    );
  });
  test('AVATARS is minitwit or gravatar', () => {
    assert.equal(loadConfig({}).avatars, 'minitwit');
    assert.equal(loadConfig({ AVATARS: 'Gravatar' }).avatars, 'gravatar');
    assert.throws(
      () => loadConfig({ AVATARS: 'robohash' }),
      /AVATARS must be minitwit or gravatar/,
    );
  });
});

forEachDatabase('web: profiles, paging both ways, return-to, drafts, avatars', (kind) => {
  const server = useServer(kind);
  const web = () => new WebClient(server.webUrl);
  const api = () => new SimClient(server.apiUrl);

  test('profile counts, follow lists and their 404s', async () => {
    const sim = api();
    for (const name of ['pat', 'quin', 'ray']) assert.equal((await sim.register(name)).status, 204);
    await sim.follow('quin', 'pat');
    await sim.follow('ray', 'pat');
    await sim.follow('pat', 'ray');
    await sim.tweet('pat', 'one');
    await sim.tweet('pat', 'two');
    const profile = (await web().get('/pat')).html;
    assert.match(profile, /<strong>2<\/strong> messages/);
    assert.match(profile, /href="\/pat\/following"><strong>1<\/strong> following/);
    assert.match(profile, /href="\/pat\/followers"><strong>2<\/strong> followers/);
    const following = await web().get('/pat/following');
    assert.equal(following.status, 200);
    assert.match(following.html, /<title>Who pat follows \| MiniTwit<\/title>/);
    assert.match(following.html, /class="author" href="\/ray">ray</);
    const followers = (await web().get('/pat/followers')).html;
    assert.ok(
      followers.indexOf('>quin<') < followers.indexOf('>ray<') && followers.includes('>quin<'),
    );
    assert.match((await web().get('/quin/followers')).html, /Nobody follows quin yet\./);
    assert.equal((await web().get('/nobody-at-all/followers')).status, 404);
    assert.equal((await web().get('/pat/following?after=x')).status, 400);
    assert.equal((await web().get('/pat/following?after=1&before=9')).status, 400);
  });

  test('profile counts stop at the cap, so a huge account costs no more than a big one', async () => {
    const sim = api();
    assert.equal((await sim.register('capped')).status, 204);
    for (let i = 0; i < 5; i++) await sim.tweet('capped', `c${i}`);
    const id = (await server.app.store.findUserIdByName('capped')) as number;
    assert.deepEqual(await server.app.store.profileCounts(id, 3), {
      messages: 3,
      following: 0,
      followers: 0,
    });
    assert.equal((await server.app.store.profileCounts(id)).messages, 5);
  });

  test('?after pages back to newer messages; both cursors at once is a 400', async () => {
    const sim = api();
    assert.equal((await sim.register('pager2')).status, 204);
    for (let i = 1; i <= 40; i++) await sim.tweet('pager2', `m${i}`);
    const texts = (html: string) =>
      [...html.matchAll(/<p class="text">(m\d+)<\/p>/g)].map((m) => m[1]);
    const first = await web().get('/pager2');
    assert.equal(texts(first.html)[0], 'm40');
    assert.ok(!first.html.includes('?after='), 'no way to newer from the newest page');
    const older = /href="\?before=(\d+)"/.exec(first.html)?.[1];
    const second = await web().get(`/pager2?before=${older}`);
    assert.deepEqual(
      texts(second.html),
      Array.from({ length: 10 }, (_, i) => `m${10 - i}`),
    );
    const newer = /href="\?after=(\d+)"/.exec(second.html)?.[1];
    const back = await web().get(`/pager2?after=${newer}`);
    assert.deepEqual(texts(back.html), texts(first.html));
    assert.ok(!back.html.includes('?after='), 'the newest page again: no newer link');
    assert.equal((await web().get('/public?before=5&after=2')).status, 400);
    assert.equal((await web().get('/public?after=-1')).status, 400);
    assert.equal((await web().get(`/public?after=${'9'.repeat(30)}`)).status, 200);
  });

  test('the home timeline pages both ways: only me and whom I follow, stable under inserts', async () => {
    const sim = api();
    for (const name of ['homer', 'loud', 'quiet', 'stranger']) {
      assert.equal((await sim.register(name)).status, 204);
    }
    await sim.follow('homer', 'loud');
    await sim.follow('homer', 'quiet');
    await sim.tweet('quiet', 'h0');
    for (let i = 1; i <= 40; i++) {
      await sim.tweet(i % 3 === 0 ? 'homer' : 'loud', `h${i}`);
      await sim.tweet('stranger', `not followed ${i}`);
    }
    const client = web();
    await client.login('homer');
    const texts = (html: string) =>
      [...html.matchAll(/<p class="text">(h\d+)<\/p>/g)].map((m) => m[1]);
    const first = await client.get('/');
    assert.deepEqual(
      texts(first.html),
      Array.from({ length: 30 }, (_, i) => `h${40 - i}`),
    );
    assert.ok(!first.html.includes('not followed'));
    const older = /href="\?before=(\d+)"/.exec(first.html)?.[1];
    const second = await client.get(`/?before=${older}`);
    assert.deepEqual(
      texts(second.html),
      Array.from({ length: 11 }, (_, i) => `h${10 - i}`),
    );
    for (let i = 41; i <= 45; i++) await sim.tweet('loud', `h${i}`);
    const newer = /href="\?after=(\d+)"/.exec(second.html)?.[1];
    const back = await client.get(`/?after=${newer}`);
    assert.deepEqual(texts(back.html), texts(first.html), 'the same page as before the inserts');
    const newest = /href="\?after=(\d+)"/.exec(back.html)?.[1];
    assert.deepEqual(texts((await client.get(`/?after=${newest}`)).html), [
      'h45',
      'h44',
      'h43',
      'h42',
      'h41',
    ]);
  });

  test('sign-in returns to next, only on this site; the hidden field comes after the form', async () => {
    const sim = api();
    assert.equal((await sim.register('returner')).status, 204);
    const form = (await web().get('/login?next=%2Freturner%3Fbefore%3D5')).html;
    assert.match(
      form,
      /<div class="actions"><input type="submit" value="Sign In"><\/div>\s*<input type="hidden" name="next" value="\/returner\?before=5">/,
    );
    assert.ok(!(await web().get('/login?next=%2F%2Fevil.example')).html.includes('name="next"'));
    const back = await web().post('/login', {
      username: 'returner',
      password: 'secret',
      next: '/returner',
    });
    assert.equal(back.status, 302);
    assert.equal(back.location, '/returner');
    for (const evil of ['//evil.example', '/\\evil.example', 'https://evil.example/', '/logout']) {
      const answer = await web().post('/login', {
        username: 'returner',
        password: 'secret',
        next: evil,
      });
      assert.equal(answer.status, 302);
      assert.equal(answer.location, '/', evil);
    }
    // Signed in already: /login?next= goes straight there.
    const client = web();
    await client.login('returner');
    const again = await client.get('/login?next=%2Fpublic');
    assert.equal(again.location, '/public');
    // The nav's sign-in link of a signed-out page carries the page.
    assert.match((await web().get('/returner')).html, /href="\/login\?next=%2Freturner">sign in</);
    assert.match((await web().get('/public')).html, /href="\/login">sign in</);
  });

  test('a post without a session is a 401 that keeps the text for the box after sign-in', async () => {
    const sim = api();
    assert.equal((await sim.register('drafty')).status, 204);
    const client = web();
    const text = `${'€'.repeat(999)}!`; // 1,000 characters, 3,000 bytes: needs both cookies
    const refused = await client.post('/add_message', { text });
    assert.equal(refused.status, 401);
    assert.match(refused.html, /Your message is kept/);
    assert.ok(client.cookies.has('mt_draft0') && client.cookies.has('mt_draft1'));
    assert.equal((await sim.get('/msgs/drafty')).json.length, 0, 'nothing stored');
    const home = await client.login('drafty');
    assert.match(home.html, /is back in the box/);
    assert.ok(
      home.html.includes(
        `maxlength="1000" data-limit="1000" aria-describedby="text-left">${text}</textarea>`,
      ),
    );
    assert.match(home.html, />0 of 1,000 characters left</);
    assert.ok(
      !client.cookies.has('mt_draft0') && !client.cookies.has('mt_draft1'),
      'given back once',
    );
    // A tampered draft cookie gives nothing back.
    const other = web();
    await other.post('/add_message', { text: 'secret plan' });
    other.cookies.set('mt_draft0', `${other.cookies.get('mt_draft0')?.slice(0, -2)}xx`);
    const plain = await other.login('drafty');
    assert.ok(!plain.html.includes('secret plan'));
  });

  test('a new account is shown recent authors to follow, not itself nor whom it follows', async () => {
    const sim = api();
    for (const name of ['busy bee', 'quiet one', 'fresh'])
      assert.equal((await sim.register(name)).status, 204);
    await sim.tweet('busy bee', 'buzz');
    await sim.tweet('fresh', 'my own first message');
    const client = web();
    const home = await client.login('fresh');
    assert.match(home.html, /Who to follow/);
    assert.match(home.html, /aria-label="Follow busy bee"/);
    assert.ok(!home.html.includes('aria-label="Follow fresh"'));
    assert.ok(!home.html.includes('aria-label="Follow quiet one"'), 'only users who posted lately');
    await client.submit('/busy%20bee/follow', {});
    const after = await client.get('/');
    assert.ok(
      !after.html.includes('Who to follow'),
      'a timeline with others in it needs no suggestions',
    );
  });
});

forEachDatabase('web: AVATARS=gravatar', (kind) => {
  const server = useServer(kind, { env: { AVATARS: 'gravatar' } });
  test('the Gravatar picture lies over the drawn initials', async () => {
    const sim = new SimClient(server.apiUrl);
    assert.equal((await sim.register('gravy')).status, 204);
    await sim.tweet('gravy', 'hi');
    const html = (await new WebClient(server.webUrl).get('/public')).html;
    assert.match(
      html,
      /<svg viewBox="0 0 48 48"[^>]*>.*>G<\/text><\/svg><img src="https:\/\/www\.gravatar\.com\/avatar\/[0-9a-f]{32}\?d=identicon&amp;s=48" alt=""/,
    );
  });
});
