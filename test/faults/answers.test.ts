import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatabaseCondition } from '../../src/db/errors.js';
import { FAULT_ANSWERS, faultAnswer, operatorMessage } from '../../src/http/database-faults.js';
import { FailureLog } from '../../src/observability/failures.js';
import { SimClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

/** A driver error of each condition, as better-sqlite3 or pg raise them. */
const SAMPLES: Record<DatabaseCondition, Error & { code?: string }> = {
  sealed: new Error('MINITWIT_DATABASE_MOVED'),
  unique: Object.assign(new Error('UNIQUE constraint failed'), {
    code: 'SQLITE_CONSTRAINT_UNIQUE',
  }),
  busy: Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }),
  unavailable: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  full: Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
  corrupt: Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' }),
  out_of_range: Object.assign(new Error('value out of range for type integer'), { code: '22003' }),
};

describe('one table of answers for database conditions', () => {
  test('every condition has an answer; transient faults are 503 (full: 507) with Retry-After', () => {
    for (const [condition, error] of Object.entries(SAMPLES)) {
      const answer = faultAnswer(new Error('wrapped', { cause: error }));
      assert.equal(answer?.condition, condition);
      assert.deepEqual(answer && { ...answer, condition: undefined }, {
        ...FAULT_ANSWERS[condition as DatabaseCondition],
        condition: undefined,
      });
    }
    for (const condition of ['sealed', 'busy', 'unavailable', 'corrupt'] as const) {
      assert.equal(FAULT_ANSWERS[condition].status, 503);
      assert.ok((FAULT_ANSWERS[condition].retryAfter ?? 0) >= 1);
    }
    assert.equal(FAULT_ANSWERS.full.status, 507);
    assert.ok((FAULT_ANSWERS.full.retryAfter ?? 0) >= 1);
    assert.equal(faultAnswer(new Error('a bug')), undefined);
    assert.equal(
      operatorMessage(SAMPLES.unavailable),
      'the database cannot be reached: connect ECONNREFUSED',
    );
    assert.equal(
      operatorMessage(new Error('give one or more message ids')),
      'give one or more message ids',
    );
  });

  test('FailureLog: a stack per kind and interval, then one line with the count; every one counted', async () => {
    const lines: { level: string; object: Record<string, unknown>; message: string }[] = [];
    const logger = {
      error: (object: object, message: string) =>
        lines.push({ level: 'error', object: object as Record<string, unknown>, message }),
      warn: (object: object, message: string) =>
        lines.push({ level: 'warn', object: object as Record<string, unknown>, message }),
    };
    const counted: string[] = [];
    const log = new FailureLog(logger, {
      intervalMs: 100,
      onFailure: (door, kind) => counted.push(`${door}/${kind}`),
    });
    for (let i = 0; i < 500; i++) {
      log.report(logger, { door: 'api', error: SAMPLES.unavailable, message: 'request failed' });
    }
    log.report(logger, { door: 'api', error: SAMPLES.busy, message: 'request failed' });
    log.report(logger, { door: 'web', error: new Error('a bug'), message: 'request failed' });
    assert.equal(counted.length, 502);
    assert.equal(counted.filter((c) => c === 'api/unavailable').length, 500);
    assert.deepEqual(counted.slice(500), ['api/busy', 'web/internal']);
    assert.deepEqual(
      lines.map((l) => [l.level, l.object.kind]),
      [
        ['error', 'unavailable'],
        ['error', 'busy'],
        ['error', 'internal'],
      ],
    );
    assert.equal(lines[0]?.object.err, SAMPLES.unavailable);
    await sleep(250);
    const summary = lines.slice(3);
    assert.equal(summary.length, 1, JSON.stringify(summary));
    assert.equal(summary[0]?.level, 'warn');
    assert.equal(summary[0]?.object.repeated, 499);
    assert.match(summary[0]?.message ?? '', /^request failed: 499 more like it/);
    // A new interval logs the stack again.
    log.report(logger, { door: 'api', error: SAMPLES.unavailable, message: 'request failed' });
    assert.equal(lines.at(-1)?.level, 'error');
    log.flush();
  });
});

forEachDatabase('each door answers each database condition in its own shape', (kind) => {
  const server = useServer(kind);

  test('API JSON and web page, status and Retry-After from the one table; one stack per kind', async () => {
    const domain = server.app.domain;
    const originals = { latest: domain.latest, timelinePage: domain.timelinePage };
    const api = new SimClient(server.apiUrl);
    try {
      for (const [condition, error] of Object.entries(SAMPLES)) {
        const answer = FAULT_ANSWERS[condition as DatabaseCondition];
        domain.latest = async () => {
          throw error;
        };
        domain.timelinePage = async () => {
          throw error;
        };
        const logsBefore = server.logs.length;
        for (let i = 0; i < 5; i++) {
          const res = await api.get('/latest');
          assert.equal(res.status, answer.status, condition);
          assert.deepEqual(res.json, { status: answer.status, error_msg: answer.api });
          assert.equal(res.headers.get('retry-after'), answer.retryAfter?.toString() ?? null);
          const page = await fetch(`${server.webUrl}/public`);
          assert.equal(page.status, answer.status, condition);
          assert.match(page.headers.get('content-type') ?? '', /text\/html/);
          assert.ok((await page.text()).includes(answer.page.replace(/'/g, '&#39;')), condition);
          assert.equal(page.headers.get('retry-after'), answer.retryAfter?.toString() ?? null);
        }
        const stacks = server.logs.slice(logsBefore).filter((l) => l.includes('"stack"'));
        assert.equal(stacks.length, answer.status >= 500 ? 2 : 0, `${condition}: one per door`);
      }
    } finally {
      Object.assign(domain, originals);
    }
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    assert.match(metrics, /minitwit_failures_total\{door="api",kind="unavailable"\} 5/);
    assert.match(metrics, /minitwit_failures_total\{door="web",kind="full"\} 5/);
  });
});
