import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Instance } from '../deploy/processes.js';
import { SimClient } from '../helpers/clients.js';
import {
  createTestDatabase,
  POSTGRES_ADMIN_URL,
  postgresProblem,
  type TestDatabase,
} from '../helpers/databases.js';
import { FaultLoad, type Outcome, statusCounts, waitForStatus } from '../helpers/fault-load.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';

/**
 * PostgreSQL failing under a running `minitwit serve` (spawned, WORKERS=1 and 2), with a
 * fault-injecting proxy between them: connections cut, new ones refused, a server that accepts and
 * never answers, and pg_terminate_backend of the app's own connections. Under concurrent load
 * the process lives, every request gets an answer (204/200, or 503 with Retry-After in the API's
 * JSON shape) before a generous client timeout, /readyz turns and returns, and every message the
 * API acknowledged is stored. How long answers took goes to bench/faults.ts, not here.
 */

const ERROR_503 = { status: 503, error_msg: 'The database is unavailable: retry shortly' };

/** Outcomes that are not an answer MiniTwit may give while its database fails. */
function wrongAnswers(outcomes: Outcome[]): Outcome[] {
  return outcomes.filter((o) => {
    if (o.status === 503) {
      let json: unknown;
      try {
        json = JSON.parse(o.body);
      } catch {
        return true;
      }
      const busy = { status: 503, error_msg: 'The database is busy: retry shortly' };
      const shape = JSON.stringify(json);
      return (
        !(shape === JSON.stringify(ERROR_503) || shape === JSON.stringify(busy)) ||
        !(Number(o.retryAfter) >= 1)
      );
    }
    return !(o.status === 200 || o.status === 204);
  });
}

function describeOutcomes(outcomes: Outcome[]) {
  const wrong = wrongAnswers(outcomes).slice(0, 5);
  return `${JSON.stringify(statusCounts(outcomes))}; first wrong: ${JSON.stringify(wrong)}`;
}

async function storedTexts(url: string, user: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query(
      'select m.text from messages m join users u on u.user_id = m.author_id where u.username = $1',
      [user],
    );
    return new Set(rows.rows.map((r: { text: string }) => r.text));
  } finally {
    await client.end();
  }
}

describe('PostgreSQL faults under load', async () => {
  const problem = await postgresProblem();
  if (!requirePrerequisite('PostgreSQL', problem, 'the PostgreSQL fault tests')) return;
  const admin = new URL(POSTGRES_ADMIN_URL);

  for (const workers of [1, 2]) {
    describe(`WORKERS=${workers}`, () => {
      let database: TestDatabase;
      let proxy: FaultProxy;
      let server: Instance;
      let logBytes = 0;
      let stackLines = 0;
      const user = 'faulty';

      before(async () => {
        database = await createTestDatabase('postgres');
        proxy = await FaultProxy.start({ host: admin.hostname, port: Number(admin.port || 5432) });
        server = await Instance.create(`pg-faults-w${workers}`, proxy.url(database.url), {
          WORKERS: String(workers),
          LOG_LEVEL: 'info',
          DATABASE_POOL_MAX: '5',
        });
        await server.start();
        const count = (chunk: Buffer) => {
          logBytes += chunk.length;
          stackLines += chunk
            .toString()
            .split('\n')
            .filter((l) => l.includes('"stack"')).length;
        };
        server.proc?.stdout?.on('data', count);
        server.proc?.stderr?.on('data', count);
        assert.equal((await new SimClient(server.apiUrl).register(user)).status, 204);
      });

      after(async () => {
        await server?.kill();
        await proxy?.close();
        await database?.drop();
      });

      const alive = () => {
        assert.equal(
          server.proc?.exitCode,
          null,
          `the process exited:\n${server.output.slice(-20).join('\n')}`,
        );
        assert.equal(server.proc?.signalCode, null);
        assert.ok(
          !server.output.some((line) => line.includes('worker died')),
          `a worker died:\n${server.output
            .filter((l) => /died|Unhandled|error/i.test(l))
            .slice(0, 5)
            .join('\n')}`,
        );
      };

      /** Runs `fault` under load; returns the outcomes from its start until recovery. */
      async function underLoad(fault: (load: FaultLoad) => Promise<void>) {
        const load = new FaultLoad(server.apiUrl, { concurrency: 8, user }).start();
        await sleep(300);
        const from = Date.now();
        try {
          await fault(load);
          // Back by itself: readiness, then a write, without a restart.
          await waitForStatus(`${server.apiUrl}/readyz`, 200);
        } finally {
          await load.stop();
        }
        const stored = await storedTexts(database.url, user);
        const lost = load.acknowledged().filter((text) => !stored.has(text));
        assert.deepEqual(lost, [], 'every acknowledged message is stored');
        alive();
        return { during: load.between(from), all: load.outcomes };
      }

      test('connections cut again and again under load: the process lives, answers are 204/200 or 503', async () => {
        const { during } = await underLoad(async () => {
          for (let i = 0; i < 6; i++) {
            await sleep(150);
            proxy.cut();
          }
        });
        assert.deepEqual(wrongAnswers(during), [], describeOutcomes(during));
        assert.ok(
          during.some((o) => o.status === 204),
          describeOutcomes(during),
        );
      });

      test('pg_terminate_backend of the app’s connections under load: the process lives', async () => {
        const name = new URL(database.url).pathname.slice(1);
        let terminated = 0;
        const { during } = await underLoad(async () => {
          const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
          await client.connect();
          try {
            for (let i = 0; i < 6; i++) {
              await sleep(150);
              const res = await client.query(
                'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
                [name],
              );
              terminated += res.rowCount ?? 0;
            }
          } finally {
            await client.end();
          }
        });
        assert.ok(terminated > 0, 'backends were terminated');
        assert.deepEqual(wrongAnswers(during), [], describeOutcomes(during));
      });

      test('PostgreSQL refusing connections: 503 with Retry-After, /readyz not ready, then back by itself; logs stay small', async () => {
        let failed: Outcome[] = [];
        let bytes = 0;
        let stacks = 0;
        const { during } = await underLoad(async (load) => {
          const [bytes0, stacks0] = [logBytes, stackLines];
          const from = Date.now();
          await proxy.setMode('refuse');
          proxy.cut();
          const ready = JSON.parse(await waitForStatus(`${server.apiUrl}/readyz`, 503));
          // Naming the database (its redacted URL, here the proxy's address).
          assert.match(
            ready.checks.database,
            new RegExp(`^unreachable: .*postgres://postgres@127\\.0\\.0\\.1:${proxy.port}/`),
          );
          assert.equal(
            (await fetch(`${server.apiUrl}/healthz`)).status,
            200,
            'alive while not ready',
          );
          await sleep(2000);
          failed = load.between(from).filter((o) => o.status === 503);
          bytes = logBytes - bytes0;
          stacks = stackLines - stacks0;
          await proxy.setMode('pass');
        });
        assert.deepEqual(wrongAnswers(during), [], describeOutcomes(during));
        assert.ok(failed.length >= 20, `requests failed during the outage: ${failed.length}`);
        assert.deepEqual(JSON.parse(failed[0]?.body ?? '{}'), ERROR_503);
        // A stack per kind and interval (and process), not per failed request; the rest is the
        // one line per request that healthy traffic logs too.
        assert.ok(stacks <= 4 * workers, `lines with a stack: ${stacks}`);
        assert.ok(
          bytes / failed.length < 700,
          `log bytes per failed request: ${Math.round(bytes / failed.length)}`,
        );
      });

      test('PostgreSQL accepting but never answering: 503 before the client gives up, then back', async () => {
        const { during } = await underLoad(async (load) => {
          const from = Date.now();
          await proxy.setMode('stall');
          const ready = JSON.parse(await waitForStatus(`${server.apiUrl}/readyz`, 503));
          assert.match(ready.checks.database, /^unreachable: /);
          // Until requests that met the stall have had their answers.
          const until = Date.now() + 30_000;
          while (load.between(from).filter((o) => o.status === 503).length < 20) {
            assert.ok(Date.now() < until, describeOutcomes(load.between(from)));
            await sleep(100);
          }
          await proxy.setMode('pass');
        });
        assert.deepEqual(wrongAnswers(during), [], describeOutcomes(during));
        assert.ok(
          !during.some((o) => o.status === 'timeout'),
          'no request waited for the client timeout',
        );
      });
    });
  }
});
