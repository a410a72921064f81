import assert from 'node:assert/strict';
import { test } from 'node:test';
import { courseScenario } from '../../src/config/paths.js';
import { replay } from '../../src/sim/replay.js';
import { SimClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

export const SCENARIO = courseScenario;

forEachDatabase('the first 3,000 scenario lines, as the course simulator sends them', (kind) => {
  const server = useServer(kind);

  test('0 errors under the 0.3 s timeout, and the data the lines imply', async () => {
    const errors: string[] = [];
    const result = await replay(server.apiUrl, {
      scenario: SCENARIO,
      lines: 3000,
      onError: (line) => errors.push(line),
    });
    assert.equal(result.actions, 3000);
    assert.deepEqual(errors, []);
    assert.equal(result.errors, 0);
    const api = new SimClient(server.apiUrl);
    assert.deepEqual((await api.get('/latest')).json, { latest: 2999 });
    // The legacy fixture went through the same 3,000 lines: 129 users and 2,320 visible messages.
    const counts = await server.app.store.counts();
    assert.equal(counts.users, 129);
    assert.equal(counts.messages, 2320);
    assert.equal(counts.followers, 505 - 1);
  });
});
