import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { runLoad, signIn } from '../../src/sim/load.js';
import { readScenario } from '../../src/sim/scenario.js';
import { percentile, summarize } from '../../src/sim/stats.js';
import { SimClient } from '../helpers/clients.js';
import { useServer } from '../helpers/server.js';
import { expectedState, followsOf, SCENARIO } from './scenario-model.js';

describe('load mode: concurrent, namespaced copies of the scenario with reads', () => {
  const server = useServer('sqlite', { env: { LOG_LEVEL: 'warn' } });

  test('two copies at concurrency 8 keep per-user order: 0 errors, each copy complete', async () => {
    const lines = 2000;
    const expected = await expectedState(SCENARIO, lines);
    const errors: string[] = [];
    const result = await runLoad(server.apiUrl, {
      scenario: SCENARIO,
      lines,
      concurrency: 8,
      copies: 2,
      namespace: 'ld-',
      reads: 0.5,
      webUrl: server.webUrl,
      timeoutMs: 5000,
      onError: (line) => errors.push(line),
    });
    assert.deepEqual(errors, []);
    assert.equal(result.actions, 2 * lines);
    assert.equal(result.reads, lines);
    assert.equal(result.actionLatencies.length, 2 * lines);
    const counts = await server.app.store.counts();
    assert.equal(counts.users, 2 * expected.users.size);
    assert.equal(counts.messages, 2 * expected.messages);
    assert.equal(counts.followers, 2 * expected.follows.size);
    // A user's follows after unfollows in between: only right if that user's order was kept.
    const api = new SimClient(server.apiUrl);
    const who = [...expected.follows][0]?.split('\t')[0] as string;
    for (const copy of ['ld-c0-', 'ld-c1-']) {
      const res = await api.get(`/fllws/${encodeURIComponent(copy + who)}?no=1000`);
      assert.deepEqual(
        [...res.json.follows].sort(),
        followsOf(expected, who).map((u) => copy + u),
      );
    }
  });
});

describe('load mode: signed-in home reads', () => {
  const server = useServer('sqlite', { env: { LOG_LEVEL: 'warn' } });

  test('signIn gets a working session with the scenario password, or undefined', async () => {
    const api = new SimClient(server.apiUrl);
    assert.equal((await api.register('Home Reader', 'h@r.io', 'p]=)[w')).status, 204);
    const cookie = await signIn(server.webUrl, 'Home Reader', 'p]=)[w');
    assert.ok(cookie);
    const home = await fetch(`${server.webUrl}/`, { headers: { cookie }, redirect: 'manual' });
    assert.equal(home.status, 200);
    assert.match(await home.text(), /My Timeline/);
    assert.equal(await signIn(server.webUrl, 'Home Reader', 'wrong'), undefined);
  });

  test('home reads in the mix sign in as scenario users: 200, no errors', async () => {
    const errors: string[] = [];
    const result = await runLoad(server.apiUrl, {
      scenario: SCENARIO,
      lines: 60,
      reads: 1,
      readMix: { home: 1 },
      webUrl: server.webUrl,
      timeoutMs: 5000,
      onError: (line) => errors.push(line),
    });
    assert.deepEqual(errors, []);
    assert.equal(result.reads, 60);
    assert.equal(result.signedInReads, 60);
  });
});

describe("--speed: the scenario's delays, scaled", () => {
  test("each request waits for its line's delay_ms x speed after the previous one", async () => {
    const arrivals: number[] = [];
    const fake = createServer((req, res) => {
      arrivals.push(performance.now());
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      const speed = 1e-5;
      const delays: number[] = [];
      for await (const a of readScenario(SCENARIO, { lines: 5 })) delays.push(a.delayMs * speed);
      const result = await runLoad(url, { scenario: SCENARIO, lines: 5, speed, timeoutMs: 5000 });
      assert.equal(result.errors, 0);
      assert.equal(arrivals.length, 5);
      // Scheduled from the start: request i arrives no earlier than the sum of delays up to i
      // (less 50 ms for a slow first connection; without delays all five come within a few ms).
      let due = 0;
      for (let i = 1; i < 5; i++) {
        due += delays[i] as number;
        assert.ok(
          (arrivals[i] as number) - (arrivals[0] as number) >= due - 50,
          `request ${i} came ${(arrivals[i] as number) - (arrivals[0] as number)} ms after the first, due at ${due}`,
        );
      }
      assert.ok(due > 200, 'the delays are long enough to observe');
    } finally {
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  });
});

describe('latency statistics', () => {
  test('nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile([], 50), 0);
    const s = summarize(values);
    assert.deepEqual(s, { count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    assert.equal(summarize([7]).p99, 7);
  });
});
