// The simulator CLI's logic; src/sim/cli.ts runs it. See USAGE below.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { courseScenario } from '../config/paths.js';
import { progressDisplay } from '../terminal/progress.js';
import { checkApi } from './check.js';
import { COURSE_TIMEOUT_MS } from './http.js';
import { DEFAULT_READ_MIX, type LoadResult, parseReadMix, runLoad } from './load.js';
import { countActions } from './scenario.js';
import { latencyLine, summarize } from './stats.js';

export const USAGE = `usage: npm run sim -- <api-url> [options]

Replays the course's scenario against a MiniTwit simulator API exactly as the course
simulator does (Connection: close, JSON, auth, ?latest=<id>, 0.3 s timeout), prints each
error as UTC-time,host,latest,status|ConnectionError|ReadTimeout,command and a summary.
Exits 1 on any error.

options:
  --scenario FILE     scenario file (default: course/minitwit_scenario.csv, in this repository)
  --lines N           only the first N lines
  --speed F           F x the scenario's delays; 0 or max = no delays (default: max)
  --concurrency N     requests in flight (default 1); per-user order is kept
  --copies N          N concurrent copies of the scenario with namespaced users (load mode)
  --namespace P       username prefix (default: none for one copy, random for several)
  --reads R           read requests per scenario action (default 0)
  --read-mix SPEC     weights, e.g. msgs=2,msgs-user=2,fllws=1,public=1,user=1,home=1
  --web URL           the web app, for the public/user/home reads
  --timeout MS        request timeout (default 300, the course simulator's)
  --check             probe the GET endpoints and error cases of the contract, one line per rule
  --json              print the summary as JSON too`;

function number(value: unknown, name: string, fallback: number, allowMax = false): number {
  if (value === undefined) return fallback;
  if (allowMax && value === 'max') return 0;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new Error(`--${name} must be a number, 0 or more (got "${String(value)}")`);
  }
  return n;
}

function apiUrlArg(raw: string | undefined): string {
  if (!raw) throw new Error('give the API base URL, e.g. http://127.0.0.1:5001');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`"${raw}" must be an http:// or https:// URL`);
  }
  return url.toString();
}

export function printSummary(result: LoadResult, out: (line: string) => void) {
  const signedIn = result.signedInReads ? ` (${result.signedInReads} signed in)` : '';
  out(`actions: ${result.actions}${result.reads ? `, reads: ${result.reads}${signedIn}` : ''}`);
  const kinds = Object.entries(result.errorsByKind)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  out(`errors: ${result.errors}${kinds ? ` (${kinds})` : ''}`);
  out(latencyLine('latency of actions', summarize(result.actionLatencies)));
  if (result.reads) out(latencyLine('latency of reads', summarize(result.readLatencies)));
  const total = result.actions + result.reads;
  out(
    `${(result.actions / result.seconds).toFixed(1)} actions/s` +
      (result.reads ? `, ${(total / result.seconds).toFixed(1)} requests/s` : '') +
      ` over ${result.seconds.toFixed(1)} s`,
  );
}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** A terminal for a live progress bar (stderr); progress lines go to `err` otherwise. */
  terminal?: NodeJS.WriteStream;
}

const stdio: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  terminal: process.stderr,
};

export async function main(argv: string[], { out, err, terminal }: Io = stdio): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        scenario: { type: 'string' },
        lines: { type: 'string' },
        speed: { type: 'string' },
        concurrency: { type: 'string' },
        copies: { type: 'string' },
        namespace: { type: 'string' },
        reads: { type: 'string' },
        'read-mix': { type: 'string' },
        web: { type: 'string' },
        timeout: { type: 'string' },
        check: { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
  try {
    parsed = parse();
  } catch (error) {
    err(`sim: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(USAGE);
    return 0;
  }
  try {
    const apiUrl = apiUrlArg(positionals[0]);
    const timeoutMs = number(values.timeout, 'timeout', COURSE_TIMEOUT_MS);
    if (values.check) {
      const results = await checkApi(apiUrl, { timeoutMs });
      for (const r of results)
        out(`${r.pass ? 'PASS' : 'FAIL'} ${r.rule}${r.detail ? `: ${r.detail}` : ''}`);
      const failed = results.filter((r) => !r.pass).length;
      out(`${results.length - failed}/${results.length} rules pass`);
      if (values.json) out(JSON.stringify({ check: results }));
      return failed === 0 ? 0 : 1;
    }
    const lines = values.lines === undefined ? undefined : number(values.lines, 'lines', 0);
    const scenario = values.scenario === undefined ? courseScenario : resolve(values.scenario);
    const copies = Math.max(1, Math.floor(number(values.copies, 'copies', 1)));
    const total = copies * (await countActions(scenario, { lines }));
    // Progress on stderr: a live bar in a terminal, a line every 10 s elsewhere. The course's
    // error lines still go to stdout (above the bar in a terminal).
    const display = progressDisplay({ label: 'sim', err, terminal, everyMs: 10_000 });
    const replaying = display.phase('replay', { total, unit: 'actions' });
    const onError =
      terminal?.isTTY && process.stdout.isTTY ? (line: string) => display.log(line) : out;
    let result: LoadResult;
    try {
      result = await runLoad(apiUrl, {
        scenario,
        lines,
        speed: number(values.speed, 'speed', 0, true),
        concurrency: Math.max(1, Math.floor(number(values.concurrency, 'concurrency', 1))),
        copies,
        namespace: values.namespace,
        reads: number(values.reads, 'reads', 0),
        readMix: values['read-mix'] ? parseReadMix(values['read-mix']) : DEFAULT_READ_MIX,
        webUrl: values.web,
        timeoutMs,
        onError,
        onAction: () => replaying.add(1),
      });
      replaying.finish();
    } finally {
      display.stop();
    }
    printSummary(result, out);
    if (values.json) {
      const { actionLatencies, readLatencies, ...rest } = result;
      out(
        JSON.stringify({
          ...rest,
          actionLatency: summarize(actionLatencies),
          readLatency: summarize(readLatencies),
        }),
      );
    }
    return result.errors === 0 ? 0 : 1;
  } catch (error) {
    err(`sim: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
}
