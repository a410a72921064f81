import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { validate } from 'dockerfile-utils';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../helpers/server.js';
import { renderTemplate, requireTools } from './nginx.js';

// Neither Docker, Swarm, Kubernetes nor a cloud runs here: these checks parse every shipped
// file and assert the properties the deployment relies on.

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is checked field by field
type Doc = any;
const read = (path: string) => readFileSync(resolve(path), 'utf8');
const yamlFile = (path: string): Doc => parse(read(path));

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = read('Dockerfile');

  test('the linter (dockerfile-utils) finds no problem', () => {
    const problems = validate(dockerfile).map(
      (d) => `line ${d.range.start.line + 1}: ${d.message}`,
    );
    assert.deepEqual(problems, []);
  });

  test('multi-stage, non-root, health-checked, no floating tags', () => {
    const lines = dockerfile.split('\n').map((l) => l.trim());
    const froms = lines.filter((l) => /^FROM\s/i.test(l));
    assert.ok(froms.length >= 2, 'a build stage and a runtime stage');
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.match(finalStage, /^USER\s+(?!root\b|0\b)\S+/m, 'the runtime stage drops root');
    assert.match(finalStage, /^HEALTHCHECK\s[\s\S]*?\bCMD\b/m);
    assert.match(finalStage, /^ENTRYPOINT\s+\[/m, 'exec form, so node gets SIGTERM');
    assert.doesNotMatch(dockerfile, /:latest\b/);
    assert.doesNotMatch(
      finalStage,
      /npm (ci|install)/,
      'no dependency install in the runtime stage',
    );
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', '.git', 'dist', 'data', '.env']) {
      assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
    }
    for (const copied of ['src/web/views', 'src/web/static', 'bin/docker-entrypoint.sh']) {
      assert.ok(existsSync(copied), copied);
    }
  });

  test('the HEALTHCHECK command, run as written, probes liveness: passes on a live server, draining or not, fails when nothing answers', async () => {
    const match = /^HEALTHCHECK[\s\S]*?CMD (\[.*\])$/m.exec(dockerfile);
    assert.ok(match?.[1]);
    const [command, ...args] = JSON.parse(match[1]) as string[];
    assert.equal(command, 'node');
    const server = await startServer('sqlite');
    const check = () =>
      new Promise<number | null>((done) => {
        const child = spawn(process.execPath, args, {
          env: { API_PORT: new URL(server.apiUrl).port },
          stdio: 'ignore',
        });
        child.on('exit', (code) => done(code));
      });
    try {
      assert.equal(await check(), 0);
      // Draining (or a database outage) is readiness, for routing: the container stays healthy.
      server.app.health.draining = true;
      assert.equal(await check(), 0);
    } finally {
      await server.close();
    }
    // Nothing answers on the port any more: unhealthy.
    assert.equal(await check(), 1);
  });
});

/** Bind-mounted, config and secret files a compose file names, resolved beside it. */
function referencedFiles(file: string, doc: Doc): string[] {
  const base = dirname(resolve(file));
  const paths: string[] = [];
  for (const service of Object.values<Doc>(doc.services ?? {})) {
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
      if (source?.startsWith('.')) paths.push(join(base, source));
    }
  }
  for (const section of [doc.configs, doc.secrets]) {
    for (const entry of Object.values<Doc>(section ?? {}))
      if (entry.file) paths.push(join(base, entry.file));
  }
  return paths;
}

/** Operator-provided at deploy time, never in the repository (docs/operations.md). */
const OPERATOR_FILES = /\/deploy\/(secrets|tls)(\/|$)|\/deploy\/grafana\/dashboards$/;

describe('deploy/compose.yaml', () => {
  const compose = yamlFile('deploy/compose.yaml');

  test('the whole stack: app, PostgreSQL on a named volume, nginx, Prometheus, Grafana, logs', () => {
    for (const name of ['app', 'postgres', 'nginx', 'prometheus', 'grafana', 'loki', 'alloy']) {
      assert.ok(compose.services[name], `service ${name}`);
    }
    const pgVolume = compose.services.postgres.volumes[0].split(':')[0];
    assert.ok(pgVolume in compose.volumes, 'PostgreSQL data is a named volume');
    assert.match(compose.services.app.image, /^\$\{MINITWIT_IMAGE:\?/);
    assert.ok(compose.services.app.deploy.replicas >= 2);
    assert.deepEqual(compose.services.nginx.ports, ['80:80', '443:443', '5001:5001']);
    for (const [name, service] of Object.entries<Doc>(compose.services)) {
      assert.doesNotMatch(String(service.image), /:latest$|^[^:$]+$/, `${name} pins its image`);
      for (const port of service.ports ?? []) {
        if (!['nginx'].includes(name))
          assert.match(port, /^127\.0\.0\.1:/, `${name} is local only`);
      }
    }
  });

  test('secrets are files mounted as secrets, and every referenced file exists', () => {
    for (const [name, service] of Object.entries<Doc>(compose.services)) {
      for (const secret of service.secrets ?? [])
        assert.ok(compose.secrets[secret], `${name}: ${secret}`);
      for (const value of Object.values(service.environment ?? {})) {
        assert.doesNotMatch(String(value), /password=|secret=/i, `${name} has no inline secret`);
      }
    }
    const missing = referencedFiles('deploy/compose.yaml', compose).filter(
      (p) => !existsSync(p) && !OPERATOR_FILES.test(p),
    );
    assert.deepEqual(missing, []);
  });

  test('the app environment is a valid MiniTwit configuration', () => {
    const env = Object.fromEntries(
      Object.entries<string>(compose.services.app.environment).filter(
        ([k]) => !k.endsWith('_FILE'),
      ),
    );
    const config = loadConfig({
      ...env,
      DATABASE_URL: 'postgres://minitwit@postgres/minitwit',
      SESSION_SECRET: 'x'.repeat(40),
    });
    assert.equal(config.trustProxy, true);
    assert.ok(config.shutdownDelayMs > 0 && config.shutdownGraceMs > 0);
    const grace = compose.services.app.stop_grace_period;
    assert.ok(Number.parseInt(grace, 10) * 1000 > config.shutdownDelayMs + config.shutdownGraceMs);
  });

  test('the nginx environment fills every placeholder of the site template', () => {
    // Compose interpolates ${NAME:-default} first; unset names take their defaults.
    const env = Object.fromEntries(
      Object.entries<string>(compose.services.nginx.environment).map(([k, v]) => [
        k,
        v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1'),
      ]),
    );
    const rendered = renderTemplate(read('deploy/nginx/templates/minitwit.conf.template'), env);
    assert.doesNotMatch(rendered, /\$\{MINITWIT_[A-Z]/);
  });
});

describe('deploy/swarm/stack.yaml', () => {
  const stack = yamlFile('deploy/swarm/stack.yaml');

  test('replicas with start-first rolling updates and automatic rollback', () => {
    const app = stack.services.app;
    assert.ok(app.deploy.replicas >= 2);
    assert.equal(app.deploy.update_config.order, 'start-first');
    assert.equal(app.deploy.update_config.parallelism, 1);
    assert.equal(app.deploy.update_config.failure_action, 'rollback');
    assert.equal(app.deploy.rollback_config.order, 'start-first');
    assert.match(app.healthcheck.test.join(' '), /healthz/);
    assert.match(app.image, /^\$\{MINITWIT_IMAGE:\?/);
  });

  test('PostgreSQL is its own single service; secrets are external Swarm secrets', () => {
    assert.equal(stack.services.postgres.deploy.replicas, 1);
    assert.equal(stack.services.app.volumes, undefined, 'the app keeps no state');
    for (const secret of Object.values<Doc>(stack.secrets)) assert.equal(secret.external, true);
    const missing = referencedFiles('deploy/swarm/stack.yaml', stack).filter((p) => !existsSync(p));
    assert.deepEqual(missing, []);
  });
});

describe('deploy/k8s', () => {
  const docs: Doc[] = [];
  const kustomization = yamlFile('deploy/k8s/kustomization.yaml');
  for (const file of kustomization.resources) {
    for (const doc of parseAllDocuments(read(`deploy/k8s/${file}`))) {
      assert.deepEqual(doc.errors, [], file);
      docs.push(doc.toJS());
    }
  }
  const find = (kind: string, name: string) =>
    docs.find((d) => d.kind === kind && d.metadata.name === name);

  test('every resource parses and names its apiVersion, kind and name', () => {
    for (const d of docs) assert.ok(d.apiVersion && d.kind && d.metadata?.name, JSON.stringify(d));
    assert.equal(
      docs.filter((d) => d.kind === 'Secret').length,
      0,
      'no secret values in the repository',
    );
  });

  test('the app rolls out surge-first, gated by /readyz, secrets from Secrets', () => {
    const app = find('Deployment', 'minitwit');
    assert.ok(app.spec.replicas >= 2);
    assert.deepEqual(app.spec.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
    const container = app.spec.template.spec.containers[0];
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    const fromSecrets = container.env
      .filter((e: Doc) => e.valueFrom?.secretKeyRef)
      .map((e: Doc) => e.name);
    assert.deepEqual(fromSecrets.sort(), ['DATABASE_URL', 'SESSION_SECRET']);
    assert.equal(app.spec.template.spec.securityContext.runAsNonRoot, true);
    const env = Object.fromEntries(
      container.env.filter((e: Doc) => 'value' in e).map((e: Doc) => [e.name, e.value]),
    );
    const config = loadConfig({ ...env, DATABASE_URL: 'postgres://x@y/z' });
    assert.ok(
      app.spec.template.spec.terminationGracePeriodSeconds * 1000 >
        config.shutdownDelayMs + config.shutdownGraceMs,
    );
    assert.ok(find('PodDisruptionBudget', 'minitwit'));
  });

  test('PostgreSQL is a separate StatefulSet with its own volume', () => {
    const pg = find('StatefulSet', 'postgres');
    assert.equal(pg.spec.replicas, 1);
    assert.ok(pg.spec.volumeClaimTemplates.length === 1);
  });
});

describe('.github/workflows', () => {
  test('CI mirrors .ci/run: PostgreSQL service, the Debian packages, npm ci, npm test', () => {
    const ci = yamlFile('.github/workflows/ci.yml');
    const job = ci.jobs.test;
    assert.ok(job.services.postgres);
    const script = job.steps.map((s: Doc) => s.run ?? '').join('\n');
    for (const needed of ['npm ci', 'npm test', 'nginx', 'chromium', 'prometheus', 'yamllint']) {
      assert.ok(script.includes(needed), needed);
    }
    const ciRun = read('.ci/run');
    for (const pkg of ['chromium', 'nginx', 'prometheus', 'openssl'])
      assert.ok(ciRun.includes(pkg));
  });

  test('delivery: image with an immutable tag, rolling deploy, rollback job', () => {
    const deliver = yamlFile('.github/workflows/deliver.yml');
    assert.deepEqual(Object.keys(deliver.jobs), ['image', 'deploy', 'rollback']);
    const push = deliver.jobs.image.steps.find((s: Doc) =>
      String(s.uses).startsWith('docker/build-push'),
    );
    assert.match(push.with.tags, /steps\.tag\.outputs\.tag/);
    assert.doesNotMatch(JSON.stringify(deliver), /:latest/);
    assert.match(JSON.stringify(deliver.jobs.deploy), /docker stack deploy/);
    assert.match(JSON.stringify(deliver.jobs.rollback), /docker service rollback/);
    assert.equal(deliver.jobs.rollback.needs, 'deploy');
  });
});

describe('deploy/infra', () => {
  test('the firewall opens only 80, 443, the simulator port and SSH from admin addresses', () => {
    const tf = read('deploy/infra/main.tf');
    const ports = [...tf.matchAll(/port_range\s*=\s*"(\d+)"/g)].map((m) => m[1]);
    const inbound = tf.slice(
      tf.indexOf('resource "digitalocean_firewall"'),
      tf.indexOf('outbound_rule'),
    );
    const opened = [...inbound.matchAll(/port_range\s*=\s*"(\d+)"/g)].map((m) => m[1]);
    assert.deepEqual(opened.sort(), ['22', '443', '80']);
    assert.match(inbound, /for_each = var\.simulator_port_open \? \[5001\]/);
    assert.match(inbound, /port_range\s*=\s*"22"\s*\n\s*source_addresses = var\.admin_cidrs/);
    assert.ok(ports.length > 0);
    const cloud = read('deploy/infra/cloud-init.yaml');
    assert.match(cloud, /^#cloud-config\n/);
    const init = parse(cloud);
    const allowed = init.runcmd
      .filter((c: string[]) => c[0] === 'ufw' && c[1] === 'allow')
      .map((c: string[]) => c[2]);
    assert.deepEqual(allowed, ['22/tcp', '80/tcp', '443/tcp', '5001/tcp']);
  });
});

describe('yamllint over deploy/ and .github/workflows/', () => {
  if (!requireTools(['yamllint'])) return;
  test('no problem, warnings included', () => {
    const result = spawnSync(
      'yamllint',
      ['--strict', '-c', '.yamllint.yaml', 'deploy', '.github/workflows'],
      { encoding: 'utf8' },
    );
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });
});

describe('Prometheus configuration of the stacks', () => {
  if (!requireTools(['promtool'])) return;
  test('promtool check config accepts deploy/prometheus/prometheus.yml', () => {
    const result = spawnSync('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml'], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });
});
