/**
 * How far the course simulator's traffic stays below the default API rate limit.
 * Replays the first LINES scenario lines once sequentially, then as COPIES concurrent copies
 * (each under its own username namespace), through the real server with default settings, and
 * prints each run's request count and rate against the limit measured from the same config.
 *
 *   npm run build && node dist/bench/sec-rate-headroom.js   (LINES=500 COPIES=16 by default)
 */
import { resolve } from 'node:path';
import { courseScenario } from '../src/config/paths.js';
import { SECURITY_DEFAULTS } from '../src/config/security.js';
import { replay } from '../src/sim/replay.js';
import { startServer } from '../test/helpers/server.js';

const LINES = Number(process.env.LINES ?? 500);
const COPIES = Number(process.env.COPIES ?? 16);
const SCENARIO = resolve(process.env.SCENARIO ?? courseScenario);

const server = await startServer('sqlite');
const { apiLimit, apiWindowSeconds } = SECURITY_DEFAULTS;
const perSecondLimit = apiLimit / apiWindowSeconds;
try {
  const runs: [string, number][] = [
    ['sequential', 1],
    [`${COPIES} concurrent copies`, COPIES],
  ];
  for (const [name, copies] of runs) {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: copies }, (_, i) =>
        replay(server.apiUrl, { scenario: SCENARIO, lines: LINES, namespace: `${name[0]}${i}-` }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const requests = results.reduce((n, r) => n + r.actions, 0);
    const errors = results.reduce((n, r) => n + r.errors, 0);
    const kinds: Record<string, number> = {};
    for (const r of results) {
      for (const [k, v] of Object.entries(r.errorsByKind)) kinds[k] = (kinds[k] ?? 0) + v;
    }
    const rate = requests / seconds;
    // A run shorter than the window fits in one window: its whole count is the worst case.
    const worstWindow = seconds <= apiWindowSeconds ? requests : Math.ceil(rate * apiWindowSeconds);
    console.log(
      `${name}: ${requests} requests in ${seconds.toFixed(1)} s = ${rate.toFixed(0)} req/s, ${errors} errors ${JSON.stringify(kinds)}; ` +
        `most in one ${apiWindowSeconds} s window <= ${worstWindow} vs limit ${apiLimit}: ` +
        `limit/peak = ${(apiLimit / worstWindow).toFixed(1)}x, per-second limit/rate = ${(perSecondLimit / rate).toFixed(1)}x`,
    );
  }
} finally {
  await server.close();
}
