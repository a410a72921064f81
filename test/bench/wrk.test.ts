import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWrk } from '../../bench/wrk.js';

const OUTPUT = `Running 5s test @ http://127.0.0.1:15201
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.34ms    7.12ms  98.20ms   80.11%
    Req/Sec     1.60k   841.35     3.95k    74.00%
  Latency Distribution
     50%  850.00us
     75%   14.37ms
     90%   20.04ms
     99%    1.20s
  8019 requests in 5.04s, 14.70MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1592.43
Transfer/sec:      2.92MB
`;

test('wrk output: req/s, p50/p99 in ms whatever the unit, errors', () => {
  assert.deepEqual(parseWrk(OUTPUT), {
    requests: 8019,
    seconds: 5.04,
    rps: 1592.43,
    p50: 0.85,
    p99: 1200,
    errors: 7,
  });
});

test('wrk output without a latency distribution is an error, not a zero', () => {
  assert.throws(() => parseWrk(OUTPUT.replace(/\s+99%.*\n/, '\n')), /no 99% line/);
});
