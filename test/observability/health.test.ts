import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

forEachDatabase('health endpoints', (kind) => {
  const server = useServer(kind);

  test('/healthz and /readyz answer on both ports; readiness reports each check', async () => {
    for (const base of [server.webUrl, server.apiUrl]) {
      const live = await fetch(`${base}/healthz`);
      assert.equal(live.status, 200);
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), {
        ready: true,
        checks: { database: 'ok', migrations: 'ok', shutdown: 'ok' },
      });
    }
  });

  test('/readyz turns 503 while draining', async () => {
    server.app.health.draining = true;
    try {
      const res = await fetch(`${server.apiUrl}/readyz`);
      assert.equal(res.status, 503);
      assert.equal(
        ((await res.json()) as { checks: { shutdown: string } }).checks.shutdown,
        'draining',
      );
    } finally {
      server.app.health.draining = false;
    }
  });
});
