import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Outcome, send } from '../../src/sim/http.js';
import { childPids, Instance } from '../deploy/processes.js';
import { createTestDatabase, forEachDatabase, type TestDatabase } from '../helpers/databases.js';

/** Far longer than any answer takes on a loaded machine: only silence reaches it. */
const CLIENT_TIMEOUT_MS = 20_000;
const KILLS = 6;
const CLIENTS = 16;

/** Waits until the primary logged that worker `pid` listens. */
async function workerReady(server: Instance, pid: number) {
  for (let i = 0; i < 600; i++) {
    if (server.output.some((l) => l.includes('"worker ready"') && l.includes(`"pid":${pid},`))) {
      return;
    }
    await sleep(50);
  }
  throw new Error(`worker ${pid} did not become ready`);
}

/** The first worker of `primary` that is not one of `before`. */
async function replacement(primary: number, before: number[]): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const added = childPids(primary).find((pid) => !before.includes(pid));
    if (added !== undefined) return added;
    await sleep(50);
  }
  throw new Error('the primary did not replace the killed worker');
}

forEachDatabase('WORKERS=2: kill -9 of a worker under load', (kind) => {
  let database: TestDatabase | undefined;
  let server: Instance | undefined;
  after(async () => {
    await server?.kill();
    await database?.drop();
  });

  test(`every request gets an answer or a reset, never silence (${KILLS} kills, ${CLIENTS} clients)`, async () => {
    database = await createTestDatabase(kind);
    // info: the primary's "worker ready" lines say when a replacement serves.
    server = await Instance.create('worker-kill', database.url, {
      WORKERS: '2',
      LOG_LEVEL: 'info',
    });
    await server.start();
    const primary = server.proc?.pid;
    assert.ok(primary);
    const running = server;
    const api = running.apiUrl;
    const registered = await send(api, 'POST', '/register', {
      username: 'w',
      email: 'w@x',
      pwd: 'p',
    });
    assert.equal(registered.kind === 'status' && registered.status, 204);
    for (const pid of childPids(primary)) await workerReady(running, pid);

    // The course simulator's kind of traffic: a new connection per request, writes and reads.
    const outcomes: Outcome[] = [];
    let loading = true;
    const clients = Array.from({ length: CLIENTS }, async (_, i) => {
      for (let n = 0; loading; n++) {
        const write = i % 2 === 0;
        outcomes.push(
          await send(
            api,
            write ? 'POST' : 'GET',
            write ? `/msgs/w?latest=${n}` : '/latest',
            write ? { content: `client ${i} message ${n}` } : undefined,
            { timeoutMs: CLIENT_TIMEOUT_MS },
          ),
        );
      }
    });

    for (let k = 0; k < KILLS; k++) {
      await sleep(300);
      const before = childPids(primary);
      const victim = before[k % before.length];
      assert.ok(victim, 'a worker to kill');
      process.kill(victim, 'SIGKILL');
      await workerReady(running, await replacement(primary, before));
    }
    await sleep(500);
    loading = false;
    await Promise.all(clients);

    const silent = outcomes.filter((o) => o.kind === 'ReadTimeout');
    const answered = outcomes.filter((o) => o.kind === 'status');
    const failed = answered.filter((o) => o.kind === 'status' && o.status >= 500);
    assert.deepEqual(silent, [], 'no request waited for the client to give up');
    assert.deepEqual(failed, [], 'no 5xx');
    assert.ok(answered.length >= CLIENTS, `answers kept coming (${answered.length})`);
    assert.equal(await running.stop('SIGTERM'), 0);
    assert.deepEqual(childPids(primary), [], 'no worker outlives the primary');
  });
});
