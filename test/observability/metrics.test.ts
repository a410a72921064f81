import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  combineEvents,
  ERROR_KINDS,
  errorKind,
  HTTP_BUCKETS,
  operationOf,
  rawOperation,
} from '../../src/observability/metrics.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { startServer, useServer } from '../helpers/server.js';
import { sampleValue, scrape } from './prom-text.js';

forEachDatabase('Prometheus metrics on METRICS_PORT', (kind) => {
  const server = useServer(kind);
  let metricsUrl: string;
  before(async () => {
    assert.ok(server.metricsUrl, 'the metrics port is listening');
    metricsUrl = server.metricsUrl;
  });

  test('counts each front door by route template, and the business events', async () => {
    const api = new SimClient(server.apiUrl);
    assert.equal((await api.register('obs-alice', undefined, 'pw-a')).status, 204);
    assert.equal(
      (
        await api.post(
          '/register',
          { username: 'obs-bob', email: 'b@x.org', pwd: 'pw-b' },
          { latest: 41 },
        )
      ).status,
      204,
    );
    assert.equal((await api.tweet('obs-alice', 'hello metrics')).status, 204);
    assert.equal((await api.follow('obs-alice', 'obs-bob')).status, 204);
    assert.equal(
      (await api.post('/fllws/obs-alice', { unfollow: 'obs-bob' }, { latest: 42 })).status,
      204,
    );
    assert.equal((await api.get('/msgs/obs-alice')).status, 200);
    assert.equal((await api.get('/msgs/obs-nobody')).status, 404);
    assert.equal((await api.get('/no/such/obs-secret-path')).status, 404);
    assert.equal((await api.get('/latest', { headers: { Authorization: 'nope' } })).status, 200);
    assert.equal((await api.get('/msgs', { headers: { Authorization: 'nope' } })).status, 403);

    const web = new WebClient(server.webUrl);
    await web.register('obs-carol', 'pw-c');
    await web.login('obs-carol', 'wrong-password');
    await web.login('obs-carol', 'pw-c');

    const samples = await scrape(metricsUrl);
    assert.equal(sampleValue(samples, 'minitwit_registrations_total'), 3);
    assert.equal(sampleValue(samples, 'minitwit_logins_total', { outcome: 'ok' }), 1);
    assert.equal(sampleValue(samples, 'minitwit_logins_total', { outcome: 'failed' }), 1);
    assert.equal(sampleValue(samples, 'minitwit_messages_posted_total'), 1);
    assert.equal(sampleValue(samples, 'minitwit_follows_total'), 1);
    assert.equal(sampleValue(samples, 'minitwit_unfollows_total'), 1);
    assert.equal(sampleValue(samples, 'minitwit_messages_flagged_total'), 0);
    assert.equal(sampleValue(samples, 'minitwit_latest'), 42);

    const requests = (labels: Record<string, string>) =>
      sampleValue(samples, 'minitwit_http_requests_total', labels);
    assert.equal(
      requests({ door: 'api', method: 'POST', route: '/msgs/:username', status: '204' }),
      1,
    );
    assert.equal(
      requests({ door: 'api', method: 'POST', route: '/fllws/:username', status: '204' }),
      2,
    );
    assert.equal(
      requests({ door: 'api', method: 'GET', route: '/msgs/:username', status: '200' }),
      1,
    );
    assert.equal(
      requests({ door: 'api', method: 'GET', route: '/msgs/:username', status: '404' }),
      1,
    );
    assert.equal(requests({ door: 'api', method: 'GET', route: 'unmatched', status: '404' }), 1);
    assert.equal(requests({ door: 'api', method: 'GET', route: '/msgs', status: '403' }), 1);
    assert.equal(requests({ door: 'web', method: 'POST', route: '/login', status: '200' }), 1);
    assert.equal(requests({ door: 'web', method: 'POST', route: '/login', status: '302' }), 1);
    assert.equal(
      sampleValue(samples, 'minitwit_errors_total', { door: 'api', kind: 'not_found' }),
      2,
    );
    assert.equal(
      sampleValue(samples, 'minitwit_errors_total', { door: 'api', kind: 'forbidden' }),
      1,
    );
    assert.equal(sampleValue(samples, 'minitwit_errors_total', { door: 'api', kind: 'server' }), 0);

    // Bounded labels: templates only; no username or raw path ever becomes a label value.
    for (const s of samples) {
      for (const value of Object.values(s.labels)) {
        assert.doesNotMatch(value, /obs-|secret-path/, `${s.name} has label value ${value}`);
      }
    }

    // Latency histogram with the simulator's 0.3 s timeout as a bucket edge.
    const buckets = samples.filter(
      (s) =>
        s.name === 'minitwit_http_request_duration_seconds_bucket' &&
        s.labels.route === '/msgs/:username' &&
        s.labels.method === 'POST',
    );
    assert.deepEqual(
      buckets.map((b) => b.labels.le),
      [...HTTP_BUCKETS.map(String), '+Inf'],
    );
    assert.equal(buckets.at(-1)?.value, 1);

    // Database: query durations by operation, pool use.
    for (const operation of ['select', 'insert', 'delete']) {
      const count = sampleValue(samples, 'minitwit_db_query_duration_seconds_count', { operation });
      assert.ok((count ?? 0) > 0, `${operation} queries are timed (${count})`);
    }
    assert.equal(sampleValue(samples, 'minitwit_db_pool_max'), kind === 'sqlite' ? 1 : 10);
    const total = sampleValue(samples, 'minitwit_db_pool_connections', { state: 'total' }) ?? -1;
    assert.ok(total >= 1, `pool has connections (${total})`);
    assert.equal(sampleValue(samples, 'minitwit_db_pool_connections', { state: 'waiting' }), 0);
    assert.equal(sampleValue(samples, 'minitwit_ready'), 1);
    assert.equal(sampleValue(samples, 'minitwit_database_up'), 1);
    assert.equal(sampleValue(samples, 'minitwit_build_info', { dialect: kind }), 1);
    assert.ok((sampleValue(samples, 'minitwit_disk_size_bytes') ?? 0) > 0);
    assert.ok((sampleValue(samples, 'minitwit_disk_free_bytes') ?? 0) > 0);

    // Node's own process and event-loop metrics.
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.ok(
        samples.some((s) => s.name === name),
        `${name} is exported`,
      );
    }
  });

  test('the metrics port also answers /healthz and /readyz, and nothing else', async () => {
    assert.deepEqual(await (await fetch(`${metricsUrl}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${metricsUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
    const missing = await fetch(`${metricsUrl}/users`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { status: number }).status, 404);
    const post = await fetch(`${metricsUrl}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    // The public ports do not expose metrics.
    assert.equal((await fetch(`${server.apiUrl}/metrics`)).status, 404);
    assert.equal((await fetch(`${server.webUrl}/metrics`)).status, 404);
  });

  test('draining shows as minitwit_ready 0 and /readyz 503 on the metrics port', async () => {
    server.app.health.draining = true;
    try {
      assert.equal(sampleValue(await scrape(metricsUrl), 'minitwit_ready'), 0);
      assert.equal(sampleValue(await scrape(metricsUrl), 'minitwit_database_up'), 1);
      assert.equal((await fetch(`${metricsUrl}/readyz`)).status, 503);
    } finally {
      server.app.health.draining = false;
    }
  });
});

describe('metrics switched off and pieces of the metrics module', () => {
  test('METRICS_ENABLED=false: no metrics port, requests still served', async () => {
    const server = await startServer('sqlite', { env: { METRICS_ENABLED: 'false' } });
    try {
      assert.equal(server.metricsUrl, undefined);
      assert.equal(server.app.metrics, undefined);
      assert.equal((await new SimClient(server.apiUrl).get('/latest')).status, 200);
    } finally {
      await server.close();
    }
  });

  test('a second app in one process has its own registry', async () => {
    const [a, b] = await Promise.all([startServer('sqlite'), startServer('sqlite')]);
    try {
      await new SimClient(a.apiUrl).get('/latest', { latest: 7 });
      assert.equal(sampleValue(await scrape(a.metricsUrl as string), 'minitwit_latest'), 7);
      assert.equal(sampleValue(await scrape(b.metricsUrl as string), 'minitwit_latest'), -1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('the latest gauge starts from the value stored in the database', async () => {
    const first = await startServer('sqlite');
    await new SimClient(first.apiUrl).get('/latest', { latest: 1234 });
    await first.stop();
    const second = await startServer('sqlite', { database: first.database });
    try {
      assert.equal(sampleValue(await scrape(second.metricsUrl as string), 'minitwit_latest'), 1234);
    } finally {
      await second.close();
    }
  });

  test('errorKind, operationOf and combineEvents', () => {
    assert.equal(errorKind(200), undefined);
    assert.equal(errorKind(302), undefined);
    assert.equal(errorKind(400), 'bad_request');
    assert.equal(errorKind(403), 'forbidden');
    assert.equal(errorKind(404), 'not_found');
    assert.equal(errorKind(413), 'payload_too_large');
    assert.equal(errorKind(415), 'client_other');
    assert.equal(errorKind(503), 'server');
    for (const kinds of Object.values(ERROR_KINDS)) {
      for (const k of [400, 403, 404, 413, 415, 500].map(errorKind)) {
        if (kinds.length > 1) assert.ok((kinds as readonly string[]).includes(k as string));
      }
    }
    assert.equal(operationOf('SelectQueryNode'), 'select');
    assert.equal(operationOf('DeleteQueryNode'), 'delete');
    assert.equal(operationOf('CreateTableNode'), 'other');
    const seen: string[] = [];
    const events = combineEvents(
      { followed: () => seen.push('a'), login: (ok) => seen.push(`a${ok}`) },
      undefined,
      { followed: () => seen.push('b') },
    );
    events.followed?.();
    events.login?.(false);
    assert.equal(events.unfollowed, undefined);
    assert.deepEqual(seen, ['a', 'b', 'afalse']);
  });
});

test('the operation of a query written as SQL: its main statement, past any with … as (…)', () => {
  const seen = new Map<string, string>();
  const cases: [string, string][] = [
    ['insert into messages (a) select user_id from users where username = $1', 'insert'],
    [
      "with c as (select set_config('synchronous_commit', 'off', true)) insert into settings (name, value) select 'latest', $1 from c",
      'insert',
    ],
    [
      'with l as (insert into settings (name) values (1)), w as (select 1), a as (delete from f using w) select (select 1 from w) as who',
      'select',
    ],
    ['select m.id from (select id from messages m order by id desc limit $1) m', 'select'],
    ['analyze', 'raw'],
  ];
  for (const [text, operation] of cases) assert.equal(rawOperation(text, seen), operation, text);
  assert.equal(seen.size, cases.length, 'each text is worked out once');
});
