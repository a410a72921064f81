import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { COURSE_TIMEOUT_MS, type Outcome } from '../../src/sim/http.js';
import { type LoadResult, runLoad } from '../../src/sim/load.js';
import type { Action } from '../../src/sim/scenario.js';
import { ExpectedState } from '../deploy/model.js';
import { SCENARIO } from '../deploy/processes.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import {
  buildProduct,
  certificate,
  DOCKER_ENV,
  docker,
  dockerOk,
  engineProblem,
  get,
  PRODUCT,
  portTaken,
  ROOT,
  rawHeaderCount,
  run,
  standIns,
  stopEngineIfStarted,
  until,
} from './docker.js';

// deploy/swarm/stack.yaml on a single-node swarm, with deploy/swarm/single-node.yaml (placement
// and DNS round robin: this kernel has no IPVS) and the tests' stand-in images, three app
// replicas behind nginx over TLS. Under the course simulator's traffic through nginx (a
// bounded stream of the scenario's actions, three concurrent copies, with reads): a start-first
// rolling update, an update to a broken release that Swarm rolls back, scaling 3 → 1 → 3 and
// `docker kill` of one replica. After every phase the database's rows are compared with what
// the load generator saw acknowledged.

const STACK = 'minitwit';
const APP = `${STACK}_app`;
const FILES = [
  'deploy/swarm/stack.yaml',
  'deploy/swarm/single-node.yaml',
  'test/containers/fixtures/standin-images.yaml',
];
const PORTS = [80, 443, 5001];
const API = 'https://127.0.0.1:5001';
const WEB = 'https://127.0.0.1:443';
/** The most scenario lines a phase may send (per copy); phases stop earlier, when done. */
const MAX_LINES = 20_000;
/** A request slower than this is an error; slower than the course's 0.3 s is only counted. */
const TIMEOUT_MS = 10_000;

interface PhaseReport {
  phase: string;
  requests: number;
  actions: number;
  reads: number;
  errors: number;
  errorsByKind: Record<string, number>;
  slow: number;
  seconds: number;
}

const reports: PhaseReport[] = [];
const expected = new ExpectedState();

const swarmState = async () =>
  (await docker(['info', '-f', '{{.Swarm.LocalNodeState}}'])).stdout.trim();

/** Removes the stack, its secrets and volumes, and leaves the swarm (whatever is left of them). */
async function teardown() {
  // Anonymous volumes of the stack's containers (the images' VOLUME /data, /prometheus …).
  const volumes = [`${STACK}_pgdata`, `${STACK}_prometheus-data`];
  if ((await swarmState()) === 'active') {
    const ids = (
      await dockerOk(['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${STACK}`])
    )
      .split('\n')
      .filter(Boolean);
    if (ids.length > 0) {
      const mounts = await dockerOk([
        'inspect',
        '-f',
        '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}',
        ...ids,
      ]);
      for (const name of mounts.split(/\s+/))
        if (name && !volumes.includes(name)) volumes.push(name);
    }
    await docker(['stack', 'rm', STACK]);
    await until(
      'the stack is gone',
      async () =>
        (await dockerOk(['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${STACK}`])) ===
          '' || undefined,
      90_000,
      1000,
    ).catch(() => undefined);
    await docker(['swarm', 'leave', '--force']);
  }
  for (const volume of volumes) {
    await until(
      `volume ${volume} removed`,
      async () => {
        const result = await docker(['volume', 'rm', volume]);
        return result.code === 0 || result.stderr.includes('no such volume') || undefined;
      },
      30_000,
      1000,
    ).catch(() => undefined);
  }
}

/** Ids of the running containers of the app service. */
async function appContainers(): Promise<string[]> {
  const out = await dockerOk([
    'ps',
    '-q',
    '--filter',
    `label=com.docker.swarm.service.name=${APP}`,
    '--filter',
    'status=running',
  ]);
  return out.split('\n').filter(Boolean);
}

/** The images of the app's running tasks, healthy ones only, or undefined while any is not. */
async function healthyAppImages(): Promise<string[] | undefined> {
  const ids = await appContainers();
  if (ids.length === 0) return undefined;
  const lines = await dockerOk([
    'inspect',
    '-f',
    '{{.State.Health.Status}} {{index .Config.Labels "com.docker.swarm.task.name"}} {{.Config.Image}}',
    ...ids,
  ]);
  const rows = lines.split('\n').map((l) => l.split(' '));
  if (rows.some(([status]) => status !== 'healthy')) return undefined;
  return rows.map(([, , image]) => (image ?? '').split('@')[0] ?? '').sort();
}

async function waitForReplicas(count: number, image: string, timeoutMs = 240_000) {
  await until(
    `${count} healthy replicas of ${image}`,
    async () => {
      const images = await healthyAppImages();
      return images?.length === count && images.every((i) => i === image) ? true : undefined;
    },
    timeoutMs,
    1000,
  );
}

async function updateState(): Promise<string> {
  return dockerOk([
    'service',
    'inspect',
    '-f',
    '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}',
    APP,
  ]);
}

async function deploy(image: string) {
  const result = await run(
    'docker',
    ['stack', 'deploy', ...FILES.flatMap((f) => ['-c', f]), STACK],
    { env: { ...DOCKER_ENV, MINITWIT_IMAGE: image }, cwd: ROOT, timeoutMs: 120_000 },
  );
  assert.equal(result.code, 0, `stack deploy: ${result.stderr}`);
}

/** Rows as PostgreSQL holds them: users, messages per author, follow pairs. */
async function databaseRows() {
  const [pg] = (
    await dockerOk([
      'ps',
      '-q',
      '--filter',
      `label=com.docker.swarm.service.name=${STACK}_postgres`,
      '--filter',
      'status=running',
    ])
  ).split('\n');
  assert.ok(pg, 'the PostgreSQL task runs');
  const SEP = '\u001f';
  const query = async (sql: string) =>
    (
      await dockerOk([
        'exec',
        pg,
        'psql',
        '-U',
        'minitwit',
        '-d',
        'minitwit',
        '-X',
        '-q',
        '-t',
        '-A',
        '-F',
        SEP,
        '-c',
        sql,
      ])
    )
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(SEP));
  const users = new Set((await query('select username from users')).map(([u]) => u as string));
  const messagesBy = new Map(
    (
      await query(
        'select u.username, count(*) from messages m join users u on u.user_id = m.author_id group by u.username',
      )
    ).map(([u, n]) => [u as string, Number(n)]),
  );
  const follows = new Set(
    (
      await query(
        'select a.username, b.username from followers f join users a on a.user_id = f.who_id join users b on b.user_id = f.whom_id',
      )
    ).map(([a, b]) => `${a}\t${b}`),
  );
  return { users, messagesBy, follows };
}

interface Failure {
  action: Action;
  namespace: string;
  outcome: Outcome;
}

/**
 * The database holds exactly what was acknowledged; a user with a failed (unacknowledged)
 * action may differ by what that action would have done, and only by that.
 */
async function checkRows(phase: string, failures: Failure[]) {
  const rows = await databaseRows();
  const uncertain = new Set(failures.map((f) => `${f.namespace}${f.action.user}`));
  const maybeUsers = new Set(
    failures
      .filter((f) => f.action.command === 'register')
      .map((f) => `${f.namespace}${f.action.user}`),
  );
  for (const user of expected.users)
    assert.ok(rows.users.has(user), `${phase}: user ${user} is stored`);
  for (const user of rows.users) {
    assert.ok(
      expected.users.has(user) || maybeUsers.has(user),
      `${phase}: ${user} was acknowledged`,
    );
  }
  for (const user of new Set([...expected.users, ...rows.users])) {
    const want = expected.messagesBy.get(user) ?? 0;
    const have = rows.messagesBy.get(user) ?? 0;
    const wantFollows = expected.followsOf(user);
    const haveFollows = [...rows.follows]
      .filter((p) => p.startsWith(`${user}\t`))
      .map((p) => p.slice(user.length + 1))
      .sort();
    if (uncertain.has(user)) {
      const tweets = failures.filter(
        (f) => `${f.namespace}${f.action.user}` === user && f.action.command === 'tweet',
      ).length;
      assert.ok(
        have >= want && have <= want + tweets,
        `${phase}: ${user}: ${have} messages, acknowledged ${want}`,
      );
    } else {
      assert.equal(have, want, `${phase}: ${user}: messages`);
      assert.deepEqual(haveFollows, wantFollows, `${phase}: ${user}: follows`);
    }
  }
  const counts = {
    users: rows.users.size,
    messages: [...rows.messagesBy.values()].reduce((a, b) => a + b, 0),
    followers: rows.follows.size,
  };
  process.stderr.write(
    `containers: swarm ${phase}: rows ${JSON.stringify(counts)}, acknowledged ${JSON.stringify(expected.counts())}, ${uncertain.size} users with an unacknowledged action\n`,
  );
  if (uncertain.size === 0) assert.deepEqual(counts, expected.counts());
}

/**
 * Runs `operation` under the scenario's traffic through nginx: three concurrent copies of the
 * scenario (each its own users) at full speed, three requests in flight, 0.3 reads per action
 * (API listings and web pages). Traffic flows for 3 s before the operation and 3 s after it.
 */
async function underLoad(phase: string, operation: () => Promise<void>) {
  const controller = new AbortController();
  const failures: Failure[] = [];
  const load = runLoad(API, {
    scenario: SCENARIO,
    lines: MAX_LINES,
    copies: 3,
    concurrency: 3,
    namespace: `${phase}-${randomBytes(2).toString('hex')}-`,
    reads: 0.3,
    readMix: { msgs: 2, 'msgs-user': 2, fllws: 1, public: 0.5, user: 0.5 },
    webUrl: WEB,
    insecure: true,
    timeoutMs: TIMEOUT_MS,
    signal: controller.signal,
    onAction(action, namespace, outcome, accepted) {
      if (accepted && outcome.kind === 'status') expected.apply(action, outcome.status, namespace);
      else failures.push({ action, namespace, outcome });
    },
  });
  let result: LoadResult | undefined;
  try {
    await sleep(3000);
    await operation();
    await sleep(3000);
  } finally {
    controller.abort();
    result = await load;
  }
  const slow = [...result.actionLatencies, ...result.readLatencies].filter(
    (ms) => ms > COURSE_TIMEOUT_MS,
  ).length;
  const report: PhaseReport = {
    phase,
    requests: result.actions + result.reads,
    actions: result.actions,
    reads: result.reads,
    errors: result.errors,
    errorsByKind: result.errorsByKind,
    slow,
    seconds: Math.round(result.seconds),
  };
  reports.push(report);
  process.stderr.write(`containers: swarm ${phase}: ${JSON.stringify(report)}\n`);
  if (failures.length > 0) {
    process.stderr.write(
      `containers: swarm ${phase}: failed actions ${JSON.stringify(
        failures.map((f) => ({
          command: f.action.command,
          outcome: { ...f.outcome, body: undefined },
        })),
      )}\n`,
    );
  }
  return { report, failures };
}

describe("the Swarm stack on a single-node swarm, under the simulator's traffic", async () => {
  if (!requirePrerequisite('a Docker engine', await engineProblem(), 'the Swarm tests')) return;
  const taken = PORTS.filter(portTaken);
  if (
    !requirePrerequisite(
      `ports ${PORTS.join(', ')}`,
      taken.length ? `already in use: ${taken.join(', ')}` : undefined,
      'the Swarm tests (the stack publishes them)',
    )
  ) {
    await stopEngineIfStarted();
    return;
  }

  const images = { a: '', b: '', broken: `${PRODUCT}:broken` };

  before(async () => {
    await teardown();
    const standins = await standIns();
    images.a = (await buildProduct(standins.node, 'a')).image;
    images.b = (await buildProduct(standins.node, 'b')).image;
    // A release that cannot start: an invalid setting baked into the image, as a bad build would.
    const broken = await docker(['build', '-t', images.broken, '-'], {
      input: `FROM ${images.a}\nENV PORT=not-a-port\nLABEL minitwit.e2e.revision=broken\n`,
    });
    assert.equal(broken.code, 0, broken.stderr);

    await dockerOk(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    const node = await dockerOk(['node', 'ls', '-q']);
    await dockerOk([
      'node',
      'update',
      '--label-add',
      'minitwit.app=true',
      '--label-add',
      'minitwit.db=true',
      node,
    ]);
    const password = randomBytes(24).toString('hex');
    const tls = certificate();
    const secrets: Record<string, string> = {
      minitwit_postgres_password: password,
      minitwit_database_url: `postgres://minitwit:${password}@postgres:5432/minitwit`,
      minitwit_session_secret: randomBytes(48).toString('base64'),
      minitwit_tls_cert: readFileSync(tls.cert, 'utf8'),
      minitwit_tls_key: readFileSync(tls.key, 'utf8'),
    };
    rmSync(tls.dir, { recursive: true, force: true });
    for (const [name, value] of Object.entries(secrets)) {
      const created = await docker(['secret', 'create', name, '-'], { input: value });
      assert.equal(created.code, 0, created.stderr);
    }
    const started = performance.now();
    await deploy(images.a);
    await waitForReplicas(3, images.a);
    await until(
      'nginx serves HTTPS',
      async () => (await get(`${WEB}/public`)).status === 200 || undefined,
      120_000,
      1000,
    );
    process.stderr.write(
      `containers: swarm: stack deployed to three healthy replicas behind nginx in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
    );
  });

  after(async () => {
    if (reports.length > 0) {
      process.stderr.write('containers: swarm phases (requests through nginx over TLS):\n');
      for (const r of reports) {
        process.stderr.write(
          `  ${r.phase.padEnd(10)} ${String(r.requests).padStart(6)} requests (${r.actions} actions, ${r.reads} reads) in ${r.seconds} s, ${r.errors} errors ${JSON.stringify(r.errorsByKind)}, ${r.slow} slower than ${COURSE_TIMEOUT_MS} ms\n`,
        );
      }
    }
    if (process.env.MINITWIT_KEEP_CONTAINERS !== 'true') {
      await teardown();
      await docker(['image', 'rm', images.broken]);
    }
    await stopEngineIfStarted();
  });

  test('deployed: three replicas, PostgreSQL, nginx over TLS (one HSTS header), Prometheus; DNS round robin', async () => {
    // Swarm reports a task running shortly after its container turns healthy.
    const want: Record<string, string> = {
      [`${STACK}_app`]: '3/3',
      [`${STACK}_nginx`]: '1/1',
      [`${STACK}_postgres`]: '1/1',
      [`${STACK}_prometheus`]: '1/1',
    };
    const same = (a: Record<string, string>) =>
      Object.keys(want).every((k) => a[k] === want[k]) &&
      Object.keys(a).length === Object.keys(want).length;
    let replicas: Record<string, string> = {};
    await until(
      'Swarm counts every task running',
      async () => {
        const services = await dockerOk([
          'stack',
          'services',
          STACK,
          '--format',
          '{{.Name}} {{.Replicas}}',
        ]);
        replicas = Object.fromEntries(
          services.split('\n').map((l) => l.split(' ') as [string, string]),
        );
        return same(replicas) || undefined;
      },
      30_000,
      1000,
    ).catch(() => undefined);
    assert.deepEqual(replicas, want);
    for (const service of ['app', 'postgres', 'nginx', 'prometheus']) {
      const mode = await dockerOk([
        'service',
        'inspect',
        '-f',
        '{{.Spec.EndpointSpec.Mode}}',
        `${STACK}_${service}`,
      ]);
      assert.equal(mode, 'dnsrr', service);
    }
    assert.equal(await rawHeaderCount(`${WEB}/public`, 'strict-transport-security'), 1);
    const redirect = await get('http://127.0.0.1:80/public', { host: 'minitwit.example.org' });
    assert.equal(redirect.status, 301);
  });

  test('start-first rolling update to a new image under load: 0 errors, nothing acknowledged lost', async () => {
    const { report, failures } = await underLoad('update', async () => {
      await deploy(images.b);
      await until(
        'the update completes',
        async () => (await updateState()) === 'completed' || undefined,
        300_000,
        1000,
      );
      await waitForReplicas(3, images.b, 60_000);
    });
    assert.ok(report.requests > 0);
    assert.deepEqual(report.errorsByKind, {});
    assert.equal(report.errors, 0);
    await checkRows('update', failures);
  });

  test('update to a release that cannot start: Swarm rolls back by itself, 0 errors', async () => {
    const { report, failures } = await underLoad('rollback', async () => {
      await deploy(images.broken);
      await until(
        'Swarm rolls the update back',
        async () => (await updateState()) === 'rollback_completed' || undefined,
        300_000,
        1000,
      );
      await waitForReplicas(3, images.b, 60_000);
    });
    const spec = await dockerOk([
      'service',
      'inspect',
      '-f',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
      APP,
    ]);
    assert.equal(spec.split('@')[0], images.b, 'the service is back on the last good image');
    assert.equal(report.errors, 0, JSON.stringify(report.errorsByKind));
    await checkRows('rollback', failures);
  });

  test('scale 3 → 1 → 3 under load: 0 errors', async () => {
    const { report, failures } = await underLoad('scale', async () => {
      await dockerOk(['service', 'scale', '--detach=false', `${APP}=1`], { timeoutMs: 180_000 });
      await waitForReplicas(1, images.b, 60_000);
      await sleep(3000);
      await dockerOk(['service', 'scale', '--detach=false', `${APP}=3`], { timeoutMs: 180_000 });
      await waitForReplicas(3, images.b);
    });
    assert.equal(report.errors, 0, JSON.stringify(report.errorsByKind));
    await checkRows('scale', failures);
  });

  test('docker kill of one replica under load: only requests in flight on it fail, nothing acknowledged is lost', async () => {
    let victim = '';
    const { report, failures } = await underLoad('kill', async () => {
      [victim = ''] = await appContainers();
      await dockerOk(['kill', victim]);
      // Swarm starts a replacement (restart_policy: any).
      await until(
        'a replacement replica',
        async () => {
          const images = await healthyAppImages();
          const ids = await appContainers();
          return images?.length === 3 && !ids.some((id) => victim.startsWith(id))
            ? true
            : undefined;
        },
        120_000,
        1000,
      );
    });
    assert.ok(victim);
    // Goal 0. What can fail: a write nginx had already sent to the killed replica (it must not
    // be retried: it may have been applied). Reads are retried on another replica. So at most
    // the three requests in flight, and only writes, answered 502 by nginx.
    assert.ok(
      report.errors <= 3,
      `${report.errors} failed: ${JSON.stringify(report.errorsByKind)}`,
    );
    for (const { outcome, action } of failures) {
      assert.ok(
        outcome.kind === 'status' && outcome.status === 502,
        `${action.command}: ${JSON.stringify({ ...outcome, body: undefined })}`,
      );
    }
    assert.equal(failures.length, report.errors, 'every failure was a write, none a read');
    await checkRows('kill', failures);
  });
});
