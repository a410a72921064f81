import assert from 'node:assert/strict';
import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { portOf, type RawAnswer, rawConnection, rawRequest } from '../helpers/raw-http.js';
import { startServer, useServer } from '../helpers/server.js';

type Door = 'web' | 'api' | 'metrics';

/** The API (and the operators' port) answer errors as {"status", "error_msg"}. */
function assertJsonShape(answer: RawAnswer | { status: number; text: string }, what: string) {
  const text = 'body' in answer ? answer.body : answer.text;
  const json = JSON.parse(text) as { status?: unknown; error_msg?: unknown };
  assert.equal(json.status, answer.status, `${what}: ${text}`);
  assert.equal(typeof json.error_msg, 'string', what);
  assert.notEqual(json.error_msg, '', what);
}

/** The web answers every error with a page of its own, with its security headers. */
function assertPageShape(
  answer: { status: number; html: string; headers: Record<string, string> },
  title: string,
  what: string,
) {
  assert.match(answer.headers['content-type'] ?? '', /^text\/html/, what);
  assert.match(answer.html, new RegExp(`<title>${title} \\| MiniTwit</title>`), what);
  assert.equal(answer.headers['x-frame-options'], 'DENY', what);
}

const headersOf = (h: Headers) => Object.fromEntries(h.entries());
/** A concrete path for a route pattern (`:username` → a name). */
const concrete = (pattern: string) => pattern.replace(/:[A-Za-z]+/g, 'someone');

forEachDatabase('every answer keeps its door shape', (kind) => {
  const server = useServer(kind);
  const ports = (): [Door, number][] => [
    ['web', portOf(server.webUrl)],
    ['api', portOf(server.apiUrl)],
    ['metrics', portOf(server.metricsUrl ?? '')],
  ];

  test('a wrong method is 405 with Allow on both doors, in the door shape', async () => {
    const api = new SimClient(server.apiUrl);
    for (const [method, path, allow] of [
      ['PUT', '/register', 'POST, OPTIONS'],
      ['DELETE', '/msgs/u', 'GET, HEAD, POST, OPTIONS'],
      ['PATCH', '/latest', 'GET, HEAD, OPTIONS'],
      ['PUT', '/fllws/u', 'GET, HEAD, POST, OPTIONS'],
    ] as const) {
      const res = await api.request(method, path);
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), allow, `${method} ${path}`);
      assertJsonShape(res, `${method} ${path}`);
    }
    const web = new WebClient(server.webUrl);
    for (const [method, path, allow] of [
      ['PUT', '/register', 'GET, HEAD, POST, OPTIONS'],
      ['DELETE', '/someone', 'GET, HEAD, OPTIONS'],
      ['POST', '/public', 'GET, HEAD, OPTIONS'],
      ['PUT', '/someone/follow', 'GET, HEAD, POST, OPTIONS'],
    ] as const) {
      const res = await web.request(method, path);
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), allow, `${method} ${path}`);
      assertPageShape(
        { ...res, headers: headersOf(res.headers) },
        'Method Not Allowed',
        `${method} ${path}`,
      );
    }
  });

  test('OPTIONS of every route of both doors is 204 with an Allow that holds the route method; another method is 405', async () => {
    for (const [door, app, base] of [
      ['web', server.app.web, server.webUrl],
      ['api', server.app.api, server.apiUrl],
    ] as const) {
      const methodsByPath = new Map<string, Set<string>>();
      for (const route of app.routeTable) {
        const path = concrete(route.url);
        methodsByPath.set(path, (methodsByPath.get(path) ?? new Set()).add(route.method));
      }
      for (const [path, methods] of methodsByPath) {
        const options = await fetch(new URL(path, base), { method: 'OPTIONS' });
        assert.equal(options.status, 204, `${door} OPTIONS ${path}`);
        assert.equal(await options.text(), '');
        const allow = (options.headers.get('allow') ?? '').split(', ');
        for (const method of methods)
          assert.ok(allow.includes(method), `${door} ${path} ${method}`);
        const missing = ['PUT', 'DELETE', 'PATCH'].find((m) => !allow.includes(m));
        assert.ok(missing);
        const wrong = await fetch(new URL(path, base), { method: missing });
        assert.equal(wrong.status, 405, `${door} ${missing} ${path}`);
        assert.equal(wrong.headers.get('allow'), options.headers.get('allow'));
        await wrong.text();
      }
    }
  });

  test('OPTIONS and other methods of an unknown path are 404 in the door shape', async () => {
    const api = new SimClient(server.apiUrl);
    for (const method of ['OPTIONS', 'PUT', 'GET']) {
      const res = await api.request(method, '/nowhere/at/all');
      assert.equal(res.status, 404, method);
      assertJsonShape(res, method);
    }
    const web = new WebClient(server.webUrl);
    for (const method of ['OPTIONS', 'PUT']) {
      const res = await web.request(method, '/nowhere/at/all');
      assert.equal(res.status, 404, method);
      assertPageShape({ ...res, headers: headersOf(res.headers) }, 'Not Found', method);
    }
  });

  test("Node's own refusals (431 headers too large, 400 not HTTP) keep the shape on all three ports", async () => {
    const big = `X-Big: ${'a'.repeat(maxHeaderSize + 1024)}\r\n`;
    for (const [door, port] of ports()) {
      const cases: [number, string, string][] = [
        [431, `GET /public HTTP/1.1\r\nHost: x\r\n${big}\r\n`, 'Request Header Fields Too Large'],
        [400, 'NOT HTTP AT ALL\r\n\r\n', 'Bad Request'],
        [400, 'GET /public HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n', 'Bad Request'],
      ];
      for (const [status, request, title] of cases) {
        const answer = await rawRequest(port, [request]);
        const what = `${door}: ${request.slice(0, 30)}`;
        assert.equal(answer.status, status, what);
        assert.equal(answer.closedByServer, true, what);
        if (door === 'web') assertPageShape({ ...answer, html: answer.body }, title, what);
        else assertJsonShape(answer, what);
      }
    }
  });
});

/** Resolves once every socket `server` accepted has received some bytes. */
async function headsArrived(sockets: Socket[], count: number) {
  while (sockets.length < count || sockets.some((s) => s.bytesRead === 0)) await sleep(5);
}

forEachDatabase('a request that arrives while the server closes', (kind) => {
  test('is served normally with Connection: close on both doors (not a 503 outside the shape)', async () => {
    const server = await startServer(kind);
    try {
      const accepted: Socket[] = [];
      for (const door of [server.app.web, server.app.api]) {
        door.server.on('connection', (socket: Socket) => accepted.push(socket));
      }
      // Heads still on their way when the close begins: the connections are not idle.
      const web = rawConnection(portOf(server.webUrl));
      web.write('GET /public HTTP/1.1\r\nHost: x\r\n');
      const api = rawConnection(portOf(server.apiUrl));
      api.write('GET /latest HTTP/1.1\r\nHost: x\r\n');
      await headsArrived(accepted, 2);
      const closing = server.stop();
      while (server.app.web.server.listening || server.app.api.server.listening) await sleep(5);
      web.write('\r\n');
      api.write('\r\n');
      const [page, latest] = await Promise.all([web.answer, api.answer]);
      assert.equal(page.status, 200, page.body.slice(0, 200));
      assert.equal(page.headers.connection, 'close');
      assertPageShape({ ...page, html: page.body }, 'Public Timeline', 'web during close');
      assert.equal(latest.status, 200, latest.body);
      assert.equal(latest.headers.connection, 'close');
      assert.deepEqual(JSON.parse(latest.body), { latest: -1 });
      await closing;
    } finally {
      await server.close();
    }
  });
});
