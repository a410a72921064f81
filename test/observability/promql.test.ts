import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertSignals, splitSetOperations, stripComparison } from './promql.js';

test('alert signals: comparisons stripped, set operations split, nothing inside brackets touched', () => {
  assert.deepEqual(alertSignals('up{job="minitwit"} == 0'), ['up{job="minitwit"}']);
  assert.deepEqual(alertSignals('predict_linear(free[6h], 24 * 3600) < 0'), [
    'predict_linear(free[6h], 24 * 3600)',
  ]);
  assert.deepEqual(
    alertSignals(
      '(sum(rate(x{status=~"5..", route!~"/a|/b"}[5m])) or on () vector(0)) / sum(rate(x[5m])) > 0.01',
    ),
    ['(sum(rate(x{status=~"5..", route!~"/a|/b"}[5m])) or on () vector(0)) / sum(rate(x[5m]))'],
  );
  assert.deepEqual(
    alertSignals('max(changes(l[10m])) == 0 and on () sum(rate(r{door="api"}[10m])) > 0'),
    ['max(changes(l[10m]))', 'sum(rate(r{door="api"}[10m]))'],
  );
  assert.deepEqual(splitSetOperations('a unless ignoring(x) b'), ['a', 'b']);
  assert.equal(stripComparison('a >= 3'), 'a');
  assert.equal(stripComparison('a != 3'), 'a');
  assert.equal(stripComparison('sum(a)'), 'sum(a)');
  assert.equal(stripComparison('a{l="x>y"} > 1'), 'a{l="x>y"}');
});
