/**
 * Just enough PromQL structure for the tests: the signals of an alert expression.
 * An alert expression here is `<signal> <comparison> <threshold>`, possibly several joined by
 * `and`/`unless`/`or` (with `on(…)`/`ignoring(…)`); a signal is what must return data for the
 * alert to be able to fire at all.
 */

/** Calls `visit(index, char)` for each character outside brackets, braces, parentheses and strings. */
function topLevel(expr: string, visit: (index: number) => void) {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i] as string;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0) visit(i);
  }
}

/** Splits at top-level set operators (`and`, `or`, `unless`, with their matching clause). */
export function splitSetOperations(expr: string): string[] {
  const cuts: { start: number; end: number }[] = [];
  topLevel(expr, (i) => {
    const rest = expr.slice(i);
    const before = i === 0 ? ' ' : expr[i - 1];
    if (!/\s/.test(before as string)) return;
    const match = /^(and|or|unless)\s+(?:(?:on|ignoring)\s*\([^)]*\)\s*)?/.exec(rest);
    if (match) cuts.push({ start: i, end: i + match[0].length });
  });
  const parts: string[] = [];
  let from = 0;
  for (const cut of cuts) {
    parts.push(expr.slice(from, cut.start));
    from = cut.end;
  }
  parts.push(expr.slice(from));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** The left side of the last top-level comparison, or the whole expression without one. */
export function stripComparison(expr: string): string {
  let last: number | undefined;
  topLevel(expr, (i) => {
    const two = expr.slice(i, i + 2);
    const c = expr[i];
    if (two === '==' || two === '!=' || two === '>=' || two === '<=') last = i;
    else if ((c === '>' || c === '<') && expr[i - 1] !== c && !'=<>!'.includes(expr[i - 1] ?? ''))
      last = i;
  });
  return (last === undefined ? expr : expr.slice(0, last)).trim();
}

export function alertSignals(expr: string): string[] {
  return splitSetOperations(expr).map(stripComparison);
}
