import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { hashPassword } from '../../src/domain/passwords.js';
import { replay } from '../../src/sim/replay.js';
import { SimClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';
import { expectedState, followsOf, SCENARIO } from './scenario-model.js';

/** The busiest followers in the scenario, to compare whole follow lists. */
function busiestFollowers(pairs: Set<string>, n: number): string[] {
  const counts = new Map<string, number>();
  for (const pair of pairs) {
    const who = pair.split('\t')[0] as string;
    counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([who]) => who);
}

forEachDatabase('the whole scenario (25,922 lines), as the course simulator sends it', (kind) => {
  const server = useServer(kind, { env: { LOG_LEVEL: 'warn' } });
  before(async () => {
    // The course simulator meets a server that has been up for weeks. Warm this one without
    // changing its state: the password hasher's first (allocating) runs, the JIT, the pool.
    await Promise.all([hashPassword('warm-up'), hashPassword('warm-up')]);
    const api = new SimClient(server.apiUrl);
    for (let i = 0; i < 20; i++) {
      await Promise.all([api.get('/latest'), api.get('/msgs?no=5'), api.get('/fllws/nobody')]);
    }
  });

  test('0 errors under the 0.3 s timeout, and the final state the scenario implies', async () => {
    const expected = await expectedState(SCENARIO);
    assert.equal(expected.lastId, 25_921);
    const errors: string[] = [];
    const result = await replay(server.apiUrl, {
      scenario: SCENARIO,
      onError: (line) => errors.push(line),
    });
    assert.equal(result.actions, 25_922);
    assert.deepEqual(errors.slice(0, 20), []);
    assert.equal(result.errors, 0);

    const api = new SimClient(server.apiUrl);
    assert.deepEqual((await api.get('/latest')).json, { latest: expected.lastId });
    const counts = await server.app.store.counts();
    assert.equal(counts.users, expected.users.size);
    assert.equal(counts.messages, expected.messages);
    assert.equal(counts.followers, expected.follows.size);
    for (const who of busiestFollowers(expected.follows, 5)) {
      const res = await api.get(`/fllws/${encodeURIComponent(who)}?no=10000`);
      assert.equal(res.status, 200);
      assert.deepEqual([...res.json.follows].sort(), followsOf(expected, who), who);
    }
  });
});
