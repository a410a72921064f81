import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { DEFAULT_HTTP_TIMEOUTS } from '../../src/config/http.js';
import { forEachDatabase } from '../helpers/databases.js';
import { portOf, type RawAnswer, rawRequest } from '../helpers/raw-http.js';
import { useServer } from '../helpers/server.js';

/** Far longer than the server's timeouts below: only a server that never lets go reaches it. */
const CLIENT_TIMEOUT_MS = 20_000;
const STALLING_CLIENTS = 100;

test('the timeouts are read from HTTP_*_TIMEOUT_MS, with defaults, and checked', () => {
  assert.deepEqual(loadConfig({}).http, DEFAULT_HTTP_TIMEOUTS);
  assert.deepEqual(
    loadConfig({
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '4000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
    }).http,
    { headersTimeoutMs: 2000, requestTimeoutMs: 4000, keepAliveTimeoutMs: 1000 },
  );
  assert.throws(
    () => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }),
    (e) =>
      e instanceof ConfigError &&
      /HTTP_HEADERS_TIMEOUT_MS.*HTTP_REQUEST_TIMEOUT_MS/.test(e.message),
  );
  for (const name of ['HTTP_HEADERS_TIMEOUT_MS', 'HTTP_KEEP_ALIVE_TIMEOUT_MS']) {
    assert.throws(() => loadConfig({ [name]: '0' }), new RegExp(name));
    assert.throws(() => loadConfig({ [name]: 'soon' }), new RegExp(name));
  }
});

/** The door's shape of a 408: JSON {status, error_msg} on the API and metrics port, a page on the web. */
function assertTimeoutShape(answer: RawAnswer, door: string) {
  assert.equal(answer.closedByServer, true, `${door}: the server let go`);
  assert.equal(answer.status, 408, `${door}: ${answer.body.slice(0, 100)}`);
  if (door === 'web') {
    assert.match(answer.body, /<title>Request Timeout \| MiniTwit<\/title>/);
  } else {
    assert.deepEqual(JSON.parse(answer.body), {
      status: 408,
      error_msg: 'The request took too long to arrive',
    });
  }
}

forEachDatabase('clients that stall are dropped on all three ports', (kind) => {
  const server = useServer(kind, {
    env: {
      HTTP_HEADERS_TIMEOUT_MS: '300',
      HTTP_REQUEST_TIMEOUT_MS: '600',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '300',
    },
  });
  const doors = () =>
    [
      ['web', portOf(server.webUrl), '/public'],
      ['api', portOf(server.apiUrl), '/latest'],
      ['metrics', portOf(server.metricsUrl ?? ''), '/healthz'],
    ] as const;

  test(`${STALLING_CLIENTS} clients per port sending half a header and stalling all get a 408 and lose their connection`, async () => {
    const answers = doors().flatMap(([door, port, path]) =>
      Array.from({ length: STALLING_CLIENTS }, () =>
        rawRequest(port, [`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Slow: `], CLIENT_TIMEOUT_MS).then(
          (answer) => [door, answer] as const,
        ),
      ),
    );
    for (const [door, answer] of await Promise.all(answers)) assertTimeoutShape(answer, door);
  });

  test('a body that stops halfway is a 408 in the door shape; a silent connection is closed', async () => {
    // The metrics port takes no bodies: it answers a POST at once (405).
    for (const [door, port, path] of [
      ['web', portOf(server.webUrl), '/login'],
      ['api', portOf(server.apiUrl), '/register'],
    ] as const) {
      const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
      assertTimeoutShape(await rawRequest(port, [head, '{"a":'], CLIENT_TIMEOUT_MS), door);
    }
    for (const [door, port] of doors()) {
      const silent = await rawRequest(port, [], CLIENT_TIMEOUT_MS);
      assert.equal(silent.closedByServer, true, `${door}: silent connection`);
    }
  });

  test('an idle keep-alive connection is closed after its answer; prompt requests are served', async () => {
    for (const [door, port, path] of doors()) {
      const answer = await rawRequest(
        port,
        [`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`],
        CLIENT_TIMEOUT_MS,
      );
      assert.equal(answer.status, 200, door);
      assert.equal(answer.closedByServer, true, `${door}: idle keep-alive connection closed`);
      assert.equal((await fetch(`http://127.0.0.1:${port}${path}`)).status, 200, door);
    }
  });
});
