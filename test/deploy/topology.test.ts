import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { COURSE_TIMEOUT_MS, type Outcome, send } from '../../src/sim/http.js';
import { type Action, readScenario, toRequest } from '../../src/sim/scenario.js';
import { SimClient } from '../helpers/clients.js';
import { createTestDatabase, postgresProblem, type TestDatabase } from '../helpers/databases.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import { databaseCounts, ExpectedState } from './model.js';
import { NginxSite, requireTools } from './nginx.js';
import { Instance, SCENARIO } from './processes.js';

/** Scenario lines replayed during the rolling restart (ids 0 … LINES-1). */
const LINES = Number(process.env.TOPOLOGY_LINES ?? 3000);
/** Lines after those, replayed by three concurrent streams while one instance is killed. */
const KILL_LINES = 1500;
/**
 * The course simulator gives up after 0.3 s. On this shared 2-core machine a busy moment can
 * exceed that with no fault of the topology, so the replay waits up to this long and reports
 * how many answers took longer than 0.3 s instead of counting them as errors.
 */
const TIMEOUT_MS = Number(process.env.TOPOLOGY_TIMEOUT_MS ?? 3000);

const ok = (action: Action, outcome: Outcome) =>
  outcome.kind === 'status' && toRequest(action).accepted.includes(outcome.status);

/** GETs through the proxy, as the checks need them (HTTPS with the self-signed certificate). */
async function get(url: string) {
  const outcome = await send(url, 'GET', '', undefined, { insecure: true, timeoutMs: 10_000 });
  if (outcome.kind !== 'status') throw new Error(`GET ${url}: ${outcome.kind}`);
  return outcome;
}

describe('topology: PostgreSQL, three instances and nginx with TLS, all on loopback', async () => {
  if (!requirePrerequisite('PostgreSQL', await postgresProblem(), 'the topology test')) return;
  if (!requireTools(['nginx', 'openssl'])) return;

  let database: TestDatabase;
  const instances: Instance[] = [];
  let nginx: NginxSite;
  const expected = new ExpectedState();

  before(async () => {
    database = await createTestDatabase('postgres');
    for (const name of ['app1', 'app2', 'app3']) {
      const instance = await Instance.create(name, database.url, {
        SHUTDOWN_DELAY_MS: '300',
        SHUTDOWN_GRACE_MS: '5000',
        TRUST_PROXY: 'true',
        DATABASE_POOL_MAX: '4',
      });
      instances.push(instance);
      await instance.start();
    }
    nginx = await NginxSite.render(instances);
    await nginx.start();
  });

  after(async () => {
    // What nginx saw of the instances going away (connection refused, resets), for the record.
    const upstreamLines = (nginx?.errorLog() ?? '')
      .split('\n')
      .filter((l) => l.includes('upstream'));
    process.stderr.write(
      `topology: nginx logged ${upstreamLines.length} upstream errors; the last ones:\n${upstreamLines
        .slice(-6)
        .map((l) => `  ${l.replace(/^\S+ \S+ /, '').slice(0, 220)}`)
        .join('\n')}\n`,
    );
    await nginx?.stop();
    for (const instance of instances) await instance.kill();
    await database?.drop();
  });

  test('nginx -t accepts the shipped configuration', () => {
    const result = nginx.check();
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /test is successful/);
  });

  test('HTTP redirects to HTTPS; TLS, gzip and the static-file cache work', async () => {
    const redirect = await fetch(`${nginx.httpUrl}/public?x=1`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(
      redirect.headers.get('location'),
      `https://127.0.0.1:${nginx.httpsPort}/public?x=1`,
    );
    const page = await send(nginx.webUrl, 'GET', '/public', undefined, {
      insecure: true,
      timeoutMs: 10_000,
    });
    assert.equal(page.kind === 'status' && page.status, 200);

    // gzip and the cache, seen in the raw response headers.
    const { request } = await import('node:https');
    const head = (path: string) =>
      new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
        const req = request(
          `${nginx.webUrl}${path}`,
          { rejectUnauthorized: false, headers: { 'accept-encoding': 'gzip' }, agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ ...res.headers, status: String(res.statusCode) }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const first = await head('/static/style.css');
    assert.equal(first.status, '200');
    assert.equal(first['content-encoding'], 'gzip');
    assert.match(String(first['strict-transport-security']), /max-age=/);
    const second = await head('/static/style.css');
    assert.equal(second['x-cache-status'], 'HIT');
  });

  test(`replay of ${LINES} lines (and two concurrent copies) over HTTPS while all three instances restart: 0 errors, exact data`, async () => {
    const errors: string[] = [];
    let done = 0;
    let restarts = 0;
    let slow = 0;
    let requests = 0;
    const exitCodes: (number | null)[] = [];
    let replaying = true;

    const rolling = (async () => {
      const waitFor = async (count: number) => {
        while (replaying && done < count) await sleep(10);
      };
      await waitFor(Math.floor(LINES / 10));
      for (const instance of instances) {
        if (!replaying) break;
        exitCodes.push(await instance.stop('SIGTERM'));
        await instance.start();
        restarts++;
        await waitFor(done + Math.floor(LINES / 10));
      }
    })();

    // The simulator's own sequential stream, plus two more copies of the lines under other
    // usernames and without ?latest=, so that requests are in flight whenever an instance stops.
    const stream = async (namespace: string, main: boolean) => {
      for await (const action of readScenario(SCENARIO, { lines: LINES })) {
        const req = toRequest(action, namespace);
        const path = main ? req.path : req.path.replace(/\?latest=-?\d+$/, '');
        const outcome = await send(nginx.apiUrl, req.method, path, req.body, {
          insecure: true,
          timeoutMs: TIMEOUT_MS,
        });
        requests++;
        if (outcome.ms > COURSE_TIMEOUT_MS) slow++;
        if (ok(action, outcome) && outcome.kind === 'status') {
          expected.apply(action, outcome.status, namespace);
        } else
          errors.push(`${namespace}${action.id} ${action.command}: ${JSON.stringify(outcome)}`);
        if (main) done++;
      }
    };
    await Promise.all([stream('', true), stream('x_', false), stream('y_', false)]);
    const restartsDuringReplay = restarts;
    replaying = false;
    await rolling;

    process.stderr.write(
      `topology: ${requests} requests through nginx (3 concurrent streams of ${done} lines), ${restartsDuringReplay} rolling restarts during them, ${errors.length} errors, ${slow} answers slower than ${COURSE_TIMEOUT_MS} ms\n`,
    );
    assert.equal(done, LINES);
    assert.deepEqual(errors, []);
    assert.equal(restartsDuringReplay, 3, 'every instance was restarted while the replay ran');
    assert.deepEqual(exitCodes, [0, 0, 0]);
    assert.ok(instances.every((i) => i.starts === 2));

    const api = new SimClient(instances[0]?.apiUrl ?? '');
    assert.deepEqual((await api.get('/latest')).json, { latest: LINES - 1 });
    const counts = await databaseCounts(database.url);
    process.stderr.write(`topology: rows after the rolling restart ${JSON.stringify(counts)}\n`);
    assert.deepEqual(counts, expected.counts());
    // Each user's messages and follows, read back through the proxy.
    for (const user of expected.users) {
      const path = encodeURIComponent(user);
      const msgs = await api.get(`/msgs/${path}?no=10000`);
      assert.equal(msgs.json.length, expected.messagesBy.get(user) ?? 0, user);
      const follows = await api.get(`/fllws/${path}?no=10000`);
      assert.deepEqual([...follows.json.follows].sort(), expected.followsOf(user), user);
    }
  });

  test('kill -9 of one instance under three concurrent streams: only requests in flight on it fail, nothing acknowledged is lost, no duplicates', async () => {
    // Lines after the rolling-restart part that concern only users that exist by now,
    // split by acting user: each user's actions stay in order within one stream.
    const later: Action[] = [];
    let index = 0;
    for await (const action of readScenario(SCENARIO, { lines: LINES + KILL_LINES })) {
      if (index++ < LINES) continue;
      const known =
        expected.users.has(action.user) &&
        (action.command === 'tweet' || expected.users.has(action.arg));
      if (action.command !== 'register' && known) later.push(action);
    }
    const streams: Action[][] = [[], [], []];
    const streamOf = new Map<string, number>();
    for (const action of later) {
      if (!streamOf.has(action.user)) streamOf.set(action.user, streamOf.size % 3);
      streams[streamOf.get(action.user) ?? 0]?.push(action);
    }

    const failed: { action: Action; outcome: Outcome; stream: number }[] = [];
    let acknowledged = 0;
    const victim = instances[1];
    assert.ok(victim);
    let killed = false;
    const run = async (actions: Action[], stream: number) => {
      for (const action of actions) {
        const req = toRequest(action);
        const outcome = await send(nginx.apiUrl, req.method, req.path, req.body, {
          insecure: true,
          timeoutMs: TIMEOUT_MS,
        });
        if (ok(action, outcome) && outcome.kind === 'status') {
          expected.apply(action, outcome.status);
          acknowledged++;
        } else failed.push({ action, outcome, stream });
        if (!killed && acknowledged >= later.length / 3) {
          killed = true;
          victim.proc?.kill('SIGKILL');
        }
      }
    };
    await Promise.all(streams.map((actions, i) => run(actions, i)));
    assert.ok(killed);
    process.stderr.write(
      `topology: kill -9 phase: ${later.length} requests in 3 streams, ${failed.length} failed: ${JSON.stringify(failed.map((f) => f.outcome))}\n`,
    );
    // Only the request a stream had in flight on the killed instance can fail: one per stream.
    for (const stream of [0, 1, 2]) {
      const count = failed.filter((f) => f.stream === stream).length;
      assert.ok(count <= 1, `stream ${stream}: ${count} failures: ${JSON.stringify(failed)}`);
    }
    for (const { outcome } of failed) {
      assert.ok(outcome.kind !== 'status' || outcome.status === 502, JSON.stringify(outcome));
    }

    // Acknowledged actions are all there; a failed one may or may not have been applied.
    const counts = await databaseCounts(database.url);
    const want = expected.counts();
    const failedTweets = failed.filter((f) => f.action.command === 'tweet').length;
    assert.equal(counts.users, want.users);
    assert.ok(
      counts.messages >= want.messages && counts.messages <= want.messages + failedTweets,
      `messages ${counts.messages}, acknowledged ${want.messages}, uncertain ${failedTweets}`,
    );
    const uncertain = new Set(failed.map((f) => `${f.action.user}`));
    const api = new SimClient(instances[0]?.apiUrl ?? '');
    for (const user of expected.users) {
      const path = encodeURIComponent(user);
      const msgs = (await api.get(`/msgs/${path}?no=10000`)).json.length;
      const follows = [...(await api.get(`/fllws/${path}?no=10000`)).json.follows].sort();
      const want = expected.messagesBy.get(user) ?? 0;
      if (!uncertain.has(user)) {
        assert.equal(msgs, want, `${user}: no message lost or duplicated`);
        assert.deepEqual(follows, expected.followsOf(user), user);
      } else assert.ok(msgs === want || msgs === want + 1, `${user}: ${msgs} vs ${want}`);
    }

    // The killed instance comes back and takes traffic again.
    await victim.start();
    const again = await get(`${nginx.apiUrl}/latest`);
    assert.equal(again.status, 200);
  });
});
