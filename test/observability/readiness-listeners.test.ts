import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { createApp, ListenError } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { freePort } from '../deploy/processes.js';
import { createTestDatabase, forEachDatabase } from '../helpers/databases.js';
import { TEST_SECRET } from '../helpers/server.js';

forEachDatabase('readiness is never true while a port is down', (kind) => {
  test('not ready before the ports listen; a busy port closes the others and names itself', async () => {
    const database = await createTestDatabase(kind);
    const busy = createServer();
    try {
      const [web, api, metrics] = [await freePort(), await freePort(), await freePort()];
      busy.listen(api, '127.0.0.1');
      await once(busy, 'listening');
      const app = await createApp(
        loadConfig({
          DATABASE_URL: database.url,
          SESSION_SECRET: TEST_SECRET,
          HOST: '127.0.0.1',
          PORT: String(web),
          API_PORT: String(api),
          METRICS_PORT: String(metrics),
        }),
        { logger: createLogger({ level: 'silent' }) },
      );
      const before = await app.health.readiness();
      assert.equal(before.ready, false);
      assert.equal(
        before.checks.listeners,
        `not listening: web (PORT ${web}), api (API_PORT ${api}), metrics (METRICS_PORT ${metrics})`,
      );

      await assert.rejects(app.listen(), (error) => {
        assert.ok(error instanceof ListenError);
        assert.match(error.message, new RegExp(`^API_PORT=${api}: port ${api} is already in use`));
        return true;
      });
      assert.equal(app.web.server.listening, false, 'the web port was closed again');
      assert.equal(app.metricsServer?.listening, false, 'the metrics port was closed again');
      const after = await app.health.readiness();
      assert.equal(after.ready, false);
      assert.match(after.checks.listeners ?? '', /api \(API_PORT/);
      await app.close();
    } finally {
      busy.close();
      await database.drop();
    }
  });
});
