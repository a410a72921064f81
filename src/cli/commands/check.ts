import { type CheckResult, checkApi } from '../../sim/check.js';
import { checkWeb } from '../../sim/check-web.js';
import { COURSE_TIMEOUT_MS } from '../../sim/http.js';
import { defineCommand } from '../command.js';

/** An http(s) base URL given on the command line; `what` names it in the error. */
function baseUrl(raw: string | undefined, what: string): string {
  if (!raw) throw new Error(`give the ${what} URL, e.g. http://127.0.0.1:5000`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" (the ${what} URL) is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`"${raw}" (the ${what} URL) must be an http:// or https:// URL`);
  }
  return url.toString();
}

function milliseconds(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new Error(`--${name} must be a number of milliseconds above 0 (got "${raw}")`);
  }
  return n;
}

export const checkCommand = defineCommand({
  name: 'check',
  summary: "check any MiniTwit against the course's contract: one PASS/FAIL line per rule",
  usage: `minitwit check <web-url> <api-url> [--only web|api] [--timeout MS] [--api-timeout MS] [--json]

Probes a running MiniTwit as the course's clients use it: the web app (every route, status,
redirect, flash and error text, the form markup the course's browser test finds, escaping,
follow/unfollow, paging if offered, plain-form posts, forged cross-site requests refused) and
the simulator API (latest, auth, statuses, bodies, error texts). Prints PASS or FAIL per rule
with the reason, then "N/M rules pass"; exits 1 when any rule fails.

It writes only as users it creates, named "check-<random> <Role>": their sign-ups, messages and
follows, and the API's "latest" value. Run it against a test instance, not production.

  --only web|api     check one door only (then give just its URL)
  --timeout MS       per web request (default 10000)
  --api-timeout MS   per API request (default ${COURSE_TIMEOUT_MS}, the course simulator's)
  --json             also print the results as one JSON line`,
  options: {
    only: { type: 'string' },
    timeout: { type: 'string' },
    'api-timeout': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals, out }) {
    const only = values.only;
    if (only !== undefined && only !== 'web' && only !== 'api') {
      throw new Error(`--only must be "web" or "api" (got "${only}")`);
    }
    const wanted = only === undefined ? 2 : 1;
    if (positionals.length !== wanted) {
      throw new Error(
        only === undefined
          ? 'give the web URL and the API URL, e.g. minitwit check http://127.0.0.1:5000 http://127.0.0.1:5001'
          : `with --only ${only}, give just the ${only} URL`,
      );
    }
    const webUrl = only === 'api' ? undefined : baseUrl(positionals[0], 'web');
    const apiUrl = only === 'web' ? undefined : baseUrl(positionals[only === 'api' ? 0 : 1], 'API');
    const timeoutMs = milliseconds(values.timeout, 'timeout');
    const apiTimeoutMs = milliseconds(values['api-timeout'], 'api-timeout') ?? COURSE_TIMEOUT_MS;

    const results: (CheckResult & { door: 'web' | 'api' })[] = [];
    const print = (door: 'web' | 'api', list: CheckResult[]) => {
      for (const r of list) {
        results.push({ door, ...r });
        out(`${r.pass ? 'PASS' : 'FAIL'} ${door}: ${r.rule}${r.detail ? ` -- ${r.detail}` : ''}`);
      }
    };
    if (webUrl) print('web', await checkWeb(webUrl, timeoutMs ? { timeoutMs } : {}));
    if (apiUrl) print('api', await checkApi(apiUrl, { timeoutMs: apiTimeoutMs }));
    const failed = results.filter((r) => !r.pass).length;
    out(`${results.length - failed}/${results.length} rules pass`);
    if (values.json) out(JSON.stringify({ check: results }));
    return failed === 0 ? 0 : 1;
  },
});
