import assert from 'node:assert/strict';
import { test } from 'node:test';
import cookie from '@fastify/cookie';
import Fastify from 'fastify';
import type { Sessions } from '../../src/domain/sessions.js';
import { webSessions } from '../../src/web/session.js';
import { WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { TEST_SECRET, useServer } from '../helpers/server.js';

const SESSION_USER_KEYS = ['email', 'user_id', 'username'];
const keysOf = (value: object | null | undefined) => Object.keys(value ?? {}).sort();

/** Paths inside `value` (any depth) with a pw_hash key or an argon2 hash as a value. */
function secretsIn(value: unknown, path = 'data', seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return value.startsWith('$argon2') ? [path] : [];
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  return Object.entries(value).flatMap(([key, inner]) => [
    ...(key === 'pw_hash' ? [`${path}.${key}`] : []),
    ...secretsIn(inner, `${path}.${key}`, seen),
  ]);
}

test('signIn keeps only id, name and email on request.user, even given a whole row', async () => {
  // Sessions stand-in: the test is about what the request holds, not about the database.
  const sessions = { start: async () => 'token', end: async () => {} } as unknown as Sessions;
  const app = Fastify();
  await app.register(cookie, { secret: TEST_SECRET });
  await app.register(webSessions, { sessions });
  app.post('/probe', async (request, reply) => {
    const row = { user_id: 7, username: 'ann', email: 'ann@x.dk', pw_hash: '$argon2id$v=19$x' };
    await app.webSession.signIn(request, reply, row);
    return { keys: keysOf(request.user), user: request.user };
  });
  try {
    const res = await app.inject({ method: 'POST', url: '/probe' });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { keys: string[]; user: unknown };
    assert.deepEqual(body.keys, SESSION_USER_KEYS);
    assert.deepEqual(body.user, { user_id: 7, username: 'ann', email: 'ann@x.dk' });
  } finally {
    await app.close();
  }
});

forEachDatabase('session user', (kind) => {
  const server = useServer(kind);

  test('Store.findSessionUser selects id, name and email only', async () => {
    const web = new WebClient(server.webUrl);
    await web.register('sue');
    const { store } = server.app;
    const row = await store.findUserByName('sue');
    assert.ok(row);
    const now = Math.floor(Date.now() / 1000);
    await store.createSession('probe-digest', row.user_id, now, now + 60);
    const found = await store.findSessionUser('probe-digest', now);
    assert.deepEqual(keysOf(found), SESSION_USER_KEYS);
    assert.deepEqual(found, { user_id: row.user_id, username: 'sue', email: row.email });
    await store.deleteSession('probe-digest');
  });

  test('no rendered page is given a password hash; its user is id, name and email', async () => {
    const templates = server.app.web.templates;
    const original = templates.render;
    const render = original.bind(templates);
    const given: { view: string; data: Record<string, unknown> }[] = [];
    templates.render = ((view: string, data: Record<string, unknown>) => {
      given.push({ view, data });
      return render(view, data);
    }) as typeof templates.render;
    try {
      const ann = new WebClient(server.webUrl);
      await ann.register('ann');
      await new WebClient(server.webUrl).register('bob');
      assert.equal((await ann.login('ann')).status, 200);
      assert.equal((await ann.submit('/add_message', { text: 'hello' })).status, 200);
      for (const path of ['/', '/public', '/ann', '/bob', '/no/such/page', '/nobody-here']) {
        await ann.visit(path);
      }
      assert.equal(
        (await ann.post('/bob/follow', {}, { 'sec-fetch-site': 'cross-site' })).status,
        403,
      );
      await new WebClient(server.webUrl).visit('/ann');

      assert.ok(given.length >= 10, `only ${given.length} pages rendered`);
      const signedIn = given.filter((g) => g.data.user);
      assert.ok(signedIn.length >= 8, `only ${signedIn.length} signed-in pages rendered`);
      for (const { view, data } of signedIn) {
        assert.deepEqual(keysOf(data.user as object), SESSION_USER_KEYS, view);
      }
      assert.deepEqual(
        given.flatMap(({ view, data }) => secretsIn(data).map((path) => `${view}: ${path}`)),
        [],
      );
    } finally {
      templates.render = original;
    }
  });
});
