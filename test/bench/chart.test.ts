import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { CHART_FILE, ratioChart, recordedRun } from '../../bench/chart.js';
import { packageRoot } from '../../src/config/paths.js';

test("the benchmark's chart shows the run recorded in docs/performance.md, one bar per measured row", () => {
  const { rows, subtitle } = recordedRun(
    readFileSync(resolve(packageRoot, 'docs/performance.md'), 'utf8'),
  );
  const svg = ratioChart(rows, subtitle);
  assert.equal(readFileSync(CHART_FILE, 'utf8'), svg, 'redraw it with: node dist/bench/chart.js');
  const measured = rows.filter((r) => r.rps !== undefined);
  assert.ok(measured.length > 10);
  // One bar per measured row, plus the background and three legend swatches.
  assert.equal(svg.match(/<rect /g)?.length, measured.length + 4);
  const ceiling = measured.find((r) => r.phase === 'ceiling');
  assert.ok(ceiling?.rps);
  assert.match(svg, new RegExp(`${Math.round(ceiling.rps).toLocaleString('en')} req/s · 100 %`));
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>\n$/);
});
