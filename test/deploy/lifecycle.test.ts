import assert from 'node:assert/strict';
import { type ClientRequest, request } from 'node:http';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { send } from '../../src/sim/http.js';
import { readScenario, toRequest } from '../../src/sim/scenario.js';
import { SimClient } from '../helpers/clients.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/databases.js';
import { databaseCounts, ExpectedState } from './model.js';
import { childPids, Instance, SCENARIO } from './processes.js';

/** A POST whose body arrives in two halves: the request is in flight until `finish()`. */
function slowPost(baseUrl: string, path: string, body: unknown) {
  const payload = Buffer.from(JSON.stringify(body));
  let req: ClientRequest | undefined;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req = request(
      new URL(path, baseUrl),
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          connection: 'close',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.write(payload.subarray(0, 10));
  });
  return {
    response,
    finish: () => req?.end(payload.subarray(10)),
  };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });
}

describe('graceful shutdown of `minitwit serve` (a real process and a real SIGTERM)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  async function instance(env: Record<string, string>) {
    const database = await createTestDatabase('sqlite');
    const server = await Instance.create('lifecycle', database.url, env);
    cleanup.push(
      () => server.kill(),
      () => database.drop(),
    );
    await server.start();
    return { server, database };
  }

  test('not ready while draining, the request in flight is answered, then the port closes and the process exits 0', async () => {
    const { server } = await instance({ SHUTDOWN_DELAY_MS: '700', SHUTDOWN_GRACE_MS: '10000' });
    // An idle keep-alive connection must not hold the shutdown up.
    const idle = await fetch(`${server.apiUrl}/latest`, { headers: { connection: 'keep-alive' } });
    assert.equal(idle.status, 200);
    await idle.text();

    const inFlight = slowPost(server.apiUrl, '/register', {
      username: 'in flight',
      email: 'in@flight.example',
      pwd: 'pw',
    });
    await sleep(100);
    const exited = server.stop('SIGTERM');

    let ready = 200;
    for (let i = 0; i < 40 && ready === 200; i++) {
      ready = (await fetch(`${server.apiUrl}/readyz`)).status;
      if (ready === 200) await sleep(10);
    }
    assert.equal(ready, 503, '/readyz turns 503 as soon as draining starts');
    // Still serving during the delay, so a load balancer that has not noticed loses nothing.
    assert.equal((await fetch(`${server.apiUrl}/latest`)).status, 200);

    // After the delay the listener closes while the POST is still in flight.
    let closed = false;
    for (let i = 0; i < 100 && !closed; i++) {
      closed = await refused(server.apiPort);
      if (!closed) await sleep(50);
    }
    assert.equal(closed, true, 'no new connections after the delay');
    inFlight.finish();
    const answer = await inFlight.response;
    assert.equal(answer.status, 204, answer.body);
    assert.equal(await exited, 0);
    assert.equal(
      server.output.some((l) => l.includes('still in flight after the grace period')),
      false,
    );

    await server.start();
    const api = new SimClient(server.apiUrl);
    const again = await api.register('in flight', 'in@flight.example', 'pw');
    assert.equal(again.status, 400, 'the user registered during shutdown was stored');
    assert.equal(again.json.error_msg, 'The username is already taken');
    assert.equal(await server.stop('SIGTERM'), 0);
  });

  test('a request that never finishes is cut after SHUTDOWN_GRACE_MS and the process still exits', async () => {
    const { server } = await instance({ SHUTDOWN_DELAY_MS: '0', SHUTDOWN_GRACE_MS: '300' });
    const stuck = slowPost(server.apiUrl, '/register', { username: 'x', email: 'x@x', pwd: 'x' });
    const outcome = stuck.response.then(
      (r) => `answered ${r.status}`,
      (e: Error) => `cut: ${e.message}`,
    );
    await sleep(100);
    assert.equal(await server.stop('SIGTERM', 15_000), 0);
    assert.match(await outcome, /^cut: /);
    assert.ok(server.output.some((l) => l.includes('still in flight after the grace period')));
  });
});

forEachDatabase('WORKERS=2: a node:cluster of two workers on one database', (kind) => {
  let database: TestDatabase;
  let server: Instance;
  after(async () => {
    await server?.kill();
    await database?.drop();
  });

  test('both workers serve 4 concurrent replays of 300 lines: 0 errors, exact rows, clean stop', async () => {
    database = await createTestDatabase(kind);
    server = await Instance.create('cluster', database.url, { WORKERS: '2' });
    await server.start();
    const pid = server.proc?.pid;
    assert.ok(pid);

    const expected = new ExpectedState();
    const streams = ['a_', 'b_', 'c_', 'd_'].map(async (namespace) => {
      const errors: string[] = [];
      for await (const action of readScenario(SCENARIO, { lines: 300 })) {
        const req = toRequest(action, namespace);
        const outcome = await send(server.apiUrl, req.method, req.path, req.body, {
          timeoutMs: 5000,
        });
        if (outcome.kind === 'status' && req.accepted.includes(outcome.status)) {
          expected.apply(action, outcome.status, namespace);
        } else errors.push(`${action.id} ${JSON.stringify(outcome)}`);
      }
      return errors;
    });
    const errors = (await Promise.all(streams)).flat();
    assert.deepEqual(errors, []);
    assert.deepEqual(await databaseCounts(database.url), expected.counts());
    const latest = (await new SimClient(server.apiUrl).get('/latest')).json.latest;
    assert.ok(latest >= 0 && latest < 300, `latest ${latest} is one of the replayed ids`);

    assert.equal(childPids(pid).length, 2, 'the primary runs two worker processes');
    assert.equal(await server.stop('SIGTERM'), 0);
    assert.deepEqual(childPids(pid), [], 'the workers are gone');
  });
});
