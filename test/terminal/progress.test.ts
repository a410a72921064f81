import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  duration,
  Meter,
  progressDisplay,
  describe as words,
} from '../../src/terminal/progress.js';

/** A clock the test moves by hand, in milliseconds. */
function clock() {
  let t = 0;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

test('in a pipe: one plain line per phase every interval, a last line for a long phase, none for a short one', () => {
  const c = clock();
  const lines: string[] = [];
  const display = progressDisplay({ label: 'export', err: (l) => lines.push(l), now: c.now });
  const short = display.phase('count');
  short.add(10);
  c.advance(300);
  short.finish();
  assert.equal(lines.length, 0, 'a phase under the interval prints nothing');

  const phase = display.phase('copy', { total: 10_000 });
  for (let i = 0; i < 20; i++) {
    c.advance(1000);
    phase.add(500);
  }
  phase.finish();
  display.log('a note');
  display.stop();
  assert.deepEqual(lines, [
    'export: copy: 2,500 of 10,000 rows (25%), 500 rows/s, 5 s spent, about 15 s left',
    'export: copy: 5,000 of 10,000 rows (50%), 500 rows/s, 10 s spent, about 10 s left',
    'export: copy: 7,500 of 10,000 rows (75%), 500 rows/s, 15 s spent, about 5 s left',
    'export: copy: 10,000 of 10,000 rows (100%), 500 rows/s, 20 s spent',
    'a note',
  ]);
  assert.ok(
    lines.every((l) => !l.includes('\u001b')),
    'no terminal control codes in a pipe',
  );
});

test('no total: rows and rate without a share or a time left; bytes in MB', () => {
  const c = clock();
  const meter = new Meter(c.now);
  c.advance(2000);
  meter.record(3000);
  assert.equal(words(meter, 'rows'), '3,000 rows, 1,500 rows/s, 2 s spent');
  const bytes = new Meter(c.now, 50e6);
  c.advance(4000);
  bytes.record(20e6);
  assert.equal(words(bytes, 'bytes'), '20.0 of 50.0 MB (40%), 5.0 MB/s, 4 s spent, about 6 s left');
  assert.equal(words(new Meter(c.now), 'rows'), '0 ms spent', 'a phase that counts nothing');
});

test('the time left holds when a job slows down: it follows the slower recent rate', () => {
  const c = clock();
  const meter = new Meter(c.now, 100_000);
  // 30 s at 2,000 rows/s, then 30 s at 500 rows/s.
  for (let i = 0; i < 30; i++) {
    c.advance(1000);
    meter.record(meter.done + 2000);
  }
  for (let i = 0; i < 30; i++) {
    c.advance(1000);
    meter.record(meter.done + 500);
  }
  assert.equal(meter.done, 75_000);
  const left = meter.secondsLeft();
  // The overall rate (1,250 rows/s) would promise 20 s; at the present 500 rows/s it is 50 s.
  assert.ok(left !== undefined && Math.abs(left - 50) < 1, `about 50 s left, not ${left}`);
});

test('durations read as a person says them', () => {
  assert.equal(duration(0.25), '250 ms');
  assert.equal(duration(42.4), '42 s');
  assert.equal(duration(185), '3 min 05 s');
  assert.equal(duration(3720), '1 h 02 min');
});
