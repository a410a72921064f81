import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { send } from '../../src/sim/http.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import {
  buildProduct,
  certificate,
  DOCKER_ENV,
  docker,
  dockerOk,
  engineProblem,
  get,
  portTaken,
  ROOT,
  rawHeaderCount,
  run,
  standIns,
  stopEngineIfStarted,
  tempFile,
  until,
} from './docker.js';

// deploy/compose.yaml brought up as an operator would (secrets and TLS files made as
// docs/operations.md says), with the stand-in images from fixtures/standin-images.yaml, for every
// service whose image can be made here. Grafana, Loki and Alloy have no Debian package to make
// a stand-in from: compose validates their definitions and the last tests check their files
// against compose.yaml.

const PROJECT = 'minitwit-e2e';
const STARTED = ['postgres', 'app', 'nginx', 'prometheus'];
const NOT_STARTED = ['loki', 'alloy', 'grafana'];
const PORTS = [80, 443, 5001];
const OVERRIDE = join(ROOT, 'test/containers/fixtures/standin-images.yaml');

/** Compose v2 (`docker compose`) when the CLI has it, else Debian's docker-compose 1.29. */
function composeCommand(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) {
    return ['docker', 'compose'];
  }
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) {
    return ['docker-compose'];
  }
  return undefined;
}

describe('deploy/compose.yaml on the Docker engine', async () => {
  if (!requirePrerequisite('a Docker engine', await engineProblem(), 'the compose tests')) return;
  const command = composeCommand();
  if (
    !requirePrerequisite(
      'Docker Compose',
      command
        ? undefined
        : "neither `docker compose` nor docker-compose; .ci/run installs Debian's docker-compose",
      'the compose tests',
    )
  ) {
    await stopEngineIfStarted();
    return;
  }
  const taken = PORTS.filter(portTaken);
  if (
    !requirePrerequisite(
      `ports ${PORTS.join(', ')}`,
      taken.length ? `already in use: ${taken.join(', ')}` : undefined,
      'the compose tests (compose.yaml publishes them)',
    )
  ) {
    await stopEngineIfStarted();
    return;
  }

  const dir = mkdtempSync(join(tmpdir(), 'minitwit-compose-'));
  const deploy = join(dir, 'deploy');
  let env: NodeJS.ProcessEnv = DOCKER_ENV;
  const composeRun = (args: string[], timeoutMs = 300_000) =>
    run(
      command?.[0] ?? 'docker-compose',
      [
        ...(command?.slice(1) ?? []),
        '-p',
        PROJECT,
        '-f',
        join(deploy, 'compose.yaml'),
        '-f',
        OVERRIDE,
        ...args,
      ],
      { env, cwd: deploy, timeoutMs },
    );
  const appContainers = async () =>
    (
      await dockerOk([
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${PROJECT}`,
        '--filter',
        'label=com.docker.compose.service=app',
      ])
    )
      .split('\n')
      .filter(Boolean);

  before(async () => {
    await composeRun(['down', '-v', '--remove-orphans'], 120_000);
    const images = await standIns();
    const { image } = await buildProduct(images.node);
    env = { ...DOCKER_ENV, MINITWIT_IMAGE: image, MINITWIT_SERVER_NAME: 'localhost' };
    // The shipped deploy/ folder, plus what an operator adds (docs/operations.md): secrets in a
    // folder only root may enter, each file readable by the containers' own users; TLS files.
    cpSync(join(ROOT, 'deploy'), deploy, { recursive: true });
    const secrets = join(deploy, 'secrets');
    mkdirSync(secrets, { mode: 0o700 });
    const password = randomBytes(24).toString('hex');
    const write = (name: string, text: string) => {
      const file = tempFile(name, text);
      copyFileSync(file, join(secrets, name));
      chmodSync(join(secrets, name), 0o644);
      rmSync(file);
    };
    write('postgres_password', password);
    write('database_url', `postgres://minitwit:${password}@postgres:5432/minitwit`);
    write('session_secret', randomBytes(48).toString('base64'));
    write('grafana_admin_password', randomBytes(24).toString('base64'));
    const tls = certificate();
    mkdirSync(join(deploy, 'tls'));
    copyFileSync(tls.cert, join(deploy, 'tls/fullchain.pem'));
    copyFileSync(tls.key, join(deploy, 'tls/privkey.pem'));
    rmSync(tls.dir, { recursive: true, force: true });

    const started = performance.now();
    const up = await composeRun(['up', '-d', ...STARTED]);
    assert.equal(up.code, 0, `compose up: ${up.stderr}`);
    await until(
      'three healthy app replicas',
      async () => {
        const ids = await appContainers();
        if (ids.length !== 3) return undefined;
        const states = await dockerOk(['inspect', '-f', '{{.State.Health.Status}}', ...ids]);
        return states.split('\n').every((s) => s === 'healthy') || undefined;
      },
      180_000,
      1000,
    );
    await until(
      'nginx serves HTTPS',
      async () => (await get('https://127.0.0.1:443/public')).status === 200 || undefined,
      60_000,
    );
    process.stderr.write(
      `containers: compose up (${STARTED.join(', ')}) to three healthy replicas behind nginx in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
    );
  });

  after(async () => {
    if (process.env.MINITWIT_KEEP_CONTAINERS !== 'true') {
      const down = await composeRun(['down', '-v', '--remove-orphans'], 180_000);
      if (down.code !== 0) process.stderr.write(`compose down: ${down.stderr}\n`);
    }
    rmSync(dir, { recursive: true, force: true });
    await stopEngineIfStarted();
  });

  test('compose itself validates every service, those that cannot start here included', async () => {
    const config = await composeRun(['config', '--services']);
    assert.equal(config.code, 0, config.stderr);
    assert.deepEqual(
      config.stdout.split('\n').filter(Boolean).sort(),
      [...STARTED, ...NOT_STARTED].sort(),
    );
  });

  test('three app replicas behind nginx: TLS on both doors, redirect, one HSTS header, requests spread over the replicas', async () => {
    const redirect = await get('http://127.0.0.1:80/public', { host: 'minitwit.example.org' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, 'https://minitwit.example.org:443/public');
    assert.equal(
      await rawHeaderCount('https://127.0.0.1:443/public', 'strict-transport-security'),
      1,
    );
    const register = await send(
      'https://127.0.0.1:5001',
      'POST',
      '/register?latest=1',
      {
        username: 'compose-user',
        email: 'c@x.dk',
        pwd: 'p',
      },
      { insecure: true, timeoutMs: 10_000 },
    );
    assert.equal(register.kind === 'status' && register.status, 204);
    for (let i = 0; i < 30; i++) {
      const tweet = await send(
        'https://127.0.0.1:5001',
        'POST',
        '/msgs/compose-user',
        { content: `spread ${i}` },
        {
          insecure: true,
          timeoutMs: 10_000,
        },
      );
      assert.equal(tweet.kind === 'status' && tweet.status, 204);
    }
    const latest = await get('https://127.0.0.1:5001/latest', {
      authorization: 'Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh',
    });
    assert.deepEqual(JSON.parse(latest.body), { latest: 1 });
    // Each replica logged some of the 30 posts.
    const perReplica: number[] = [];
    for (const id of await appContainers()) {
      const logs = await docker(['logs', id]);
      perReplica.push(
        // One request line each: POST on the route /msgs/:username of the API door.
        `${logs.stdout}${logs.stderr}`
          .split('\n')
          .filter((l) => l.includes('"method":"POST"') && l.includes('"route":"/msgs/:username"'))
          .length,
      );
    }
    process.stderr.write(
      `containers: compose: 30 posts through nginx, per replica ${JSON.stringify(perReplica)}\n`,
    );
    assert.equal(
      perReplica.reduce((a, b) => a + b, 0),
      30,
    );
    assert.ok(
      perReplica.every((n) => n > 0),
      `every replica served some: ${perReplica}`,
    );
  });

  test('Prometheus finds and scrapes the three replicas by DNS', async () => {
    const [app] = await appContainers();
    assert.ok(app);
    const targets = await until(
      'three minitwit targets up',
      async () => {
        const out = await dockerOk([
          'exec',
          app,
          'node',
          '-e',
          "fetch('http://prometheus:9090/api/v1/targets').then(r=>r.text()).then(t=>process.stdout.write(t))",
        ]);
        const active: { labels: { job: string }; health: string }[] =
          JSON.parse(out).data.activeTargets;
        const up = active.filter((t) => t.labels.job === 'minitwit' && t.health === 'up');
        return up.length === 3 ? up : undefined;
      },
      90_000,
      3000,
    );
    assert.equal(targets.length, 3);
  });

  test('the app containers run the image HEALTHCHECK compose.yaml sets (liveness) and read their secrets from files', async () => {
    for (const id of await appContainers()) {
      const check = JSON.parse(
        await dockerOk(['inspect', '-f', '{{json .Config.Healthcheck}}', id]),
      );
      assert.match(check.Test.join(' '), /\/healthz/);
      assert.equal(await dockerOk(['exec', id, 'id', '-u']), '1000');
    }
  });
});
