import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { missingCommands, needs } from '../helpers/prerequisites.js';
import { ROOT } from './docker.js';

// Checks of deployment files that need no engine, cluster or cloud: the tools' own offline
// validators, and the files of the services no image can be made for here (Grafana, Loki,
// Alloy) checked against compose.yaml.

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is checked field by field
type Doc = any;
const compose: Doc = parse(readFileSync(join(ROOT, 'deploy/compose.yaml'), 'utf8'));

function tool(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', env, timeout: 120_000 });
}

describe('offline validators of the deployment files', () => {
  test('docker stack config: the Swarm stack with its single-node override merges and interpolates', (t) => {
    const probe = tool('docker', ['stack', 'config', '--help']);
    const problem =
      missingCommands(['docker']) ??
      (probe.status === 0
        ? undefined
        : "this Docker CLI has no `docker stack config` (Debian's 20.10 lacks it; the CLI 28 of this kind of machine has it)");
    if (!needs(t, 'the Docker CLI with `stack config`', problem, 'the Swarm stack check')) return;
    const result = tool(
      'docker',
      ['stack', 'config', '-c', 'deploy/swarm/stack.yaml', '-c', 'deploy/swarm/single-node.yaml'],
      { ...process.env, MINITWIT_IMAGE: 'ghcr.io/owner/minitwit:0123abc' },
    );
    assert.equal(result.status, 0, result.stderr);
    const merged = parse(result.stdout);
    for (const name of ['app', 'postgres', 'nginx', 'prometheus']) {
      assert.equal(merged.services[name].deploy.endpoint_mode, 'dnsrr', `${name}: DNS round robin`);
    }
    assert.equal(merged.services.app.image, 'ghcr.io/owner/minitwit:0123abc');
    assert.deepEqual(merged.services.app.deploy.placement.constraints, [
      'node.labels.minitwit.app == true',
    ]);
    assert.deepEqual(merged.services.postgres.deploy.placement.constraints, [
      'node.labels.minitwit.db == true',
    ]);
    assert.match(merged.services.app.healthcheck.test.join(' '), /\/healthz/);
    // The shipped stack names official images only; stand-ins come from the tests' own override.
    for (const [name, service] of Object.entries<Doc>(merged.services)) {
      assert.doesNotMatch(service.image, /standin/, `${name}: ${service.image}`);
    }
    for (const port of merged.services.nginx.ports) assert.equal(port.mode, 'host');
    // Without MINITWIT_IMAGE the deploy stops with the reason.
    const { MINITWIT_IMAGE: _unset, ...without } = process.env;
    const refused = tool('docker', ['stack', 'config', '-c', 'deploy/swarm/stack.yaml'], without);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /MINITWIT_IMAGE/);
  });

  test('kubectl kustomize builds deploy/k8s', (t) => {
    if (
      !needs(
        t,
        'kubectl',
        missingCommands(['kubectl'], ".ci/run installs Debian's kubernetes-client"),
        'the kustomize check',
      )
    )
      return;
    const result = tool('kubectl', ['kustomize', 'deploy/k8s']);
    assert.equal(result.status, 0, result.stderr);
    const docs = parseAllDocuments(result.stdout).map((d) => d.toJS());
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    for (const kind of ['Namespace/minitwit', 'Deployment/minitwit']) {
      assert.ok(kinds.includes(kind), `${kind} in ${kinds.join(', ')}`);
    }
    const deployment = docs.find((d) => d.kind === 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  });

  test('terraform fmt -check: deploy/infra is formatted', (t) => {
    if (!needs(t, 'terraform', missingCommands(['terraform']), 'the Terraform format check'))
      return;
    const result = tool('terraform', ['fmt', '-check', '-recursive', '-diff', 'deploy/infra'], {
      ...process.env,
      // No CLI configuration file is needed for fmt; say so instead of warning about it.
      TF_CLI_CONFIG_FILE: '/dev/null',
    });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });
});

describe('services no image can be made for here: their files against compose.yaml', () => {
  test('Loki: its config names only what compose.yaml provides (environment, volume, port)', () => {
    const loki = compose.services.loki;
    const text = readFileSync(join(ROOT, 'deploy/logging/loki.yml'), 'utf8');
    const config = parse(text);
    // -config.expand-env: every ${VAR} without a default must be set by compose.
    for (const [, name, fallback] of text.matchAll(/\$\{([A-Z_]+)(:-[^}]*)?\}/g)) {
      assert.ok(fallback || String(name) in (loki.environment ?? {}), `${name} is set for Loki`);
    }
    assert.ok(loki.command.includes('-config.expand-env=true'));
    const volumeTarget = loki.volumes.find((v: string) => !v.startsWith('.')).split(':')[1];
    for (const path of [config.common.path_prefix, config.compactor.working_directory]) {
      assert.ok(String(path).startsWith(volumeTarget), `${path} is on Loki's volume`);
    }
    assert.equal(config.server.http_listen_port, 3100);
    assert.equal(new URL(compose.services.grafana.environment.LOKI_URL).port, '3100');
    assert.equal(new URL(compose.services.alloy.environment.LOKI_PUSH_URL).port, '3100');
  });

  test('Alloy: every component its config wires to is declared; Loki push URL and Docker socket from compose.yaml', () => {
    const text = readFileSync(join(ROOT, 'deploy/logging/config.alloy'), 'utf8').replace(
      /\/\/.*$/gm,
      '',
    );
    assert.equal(
      (text.match(/\{/g) ?? []).length,
      (text.match(/\}/g) ?? []).length,
      'balanced braces',
    );
    const declared = new Set(
      [...text.matchAll(/^([a-z_.]+) "([a-z_]+)" \{/gm)].map((m) => `${m[1]}.${m[2]}`),
    );
    const references = [
      ...text.matchAll(/\b((?:loki|discovery|local)\.[a-z_.]+?)\.(receiver|targets|rules)\b/g),
    ].map((m) => m[1]);
    assert.ok(references.length > 0);
    for (const reference of references)
      assert.ok(declared.has(reference as string), `${reference} is declared`);
    assert.match(text, /sys\.env\("LOKI_PUSH_URL"\)/);
    assert.ok('LOKI_PUSH_URL' in compose.services.alloy.environment);
    assert.ok(
      compose.services.alloy.volumes.some((v: string) =>
        v.startsWith('/var/run/docker.sock:/var/run/docker.sock:ro'),
      ),
    );
  });

  test('Grafana: provisioning names the URLs compose.yaml sets and the folder it mounts the dashboards at', () => {
    const grafana = compose.services.grafana;
    for (const file of ['prometheus.yml', 'loki.yml']) {
      const text = readFileSync(
        join(ROOT, 'deploy/grafana/provisioning/datasources', file),
        'utf8',
      );
      for (const [, name] of text.matchAll(/\$\{([A-Z_]+)\}/g)) {
        assert.ok(name && name in grafana.environment, `${file}: ${name} is set for Grafana`);
      }
    }
    const provider = parse(
      readFileSync(join(ROOT, 'deploy/grafana/provisioning/dashboards/minitwit.yml'), 'utf8'),
    );
    const mount = grafana.volumes
      .find((v: string) => v.startsWith('./grafana/dashboards:'))
      .split(':')[1];
    assert.equal(provider.providers[0].options.path, mount);
    assert.equal(new URL(grafana.environment.PROMETHEUS_URL).hostname, 'prometheus');
  });
});
