// The benchmark's table as a picture: one horizontal bar per measured row, its length the row's
// requests per second on a log scale (the ceiling, node:http's hello world on the same machine in
// the same run, is twenty times faster than any MiniTwit row), labelled with req/s and the share
// of the ceiling. `npm run bench -- --write` writes it next to
// the table; `node dist/bench/chart.js` redraws it from the JSON already in docs/performance.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { packageRoot } from '../src/config/paths.js';

/** One row of the benchmark's table, as bench/run.ts records it in its JSON. */
export interface ChartRow {
  phase: string;
  database: string;
  what: string;
  rps?: number;
  ratio?: number;
}

export const CHART_FILE = resolve(packageRoot, 'docs/images/bench-ratios.svg');

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const COLORS: Record<string, string> = { '-': '#6b7280', sqlite: '#2f7d6d', postgres: '#3b5b9a' };

/** Where `rps` sits between 100 req/s (0) and `top` (1) on a log scale. */
function logShare(rps: number, top: number): number {
  return Math.max(0, Math.min(1, Math.log10(rps / 100) / Math.log10(top / 100)));
}

/**
 * An SVG bar chart of `rows` (those with req/s) on a log scale from 100 req/s to the next power
 * of ten above the `ceiling` row, each labelled with its share of the ceiling.
 * `subtitle` says when and where it was measured. Deterministic: the same rows, the same bytes.
 */
export function ratioChart(rows: ChartRow[], subtitle: string): string {
  const measured = rows.filter((r) => r.rps !== undefined);
  const ceiling =
    measured.find((r) => r.phase === 'ceiling')?.rps ??
    Math.max(...measured.map((r) => r.rps ?? 0));
  const labelWidth = 430;
  const barWidth = 420;
  const rowHeight = 22;
  const top = 76;
  const width = labelWidth + barWidth + 150;
  const height = top + measured.length * rowHeight + 40;
  const scaleTop = 10 ** Math.ceil(Math.log10(ceiling));
  const lines: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold" fill="#111827">MiniTwit throughput as a share of the machine's ceiling</text>`,
    `<text x="16" y="44" fill="#4b5563">${escapeXml(subtitle)}; requests per second, log scale</text>`,
  ];
  for (let tick = 100; tick <= scaleTop; tick *= 10) {
    const x = labelWidth + Math.round(barWidth * logShare(tick, scaleTop));
    const bottom = top + measured.length * rowHeight;
    lines.push(
      `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${bottom}" stroke="#e5e7eb"/>`,
      `<text x="${x}" y="${top - 8}" text-anchor="middle" fill="#6b7280">${tick.toLocaleString('en')}</text>`,
    );
  }
  measured.forEach((row, i) => {
    const y = top + i * rowHeight;
    const share = (row.rps ?? 0) / ceiling;
    const length = Math.max(1, Math.round(barWidth * logShare(row.rps ?? 0, scaleTop)));
    const label =
      row.phase === 'ceiling'
        ? `ceiling · ${row.what}`
        : `${row.phase} · ${row.database} · ${row.what}`;
    const percent = share >= 0.1 ? (share * 100).toFixed(0) : (share * 100).toFixed(1);
    lines.push(
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end" fill="#111827">${escapeXml(label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${length}" height="${rowHeight - 8}" rx="2" fill="${COLORS[row.database] ?? '#6b7280'}"/>`,
      `<text x="${labelWidth + length + 6}" y="${y + 15}" fill="#374151">${Math.round(row.rps ?? 0).toLocaleString('en')} req/s · ${percent} %</text>`,
    );
  });
  const legendY = top + measured.length * rowHeight + 22;
  let x = 16;
  for (const [name, color] of Object.entries(COLORS)) {
    const text = name === '-' ? 'ceiling (node:http hello)' : name;
    lines.push(
      `<rect x="${x}" y="${legendY - 10}" width="12" height="12" fill="${color}"/>`,
      `<text x="${x + 18}" y="${legendY}" fill="#374151">${escapeXml(text)}</text>`,
    );
    x += 40 + text.length * 7;
  }
  lines.push('</svg>', '');
  return lines.join('\n');
}

/** The rows and the line "Measured … on this machine …" of the run recorded in performance.md. */
export function recordedRun(markdown: string): { rows: ChartRow[]; subtitle: string } {
  const json =
    /<!-- bench:start -->[\s\S]*?```json\n([\s\S]*?)\n```[\s\S]*?<!-- bench:end -->/.exec(markdown);
  if (!json?.[1]) throw new Error('docs/performance.md holds no benchmark JSON');
  const run = JSON.parse(json[1]) as { started: string; load: string; rows: ChartRow[] };
  return { rows: run.rows, subtitle: `measured ${run.started.slice(0, 10)}; ${run.load}` };
}

// `node dist/bench/chart.js`: redraw the chart from docs/performance.md.
if (process.argv[1]?.endsWith('/bench/chart.js') && process.env.NODE_TEST_CONTEXT === undefined) {
  const { rows, subtitle } = recordedRun(
    readFileSync(resolve(packageRoot, 'docs/performance.md'), 'utf8'),
  );
  writeFileSync(CHART_FILE, ratioChart(rows, subtitle));
  process.stderr.write(`wrote ${CHART_FILE}\n`);
}
