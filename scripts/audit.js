#!/usr/bin/env node
// `npm audit --omit=dev`, failing on any high or critical advisory for a runtime dependency.
// When the advisory service cannot be reached (offline, or a registry mirror without the audit
// endpoint) it says so loudly: the dependencies were NOT audited. AUDIT_REQUIRED=true turns
// that case into a failure too. Not part of `npm test`, which must work offline.
import { spawnSync } from 'node:child_process';

const result = spawnSync('npm', ['audit', '--omit=dev', '--json'], {
  encoding: 'utf8',
  timeout: 120_000,
});
let report;
try {
  report = JSON.parse(result.stdout || '{}');
} catch {
  report = { error: { summary: 'npm audit printed no JSON' } };
}

const counts = report.metadata?.vulnerabilities;
if (!counts) {
  const why =
    report.message ||
    report.error?.summary ||
    result.stderr?.trim().split('\n').pop() ||
    'no answer';
  process.stderr.write(
    `\n!!! npm audit could not get an answer from the advisory service (${why}).\n` +
      '!!! The runtime dependencies were NOT audited.\n\n',
  );
  process.exit(process.env.AUDIT_REQUIRED === 'true' ? 1 : 0);
}

const serious = (counts.high ?? 0) + (counts.critical ?? 0);
const summary = Object.entries(counts)
  .map(([level, n]) => `${level}=${n}`)
  .join(' ');
if (serious > 0) {
  for (const [name, v] of Object.entries(report.vulnerabilities ?? {})) {
    if (v.severity === 'high' || v.severity === 'critical') {
      process.stderr.write(`${v.severity}: ${name} ${v.range ?? ''}\n`);
    }
  }
  process.stderr.write(`npm audit --omit=dev: ${summary}: high or critical issues found\n`);
  process.exit(1);
}
process.stdout.write(`npm audit --omit=dev: ${summary}: no high or critical issue\n`);
