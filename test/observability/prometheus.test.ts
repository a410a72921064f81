import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { courseScenario } from '../../src/config/paths.js';
import { replay } from '../../src/sim/replay.js';
import { SimClient, WebClient } from '../helpers/clients.js';
import { POSTGRES_ADMIN_URL, postgresProblem } from '../helpers/databases.js';
import { missingCommands, type Problem, requirePrerequisite } from '../helpers/prerequisites.js';
import { useServer } from '../helpers/server.js';
import { alertSignals } from './promql.js';

const RULES = resolve('deploy/prometheus/rules/minitwit.rules.yml');
const CONFIG = resolve('deploy/prometheus/prometheus.yml');
const RULE_TESTS = resolve('deploy/prometheus/tests/minitwit.test.yml');
const DASHBOARDS = resolve('deploy/grafana/dashboards/minitwit.json');
const SCENARIO = courseScenario;
const LOAD_LINES = 1000;

/** How the Prometheus tools get onto a Debian machine, for the message when they are missing. */
const INSTALL = 'apt-get install prometheus';

/**
 * Declares `suite` under `title` when every prerequisite is there; otherwise, by the one rule
 * (requirePrerequisite), the first missing one is announced in its place: a failing test under
 * CI=true, a skipped test with the reason elsewhere.
 */
function requiring(
  title: string,
  prerequisites: () => Promise<Record<string, Problem>>,
  suite: () => void,
) {
  describe(title, async () => {
    for (const [name, problem] of Object.entries(await prerequisites())) {
      if (!requirePrerequisite(name, problem, `"${title}"`)) return;
    }
    suite();
  });
}

function promtool(...args: string[]) {
  const run = spawnSync('promtool', args, { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

requiring(
  'promtool: configuration and alert rules',
  async () => ({ promtool: missingCommands(['promtool'], INSTALL) }),
  () => {
    test('promtool check config passes', () => {
      const run = promtool('check', 'config', CONFIG);
      assert.equal(run.status, 0, run.output);
    });
    test('promtool check rules passes', () => {
      const run = promtool('check', 'rules', RULES);
      assert.equal(run.status, 0, run.output);
      assert.match(run.output, /SUCCESS: \d+ rules found/);
    });
    test('promtool test rules: each alert fires on its fault and not otherwise', () => {
      const run = promtool('test', 'rules', RULE_TESTS);
      assert.equal(run.status, 0, run.output);
    });
  },
);

/** A free loopback port (closed again, so Prometheus can take it). */
function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => ok(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Every expression of every dashboard panel, with Grafana's own variables filled in. */
function dashboardQueries(): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARDS, 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[]; panels?: unknown[] }[];
  };
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((t) => ({
      panel: panel.title,
      expr: t.expr
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__interval', '15s')
        .replaceAll('$__range', '5m'),
    })),
  );
}

requiring(
  'Prometheus scraping a live MiniTwit on PostgreSQL: panels, alerts, injected faults',
  async () => ({
    prometheus: missingCommands(['prometheus'], INSTALL),
    PostgreSQL: await postgresProblem(),
  }),
  () => {
    let databaseName: string | undefined;
    let prometheus: ChildProcess | undefined;
    let promUrl: string;
    let storage: string | undefined;
    const promLog: string[] = [];
    const killPrometheus = () => prometheus?.kill('SIGKILL');

    const query = async (expr: string): Promise<VectorSample[]> => {
      const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`;
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data: { resultType: string; result: VectorSample[] };
      };
      assert.equal(body.status, 'success', `${expr}: ${body.error}`);
      assert.equal(body.data.resultType, 'vector', expr);
      return body.data.result;
    };
    /** Polls until `expr` returns data, for at most `ms`. */
    const eventually = async (expr: string, ms = 30_000) => {
      const until = Date.now() + ms;
      for (;;) {
        const result = await query(expr);
        if (result.length > 0) return result;
        if (Date.now() > until) assert.fail(`no data for ${expr} within ${ms} ms`);
        await sleep(500);
      }
    };
    const rules = async () => {
      const res = await fetch(`${promUrl}/api/v1/rules?type=alert`);
      const body = (await res.json()) as {
        data: {
          groups: {
            rules: { name: string; query: string; health: string; lastError?: string }[];
          }[];
        };
      };
      return body.data.groups.flatMap((g) => g.rules);
    };
    const activeAlerts = async () => {
      const res = await fetch(`${promUrl}/api/v1/alerts`);
      const body = (await res.json()) as {
        data: { alerts: { labels: { alertname: string }; state: string }[] };
      };
      return body.data.alerts;
    };
    const admin = async (sql: string) => {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };

    // Registered before useServer's hooks, so it runs before the server closes and drops the
    // database: Prometheus stops first.
    after(async () => {
      if (prometheus && prometheus.exitCode === null) {
        const exited = new Promise((r) => prometheus?.once('exit', r));
        prometheus.kill('SIGTERM');
        const timer = setTimeout(killPrometheus, 5000);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', killPrometheus);
      if (storage) rmSync(storage, { recursive: true, force: true });
      if (databaseName === undefined) return;
      // Whatever a failed test left behind: the database accepts connections again, then goes.
      await admin(`alter database "${databaseName}" with allow_connections true`).catch(() => {});
    });
    const server = useServer('postgres');

    before(async () => {
      databaseName = new URL(server.database.url).pathname.slice(1);
      const target = new URL(server.metricsUrl as string).host;
      const port = await freePort();
      storage = mkdtempSync(join(tmpdir(), 'minitwit-prometheus-'));
      const config = join(storage, 'prometheus.yml');
      writeFileSync(
        config,
        [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 1s',
          '  evaluation_interval: 1s',
          'rule_files:',
          `  - ${JSON.stringify(RULES)}`,
          'scrape_configs:',
          '  - job_name: minitwit',
          '    static_configs:',
          `      - targets: [${JSON.stringify(target)}]`,
          '',
        ].join('\n'),
      );
      promUrl = `http://127.0.0.1:${port}`;
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(storage, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--storage.tsdb.retention.time=1h',
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      prometheus.stderr?.on('data', (chunk: Buffer) => promLog.push(chunk.toString()));
      process.once('exit', killPrometheus);
      const until = Date.now() + 30_000;
      for (;;) {
        const ready = await fetch(`${promUrl}/-/ready`).then(
          (r) => r.ok,
          () => false,
        );
        if (ready) break;
        if (prometheus.exitCode !== null || Date.now() > until) {
          throw new Error(`Prometheus did not start:\n${promLog.join('')}`);
        }
        await sleep(200);
      }
    });

    test('under scenario load every dashboard query and every alert signal returns data', async () => {
      // A steady trickle on both doors while Prometheus watches, so every rate() spans samples
      // that differ (a series born and finished within one scrape has a rate of 0), with
      // `latest` moving as the simulator moves it.
      const trickleApi = new SimClient(server.apiUrl);
      let latest = 1_000_000;
      const trickle = setInterval(() => {
        void fetch(`${server.webUrl}/public`).then(
          (r) => r.text(),
          () => {},
        );
        void trickleApi.get('/msgs?no=5', { latest: latest++ }).catch(() => {});
      }, 250);
      try {
        await loadAndCheck();
      } finally {
        clearInterval(trickle);
      }
    });

    async function loadAndCheck() {
      // Load, not conformance (test/sim checks the 0.3 s timeout): a slow shared CI machine must
      // not turn this into a flaky test.
      const result = await replay(server.apiUrl, {
        scenario: SCENARIO,
        lines: LOAD_LINES,
        timeoutMs: 5000,
      });
      assert.equal(result.errors, 0, JSON.stringify(result.errorsByKind));
      const web = new WebClient(server.webUrl);
      await web.visit('/public');
      await web.register('prom-web-user', 'prom-pw');
      await web.login('prom-web-user', 'wrong');
      await web.login('prom-web-user', 'prom-pw');
      await web.visit('/');
      // Prometheus has scraped the state after the load: every registration.
      const { users } = await server.app.store.counts();
      await eventually(`minitwit_registrations_total == ${users}`);
      await sleep(2500);

      const queries = dashboardQueries();
      assert.ok(queries.length >= 25, `${queries.length} dashboard queries`);
      const empty: string[] = [];
      for (const { panel, expr } of queries) {
        const samples = await query(expr);
        if (!samples.some((s) => !Number.isNaN(Number(s.value[1])))) {
          empty.push(`${panel}: ${expr}`);
        }
      }
      assert.deepEqual(empty, [], 'dashboard queries without data');

      const loaded = await rules();
      assert.equal(loaded.length, 13);
      const noSignal: string[] = [];
      for (const rule of loaded) {
        assert.equal(rule.health === 'err', false, `${rule.name}: ${rule.lastError}`);
        for (const signal of alertSignals(rule.query)) {
          const samples = await query(signal);
          if (!samples.some((s) => !Number.isNaN(Number(s.value[1])))) {
            noSignal.push(`${rule.name}: ${signal}`);
          }
        }
      }
      assert.deepEqual(noSignal, [], 'alert signals without data');

      // Healthy: none of the availability and traffic alerts' conditions hold.
      for (const name of [
        'MiniTwitInstanceDown',
        'MiniTwitDatabaseDown',
        'MiniTwitNotReady',
        'MiniTwitHigh5xxRatio',
        'MiniTwitLatestStalled',
      ]) {
        const rule = loaded.find((r) => r.name === name);
        assert.ok(rule, name);
        assert.deepEqual(await query(rule.query), [], `${name} holds while healthy`);
      }

      // The scrape saw what the load did.
      const [registrations] = await query('minitwit_registrations_total');
      assert.equal(Number(registrations?.value[1]), users, 'every user was counted once');
      const [failed] = await query('minitwit_logins_total{outcome="failed"}');
      assert.equal(failed?.value[1], '1');
    }

    test('the database made unreachable fires the database, readiness and 5xx alerts', async () => {
      const name = new URL(server.database.url).pathname.slice(1);
      await admin(`alter database "${name}" with allow_connections false`);
      await admin(
        `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}' and pid <> pg_backend_pid()`,
      );
      const api = new SimClient(server.apiUrl);
      // Simulator traffic keeps coming during the outage (spread over several scrapes).
      const statuses = new Set<number>();
      let sent = 0;
      const traffic = setInterval(() => {
        if (sent >= 600) return;
        sent++;
        api.tweet('Roger Histand', `during the outage ${sent}`).then(
          (r) => statuses.add(r.status),
          () => statuses.add(0),
        );
      }, 50);
      try {
        await checkOutage();
      } finally {
        clearInterval(traffic);
      }
      assert.ok(sent > 10, `${sent} requests during the outage`);
      assert.deepEqual([...statuses], [503], 'the API answers 503 while the database is away');

      // Back: the pool reconnects and the readiness signal recovers.
      await admin(`alter database "${name}" with allow_connections true`);
      await eventually('minitwit_database_up == 1 and minitwit_ready == 1');
      assert.equal((await api.get('/latest')).status, 200);
    });

    async function checkOutage() {
      const loaded = await rules();
      const expr = (alert: string) => {
        const rule = loaded.find((r) => r.name === alert);
        assert.ok(rule, alert);
        return rule.query;
      };
      for (const alert of ['MiniTwitDatabaseDown', 'MiniTwitNotReady', 'MiniTwitHigh5xxRatio']) {
        await eventually(expr(alert));
      }
      const until = Date.now() + 20_000;
      for (;;) {
        const active = await activeAlerts();
        if (active.some((a) => a.labels.alertname === 'MiniTwitDatabaseDown')) break;
        if (Date.now() > until) assert.fail('MiniTwitDatabaseDown never became pending');
        await sleep(500);
      }
    }

    test('the instance stopped fires MiniTwitInstanceDown', async () => {
      await server.stop();
      const rule = (await rules()).find((r) => r.name === 'MiniTwitInstanceDown');
      assert.ok(rule);
      await eventually(rule.query);
      assert.deepEqual(
        (await query('up{job="minitwit"}')).map((s) => s.value[1]),
        ['0'],
      );
    });
  },
);
