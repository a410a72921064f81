import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { createLogger, prettyStream } from '../../src/observability/logger.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { type TestServer, useServer } from '../helpers/server.js';

type Line = Record<string, unknown>;

/** Every log line as JSON; a line that does not parse fails the test. */
function parsed(server: TestServer): Line[] {
  return server.logs.map((raw) => {
    try {
      return JSON.parse(raw) as Line;
    } catch {
      throw new Error(`log line is not JSON: ${raw}`);
    }
  });
}

describe('structured request logs', () => {
  const server = useServer('sqlite');

  test('one JSON line per request with the request id given in X-Request-Id', async () => {
    const api = new SimClient(server.apiUrl);
    const res = await api.get('/msgs', { headers: { 'X-Request-Id': 'obs-test-req-1' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'obs-test-req-1');
    const mine = parsed(server).filter((l) => l.reqId === 'obs-test-req-1');
    assert.equal(mine.length, 1, 'exactly one line for the request');
    const line = mine[0] as Line;
    assert.equal(line.msg, 'request');
    assert.equal(line.method, 'GET');
    assert.equal(line.route, '/msgs');
    assert.equal(line.status, 200);
    assert.equal(line.door, 'api');
    assert.equal(typeof line.ms, 'number');
    assert.equal(line.level, 30);
    assert.equal(typeof line.time, 'string');
  });

  test('without a usable X-Request-Id a UUID is made and returned', async () => {
    const res = await fetch(`${server.webUrl}/public`, {
      headers: { 'X-Request-Id': 'bad id with spaces and "quotes"' },
    });
    const id = res.headers.get('x-request-id') ?? '';
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const mine = parsed(server).filter((l) => l.reqId === id);
    assert.equal(mine.length, 1);
    assert.equal((mine[0] as Line).route, '/public');
    assert.equal((mine[0] as Line).door, 'web');
  });

  test('passwords, cookies, session ids and the Authorization header never reach the logs', async () => {
    const password = 'Pw-4f7b1c9e-never-log-me';
    const apiPassword = 'ApiPw-77c1d0-never-log-me';
    const auth = 'Basic bm90LXRoZS1yZWFsLWF1dGgtdG9rZW4=';
    const api = new SimClient(server.apiUrl);
    await api.post('/register', { username: 'log-dave', email: 'd@x.org', pwd: apiPassword });
    await api.get('/msgs', { headers: { Authorization: auth } });
    const web = new WebClient(server.webUrl);
    await web.register('log-erin', password);
    await web.login('log-erin', `${password}-wrong`);
    await web.login('log-erin', password);
    await web.visit('/');
    assert.ok(web.cookies.size > 0, 'the web client holds a session cookie');
    const text = server.logs.join('');
    for (const secret of [password, apiPassword, auth, 'c2ltdWxhdG9yOnN1cGVyX3NhZmUh']) {
      assert.ok(!text.includes(secret), `a log line contains ${secret}`);
    }
    for (const [name, value] of web.cookies) {
      assert.ok(!text.includes(value), `a log line contains the ${name} cookie`);
    }
    // The requests were logged all the same.
    assert.ok(parsed(server).some((l) => l.route === '/login' && l.method === 'POST'));
  });

  test('a failing request logs its error with a stack trace and the request id', async () => {
    const domain = server.app.domain;
    const original = domain.latest;
    domain.latest = async () => {
      throw new Error('injected failure for the log test');
    };
    try {
      const res = await new SimClient(server.apiUrl).get('/latest', {
        headers: { 'X-Request-Id': 'obs-fail-1' },
      });
      assert.equal(res.status, 500);
      assert.equal(res.json.error_msg, 'Internal server error');
    } finally {
      domain.latest = original;
    }
    const mine = parsed(server).filter((l) => l.reqId === 'obs-fail-1');
    const error = mine.find((l) => l.level === 50);
    assert.ok(error, 'an error line');
    const err = error.err as { message: string; stack: string };
    assert.equal(err.message, 'injected failure for the log test');
    assert.match(err.stack, /Error: injected failure[\s\S]*\n\s+at /);
    assert.ok(mine.some((l) => l.msg === 'request' && l.status === 500));
  });

  test('no debug lines at the default level', () => {
    assert.ok(parsed(server).every((l) => (l.level as number) >= 30));
  });
});

describe('readable logs for development', () => {
  test('LOG_PRETTY defaults to true only with NODE_ENV=development (outside a terminal)', () => {
    const pipe = { stdoutIsTty: false };
    assert.equal(loadConfig({}, pipe).logPretty, false);
    assert.equal(loadConfig({ NODE_ENV: 'development' }, pipe).logPretty, true);
    assert.equal(
      loadConfig({ NODE_ENV: 'development', LOG_PRETTY: 'false' }, pipe).logPretty,
      false,
    );
    assert.equal(loadConfig({ LOG_PRETTY: 'true' }, pipe).logPretty, true);
  });

  test('a request line and an error line become short human lines (pino-pretty)', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination: prettyStream(sink) });
    logger
      .child({ door: 'api' })
      .info({ reqId: 'r1', method: 'GET', route: '/latest', status: 200, ms: 1.25 }, 'request');
    logger.error({ err: new Error('boom') }, 'request failed');
    logger.info('Server listening at http://127.0.0.1:5000');
    const text = lines.join('');
    assert.match(
      text,
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[api\] request \{"reqId":"r1","method":"GET","route":"\/latest","status":200,"ms":1\.25\}\n/,
    );
    assert.match(
      text,
      /\] ERROR: request failed ?\n\s+err: \{[\s\S]*"message": "boom"[\s\S]*Error: boom\n\s+at /,
    );
    assert.doesNotMatch(text, /Server listening/, "Fastify's per-address lines are dropped");
    assert.doesNotMatch(text, /"service"|"pid"|"hostname"/);
  });

  test('LOG_PRETTY defaults to true in a terminal, outside production', () => {
    assert.equal(loadConfig({}, { stdoutIsTty: true }).logPretty, true);
    assert.equal(loadConfig({}, { stdoutIsTty: false }).logPretty, false);
    assert.equal(loadConfig({ NODE_ENV: 'production' }, { stdoutIsTty: true }).logPretty, false);
    assert.equal(loadConfig({ LOG_PRETTY: 'false' }, { stdoutIsTty: true }).logPretty, false);
  });
});
