import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { SimClient } from '../helpers/clients.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import {
  buildProduct,
  certificate,
  docker,
  dockerOk,
  engineProblem,
  get,
  ROOT,
  rawHeaderCount,
  type StandIns,
  standIns,
  stopEngineIfStarted,
  tempFile,
  until,
} from './docker.js';

// The product image, built from the repository's Dockerfile with the stand-in Node.js base, run
// against the stand-in PostgreSQL; then the shipped nginx configuration in front of it, on
// Debian's nginx 1.22 and on Debian unstable's current nginx.

const NET = 'minitwit-e2e-image';
const PG = 'minitwit-e2e-image-pg';
const APP = 'minitwit-e2e-image-app';
const NGINX = ['minitwit-e2e-image-nginx', 'minitwit-e2e-image-nginx-current'];
const PASSWORD = randomBytes(12).toString('hex');

async function removeAll() {
  await docker(['rm', '-f', '-v', PG, APP, ...NGINX]);
  await docker(['network', 'rm', NET]);
}

/** The host port docker published for `containerPort` of `container` (on 127.0.0.1). */
async function published(container: string, containerPort: number) {
  const out = await dockerOk(['port', container, `${containerPort}/tcp`]);
  const port = /127\.0\.0\.1:(\d+)/.exec(out)?.[1];
  if (!port) throw new Error(`${container} publishes no ${containerPort}: ${out}`);
  return Number(port);
}

const health = (container: string) =>
  dockerOk(['inspect', '-f', '{{.State.Health.Status}}', container]);

describe('the product image, built from the Dockerfile, against PostgreSQL', async () => {
  if (!requirePrerequisite('a Docker engine', await engineProblem(), 'the image tests')) return;

  let images: StandIns;
  let image = '';
  let api = '';
  let web = '';
  let metrics = '';
  const tls = certificate();
  const secret = tempFile('session_secret', randomBytes(40).toString('base64'));

  before(async () => {
    await removeAll();
    images = await standIns(true);
    const built = await buildProduct(images.node);
    image = built.image;
    process.stderr.write(
      `containers: product image ${image} built in ${built.seconds.toFixed(0)} s on ${images.node}\n`,
    );
    await dockerOk(['network', 'create', NET]);
    await dockerOk([
      'run',
      '-d',
      '--name',
      PG,
      '--network',
      NET,
      '--network-alias',
      'postgres',
      '-e',
      'POSTGRES_USER=minitwit',
      '-e',
      'POSTGRES_DB=minitwit',
      '-e',
      `POSTGRES_PASSWORD=${PASSWORD}`,
      images.postgres,
    ]);
    await until(
      'PostgreSQL answers',
      async () =>
        (
          await docker([
            'exec',
            PG,
            'pg_isready',
            '-U',
            'minitwit',
            '-d',
            'minitwit',
            '-h',
            '127.0.0.1',
          ])
        ).code === 0 || undefined,
      60_000,
    );
    await dockerOk([
      'run',
      '-d',
      '--name',
      APP,
      '--network',
      NET,
      '--network-alias',
      'app',
      '-e',
      `DATABASE_URL=postgres://minitwit:${PASSWORD}@postgres:5432/minitwit`,
      '-e',
      'SESSION_SECRET_FILE=/run/secrets/session_secret',
      '-e',
      'TRUST_PROXY=true',
      '-v',
      `${secret}:/run/secrets/session_secret:ro`,
      '-p',
      '127.0.0.1::5000',
      '-p',
      '127.0.0.1::5001',
      '-p',
      '127.0.0.1::9464',
      image,
    ]);
    web = `http://127.0.0.1:${await published(APP, 5000)}`;
    api = `http://127.0.0.1:${await published(APP, 5001)}`;
    metrics = `http://127.0.0.1:${await published(APP, 9464)}`;
    await until(
      'the app is ready',
      async () => (await get(`${api}/readyz`)).status === 200 || undefined,
      60_000,
    );
  });

  after(async () => {
    if (process.env.MINITWIT_KEEP_CONTAINERS !== 'true') await removeAll();
    rmSync(tls.dir, { recursive: true, force: true });
    await stopEngineIfStarted();
  });

  test('health and readiness answer; both doors serve; metrics are exported', async () => {
    assert.equal((await get(`${api}/healthz`)).status, 200);
    const ready = await get(`${api}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body).checks, {
      database: 'ok',
      migrations: 'ok',
      shutdown: 'ok',
    });
    const sim = new SimClient(api);
    assert.equal((await sim.register('container-user')).status, 204);
    assert.equal(
      (await sim.post('/msgs/container-user', { content: 'from a container' })).status,
      204,
    );
    const msgs = await sim.get('/msgs/container-user?no=5');
    assert.equal(msgs.json[0]?.content, 'from a container');
    const page = await get(`${web}/public`);
    assert.equal(page.status, 200);
    assert.match(page.body, /from a container/);
    const exported = await get(`${metrics}/metrics`);
    assert.equal(exported.status, 200);
    assert.match(exported.body, /^# TYPE \S+ (counter|histogram|gauge)/m);
    assert.match(exported.body, /door="api"/);
  });

  test('runs as uid 1000 with node as PID 1; the code is read-only, only /data is writable', async () => {
    assert.equal(await dockerOk(['exec', APP, 'id', '-u']), '1000');
    assert.match(await dockerOk(['exec', APP, 'cat', '/proc/1/cmdline']), /^node\0/);
    for (const path of [
      '/app/dist/src/app.js',
      '/app/package.json',
      '/app/node_modules/x',
      '/app/bin/x',
    ]) {
      const write = await docker(['exec', APP, 'sh', '-c', `echo x >> ${path}`]);
      assert.notEqual(write.code, 0, `${path} must not be writable`);
    }
    assert.equal(
      (await docker(['exec', APP, 'sh', '-c', 'echo x > /data/probe && rm /data/probe'])).code,
      0,
    );
  });

  test('HEALTHCHECK probes liveness: healthy, and still healthy while the database is down (only /readyz says 503)', async () => {
    const inspect = JSON.parse(
      await dockerOk(['inspect', '-f', '{{json .Config.Healthcheck}}', APP]),
    );
    assert.match(inspect.Test.join(' '), /\/healthz/);
    await until(
      'HEALTHCHECK says healthy',
      async () => (await health(APP)) === 'healthy' || undefined,
      60_000,
      1000,
    );
    await dockerOk(['stop', PG]);
    try {
      await until(
        '/readyz says 503',
        async () => (await get(`${api}/readyz`)).status === 503 || undefined,
        30_000,
      );
      // Two more health checks (10 s apart) run while the database is away: both pass.
      const outage = Date.now();
      const during = await until(
        'two health checks during the outage',
        async () => {
          const log: { Start: string; ExitCode: number }[] = JSON.parse(
            await dockerOk(['inspect', '-f', '{{json .State.Health.Log}}', APP]),
          );
          const since = log.filter((entry) => Date.parse(entry.Start) > outage);
          return since.length >= 2 ? since : undefined;
        },
        45_000,
        1000,
      );
      assert.deepEqual(
        during.map((entry) => entry.ExitCode),
        during.map(() => 0),
      );
      assert.equal((await get(`${api}/readyz`)).status, 503, 'still unready: the database is down');
      assert.equal(await health(APP), 'healthy', 'a database outage does not make it unhealthy');
    } finally {
      await dockerOk(['start', PG]);
    }
    await until(
      'ready again',
      async () => (await get(`${api}/readyz`)).status === 200 || undefined,
      60_000,
    );
  });

  // The shipped nginx files, as compose.yaml mounts them, with compose.yaml's environment.
  const compose = parse(readFileSync(`${ROOT}/deploy/compose.yaml`, 'utf8'));
  const nginxEnv = Object.entries<string>(compose.services.nginx.environment).map(
    ([k, v]) => `${k}=${String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')}`,
  );
  for (const [index, which] of [
    [0, 'Debian stable (1.22)'],
    [1, 'current (Debian unstable)'],
  ] as const) {
    test(`the shipped nginx configuration on ${which} nginx: nginx -t, TLS on both doors, redirect, one HSTS header, static cache`, async () => {
      const nginxImage = index === 0 ? images.nginx : images.nginx_current;
      assert.ok(nginxImage, 'images.sh made the current nginx image');
      const name = NGINX[index] as string;
      await dockerOk([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        NET,
        ...nginxEnv.flatMap((e) => ['-e', e]),
        '-v',
        `${ROOT}/deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro`,
        '-v',
        `${ROOT}/deploy/nginx/templates:/etc/nginx/templates:ro`,
        '-v',
        `${ROOT}/deploy/nginx/upstreams:/etc/nginx/upstreams:ro`,
        '-v',
        `${tls.cert}:/etc/nginx/tls/fullchain.pem:ro`,
        '-v',
        `${tls.key}:/etc/nginx/tls/privkey.pem:ro`,
        '-p',
        '127.0.0.1::80',
        '-p',
        '127.0.0.1::443',
        '-p',
        '127.0.0.1::5001',
        nginxImage,
      ]);
      try {
        const version = (await docker(['exec', name, 'nginx', '-v'])).stderr.trim();
        const check = await docker(['exec', name, 'nginx', '-t']);
        process.stderr.write(
          `containers: ${version}: nginx -t said: ${check.stderr.trim().replace(/\n/g, ' | ')}\n`,
        );
        assert.equal(check.code, 0, check.stderr);
        assert.match(check.stderr, /test is successful/);
        assert.doesNotMatch(check.stderr, /\[emerg\]/);
        const https = `https://127.0.0.1:${await published(name, 443)}`;
        const apiTls = `https://127.0.0.1:${await published(name, 5001)}`;
        const http = `http://127.0.0.1:${await published(name, 80)}`;
        await until(
          'nginx serves',
          async () => (await get(`${https}/public`)).status === 200 || undefined,
          30_000,
        );
        const redirect = await get(`${http}/public`, { host: 'minitwit.example.org' });
        assert.equal(redirect.status, 301, 'port 80 redirects, for any host name');
        assert.equal(redirect.headers.location, 'https://minitwit.example.org:443/public');
        const latest = await get(`${apiTls}/latest`, {
          authorization: 'Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh',
        });
        assert.equal(latest.status, 200);
        for (const path of ['/public', '/static/style.css', '/static/style.css', '/nowhere-404']) {
          assert.equal(
            await rawHeaderCount(`${https}${path}`, 'strict-transport-security'),
            1,
            `one HSTS header on ${path}`,
          );
        }
        const cached = await get(`${https}/static/style.css`);
        assert.equal(cached.headers['x-cache-status'], 'HIT');
      } finally {
        const logs = await docker(['logs', '--tail', '5', name]);
        if (logs.stderr.includes('[emerg]')) process.stderr.write(logs.stderr);
        await docker(['rm', '-f', name]);
      }
    });
  }

  test('SIGTERM (docker stop): the app drains and exits 0', async () => {
    const started = Date.now();
    await dockerOk(['stop', '-t', '30', APP]);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(await dockerOk(['inspect', '-f', '{{.State.ExitCode}}', APP]), '0');
    assert.equal(await dockerOk(['inspect', '-f', '{{.State.OOMKilled}}', APP]), 'false');
    const logs = await docker(['logs', '--tail', '20', APP]);
    process.stderr.write(`containers: docker stop took ${seconds.toFixed(1)} s, exit code 0\n`);
    assert.match(`${logs.stdout}${logs.stderr}`, /draining/);
  });
});
