import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const GRAFANA = resolve('deploy/grafana');

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
  gridPos: { x: number; y: number; w: number; h: number };
}

test('dashboards: valid JSON, unique uid and panel ids, every query on the provisioned datasource', () => {
  const provisioned = readFileSync(
    join(GRAFANA, 'provisioning/datasources/prometheus.yml'),
    'utf8',
  );
  const uid = /^\s+uid:\s*(\S+)\s*$/m.exec(provisioned)?.[1];
  assert.equal(uid, 'prometheus');
  const files = readdirSync(join(GRAFANA, 'dashboards')).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 1);
  const uids = new Set<string>();
  for (const file of files) {
    const dashboard = JSON.parse(readFileSync(join(GRAFANA, 'dashboards', file), 'utf8')) as {
      uid: string;
      title: string;
      panels: Panel[];
    };
    assert.ok(dashboard.uid && !uids.has(dashboard.uid), `${file}: unique uid`);
    uids.add(dashboard.uid);
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${file}: panel ids are unique`);
    const queries = dashboard.panels.filter((p) => p.type !== 'row');
    assert.ok(queries.length >= 20, `${file}: ${queries.length} panels`);
    for (const panel of queries) {
      assert.equal(panel.datasource?.uid, uid, `${panel.title}: datasource`);
      assert.ok(panel.targets && panel.targets.length > 0, `${panel.title}: has queries`);
      for (const target of panel.targets) {
        assert.equal(target.datasource?.uid, uid, `${panel.title}/${target.refId}`);
        assert.ok(target.expr.trim() !== '', `${panel.title}/${target.refId}: expression`);
        // Grafana's built-in variables only: no dashboard variable left unprovisioned.
        for (const variable of target.expr.match(/\$\w+/g) ?? []) {
          assert.ok(
            ['$__rate_interval', '$__interval', '$__range'].includes(variable),
            `${panel.title}: ${variable}`,
          );
        }
      }
      assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title}: fits the grid`);
    }
    // The panels: traffic, errors, latency, latest, business counts, database, process.
    const text = JSON.stringify(dashboard.panels.map((p) => p.targets?.map((t) => t.expr)));
    for (const metric of [
      'minitwit_http_requests_total',
      'minitwit_http_request_duration_seconds_bucket',
      'minitwit_errors_total',
      'minitwit_latest',
      'minitwit_registrations_total',
      'minitwit_logins_total',
      'minitwit_messages_posted_total',
      'minitwit_follows_total',
      'minitwit_unfollows_total',
      'minitwit_messages_flagged_total',
      'minitwit_db_query_duration_seconds_bucket',
      'minitwit_db_pool_connections',
      'nodejs_eventloop_lag_p99_seconds',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(text.includes(metric), `${file}: a panel shows ${metric}`);
    }
  }
});
