import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NOT_ALLOWED, TOO_MANY } from '../../src/api/security.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { startServer, type TestServer, useServer } from '../helpers/server.js';
import { logsContaining, Tally } from './support.js';

const tally = new Tally();
after((t) => {
  tally.report(t as unknown as TestContext, 'limits');
});

/** Polls `check` until it is true; fails after `attempts` tries. Returns the number of tries. */
async function eventually(check: () => Promise<boolean>, what: string, attempts = 120) {
  for (let i = 1; i <= attempts; i++) {
    if (await check()) return i;
    await sleep(250);
  }
  throw new Error(`${what} did not happen after ${attempts} tries`);
}

describe('brute force on the web sign-in and sign-up', () => {
  // Short windows so the test can watch limits lift; every client gets its own address.
  const server = useServer('sqlite', {
    env: {
      TRUST_PROXY: 'true',
      AUTH_LIMIT_WINDOW_SECONDS: '5',
      LOGIN_LIMIT_PER_USERNAME: '3',
      LOGIN_LIMIT_PER_ADDRESS: '6',
      REGISTER_LIMIT_PER_ADDRESS: '3',
    },
  });
  before(async () => {
    const api = new SimClient(server.apiUrl);
    for (const name of ['victim', 'other', 'third', 'fourth']) await api.register(name);
  });

  let nextAddress = 1;
  const client = () => {
    const c = new WebClient(server.webUrl);
    const address = `198.51.100.${nextAddress++}`;
    const request = c.request.bind(c);
    c.request = (method, path, body, headers = {}) =>
      request(method, path, body, { 'x-forwarded-for': address, ...headers });
    return c;
  };
  const attempt = (c: WebClient, username: string, password: string) =>
    c.post('/login', { username, password });

  test('per username: the limit engages (429, clear page, even the right password), then lifts', async () => {
    const attacker = client();
    for (let i = 0; i < 3; i++) {
      const res = await attempt(attacker, 'victim', `guess-${i}`);
      assert.equal(res.status, 200);
      assert.ok(res.html.includes('Invalid password'));
      tally.add('brute force');
    }
    const limited = await attempt(attacker, 'victim', 'guess-3');
    assert.equal(limited.status, 429);
    assert.ok(limited.html.includes('Too many failed sign-ins for this username'));
    assert.ok(limited.html.includes('<title>Sign In | MiniTwit</title>'));
    assert.ok(limited.html.includes('value="victim"'), 'the username is kept');
    assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
    // From another address too, and with the right password: the username is locked.
    const owner = client();
    const locked = await attempt(owner, 'victim', 'secret');
    assert.equal(locked.status, 429);
    assert.equal(owner.cookies.has('mt_session'), false);
    tally.add('brute force', 2);
    // Another username is not affected.
    assert.equal((await attempt(attacker, 'other', 'secret')).status, 302);
    // Later the owner gets in.
    await eventually(
      async () => (await attempt(client(), 'victim', 'secret')).status === 302,
      'lift',
    );
    tally.add('brute force');
  });

  test('per username: parallel guesses are counted too, at most the limit get through', async () => {
    const guesses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => attempt(client(), 'third', `parallel-${i}`)),
    );
    const statuses = guesses.map((g) => g.status);
    assert.equal(statuses.filter((s) => s === 200).length, 3, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 17);
    tally.add('brute force', 20);
  });

  test('per address: many usernames from one address engage the limit; other addresses go on', async () => {
    const attacker = client();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await attempt(attacker, `nobody-${i}`, 'x')).status);
      tally.add('brute force');
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
    const page = await attempt(attacker, 'fourth', 'secret');
    assert.equal(page.status, 429);
    assert.ok(page.html.includes('Too many failed sign-ins from your network'));
    assert.equal((await attempt(client(), 'fourth', 'secret')).status, 302);
    await eventually(
      async () => (await attempt(attacker, 'fourth', 'secret')).status === 302,
      'lift',
    );
    tally.add('brute force', 2);
  });

  test('successful sign-ins do not use up the limit', async () => {
    const user = client();
    for (let i = 0; i < 10; i++) {
      const res = await attempt(user, 'other', 'secret');
      assert.equal(res.status, 302, `sign-in ${i}`);
      await user.get('/logout');
    }
  });

  test('sign-up: the per-address limit engages with a clear page, then lifts', async () => {
    const spammer = client();
    const register = (name: string) =>
      spammer.post('/register', {
        username: name,
        email: `${name}@x.dk`,
        password: 'p',
        password2: 'p',
      });
    for (let i = 0; i < 3; i++) assert.equal((await register(`spam-${i}`)).status, 302);
    const limited = await register('spam-3');
    assert.equal(limited.status, 429);
    assert.ok(limited.html.includes('Too many sign-ups from your network'));
    assert.ok(limited.html.includes('value="spam-3"'));
    assert.equal(await server.app.domain.findUser('spam-3'), undefined);
    await eventually(async () => (await register('spam-4')).status === 302, 'lift');
    tally.add('brute force', 5);
  });
});

forEachDatabase(
  'the sign-in and sign-up limits hold across three instances on one database',
  (kind) => {
    const servers: TestServer[] = [];
    before(async () => {
      const env = {
        TRUST_PROXY: 'true',
        AUTH_LIMIT_WINDOW_SECONDS: '60',
        LOGIN_LIMIT_PER_USERNAME: '3',
        LOGIN_LIMIT_PER_ADDRESS: '6',
        REGISTER_LIMIT_PER_ADDRESS: '3',
      };
      const first = await startServer(kind, { env });
      servers.push(first);
      for (let i = 0; i < 2; i++)
        servers.push(await startServer(kind, { env, database: first.database }));
      await new SimClient(first.apiUrl).register('shared-victim');
      await new SimClient(first.apiUrl).register('shared-owner');
    });
    after(async () => {
      for (const server of servers.slice(1)) await server.stop();
      await servers[0]?.close();
    });

    /** A web client on instance `i` (0, 1, 2) that says it comes from `address`. */
    const clientOn = (i: number, address: string) => {
      const c = new WebClient(servers[i]?.webUrl ?? '');
      const request = c.request.bind(c);
      c.request = (method, path, body, headers = {}) =>
        request(method, path, body, { 'x-forwarded-for': address, ...headers });
      return c;
    };

    test('per username: guesses spread over the three instances are counted once, together', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await clientOn(i % 3, `203.0.113.${10 + i}`).post('/login', {
          username: 'shared-victim',
          password: `guess-${i}`,
        });
        statuses.push(res.status);
      }
      // Counted per instance, three instances would have let 9 guesses through.
      assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
      tally.add('brute force', 6);
    });

    test('per address: parallel guesses from one address over three instances stop at the limit', async () => {
      const guesses = await Promise.all(
        Array.from({ length: 15 }, (_, i) =>
          clientOn(i % 3, '203.0.113.99').post('/login', { username: `ghost-${i}`, password: 'x' }),
        ),
      );
      const statuses = guesses.map((g) => g.status);
      assert.equal(statuses.filter((s) => s === 200).length, 6, statuses.join(','));
      assert.equal(statuses.filter((s) => s === 429).length, 9, statuses.join(','));
      tally.add('brute force', 15);
    });

    test('a successful sign-in on one instance gives back what it counted on every instance', async () => {
      for (let i = 0; i < 8; i++) {
        const user = clientOn(i % 3, '203.0.113.150');
        const res = await user.post('/login', { username: 'shared-owner', password: 'secret' });
        assert.equal(res.status, 302, `sign-in ${i} on instance ${i % 3}`);
      }
    });

    test('sign-up: the per-address limit counts over the three instances', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await clientOn(i % 3, '203.0.113.200').post(
          '/register',
          { username: `spread-${i}`, email: `spread-${i}@x.dk`, password: 'p', password2: 'p' },
          { csrfFrom: '/register' },
        );
        statuses.push(res.status);
      }
      assert.deepEqual(statuses, [302, 302, 302, 429, 429]);
      tally.add('brute force', 5);
    });
  },
);

describe('the API rate limit', () => {
  const server = useServer('sqlite', {
    env: { TRUST_PROXY: 'true', API_RATE_LIMIT: '20', API_RATE_WINDOW_SECONDS: '5' },
  });

  test('engages with 429 in the JSON error shape, per address, not on health checks, then lifts', async () => {
    const api = new SimClient(server.apiUrl);
    const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push((await api.get('/latest', from('192.0.2.1'))).status);
    assert.deepEqual(statuses, [...Array(20).fill(200), ...Array(5).fill(429)]);
    const limited = await api.post('/register', { username: 'x' }, from('192.0.2.1'));
    assert.equal(limited.status, 429);
    assert.deepEqual(limited.json, { status: 429, error_msg: TOO_MANY });
    assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal((await api.get('/latest', from('192.0.2.2'))).status, 200, 'other addresses');
    const health = await fetch(`${server.apiUrl}/healthz`, from('192.0.2.1'));
    assert.equal(health.status, 200);
    // A refused request does not move `latest`.
    await api.get('/msgs', { latest: 4242, ...from('192.0.2.1') });
    assert.equal(await server.app.domain.latest(), -1);
    await eventually(
      async () => (await api.get('/latest', from('192.0.2.1'))).status === 200,
      'lift',
    );
    tally.add('api rate limit', 28);
  });
});

describe('SIM_API_ALLOW and SIM_API_AUTH', () => {
  test('a refused client gets 403 JSON, the log says why, `latest` is untouched, health stays open', async () => {
    const server = await startServer('sqlite', { env: { SIM_API_ALLOW: '10.0.0.0/8' } });
    try {
      const api = new SimClient(server.apiUrl);
      for (const [method, path] of [
        ['GET', '/latest'],
        ['POST', '/register'],
        ['GET', '/msgs'],
        ['POST', '/fllws/x'],
      ]) {
        const res = await api.request(method as string, path as string, {
          latest: 77,
          ...(method === 'POST' ? { body: {} } : {}),
        });
        assert.equal(res.status, 403, `${method} ${path}`);
        assert.deepEqual(res.json, { status: 403, error_msg: NOT_ALLOWED });
        tally.add('allow-list');
      }
      assert.equal(await server.app.domain.latest(), -1);
      assert.equal((await fetch(`${server.apiUrl}/readyz`)).status, 200);
      const why = logsContaining(server.logs, 'not in SIM_API_ALLOW');
      assert.equal(why.length, 1, 'one line per address per minute');
      const line = JSON.parse(why[0] ?? '{}');
      assert.equal(line.ip, '127.0.0.1');
      assert.deepEqual(line.allow, ['10.0.0.0/8']);
      assert.equal(line.level, 40);
    } finally {
      await server.close();
    }
  });

  test('behind a proxy the forwarded address decides; loopback can be allowed', async () => {
    const server = await startServer('sqlite', {
      env: { TRUST_PROXY: 'true', SIM_API_ALLOW: '203.0.113.0/24, 2001:db8::/32' },
    });
    try {
      const api = new SimClient(server.apiUrl);
      const as = (ip: string) => api.get('/latest', { headers: { 'x-forwarded-for': ip } });
      assert.equal((await as('203.0.113.7')).status, 200);
      assert.equal((await as('2001:db8::5')).status, 200);
      assert.equal((await as('198.51.100.1')).status, 403);
      assert.equal((await as('203.0.114.1')).status, 403);
      tally.add('allow-list', 4);
    } finally {
      await server.close();
    }
    const local = await startServer('sqlite', { env: { SIM_API_ALLOW: '127.0.0.0/8,::1' } });
    try {
      const api = new SimClient(local.apiUrl);
      assert.equal((await api.register('ok')).status, 204);
      assert.equal((await api.tweet('ok', 'hi')).status, 204);
    } finally {
      await local.close();
    }
  });

  test('production with the default SIM_API_AUTH warns at start-up; a custom value replaces it', async () => {
    const loud = await startServer('sqlite', { env: { NODE_ENV: 'production' } });
    try {
      assert.equal(logsContaining(loud.logs, 'SIM_API_AUTH is the course').length, 1);
    } finally {
      await loud.close();
    }
    const custom = 'Basic c29tZW9uZTpsb25nLXJhbmRvbS1zZWNyZXQ=';
    const quiet = await startServer('sqlite', {
      env: { NODE_ENV: 'production', SIM_API_AUTH: custom },
    });
    try {
      assert.equal(logsContaining(quiet.logs, 'SIM_API_AUTH').length, 0);
      const api = new SimClient(quiet.apiUrl);
      assert.equal((await api.get('/msgs')).status, 403, 'the well-known value is refused');
      const ok = await api.get('/msgs', { headers: { Authorization: custom } });
      assert.equal(ok.status, 200);
      tally.add('api auth', 2);
    } finally {
      await quiet.close();
    }
  });
});
