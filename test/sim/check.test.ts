import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { checkApi } from '../../src/sim/check.js';
import { main } from '../../src/sim/main.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';

/** Runs the CLI in-process and captures what it prints. */
async function runCli(args: string[]) {
  const lines: string[] = [];
  const errors: string[] = [];
  const code = await main(args, { out: (l) => lines.push(l), err: (l) => errors.push(l) });
  return { code, lines, errors };
}

forEachDatabase('sim --check against our server', (kind) => {
  const server = useServer(kind, { env: { LOG_LEVEL: 'warn' } });

  test('every contract rule passes, one PASS line each, exit 0', async () => {
    const { code, lines } = await runCli([server.apiUrl, '--check', '--timeout', '2000']);
    const verdicts = lines.filter((l) => /^(PASS|FAIL) /.test(l));
    assert.ok(verdicts.length >= 15, lines.join('\n'));
    assert.deepEqual(
      verdicts.filter((l) => l.startsWith('FAIL')),
      [],
    );
    assert.equal(lines.at(-1), `${verdicts.length}/${verdicts.length} rules pass`);
    assert.equal(code, 0);
  });
});

describe('sim --check against a broken server', () => {
  let fake: Server;
  let url: string;
  const seen: string[] = [];
  before(async () => {
    // Answers every request with 200 and an empty JSON object, as a careless rewrite might.
    fake = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => fake.close(() => resolve())));

  test('flags the rules it breaks and exits non-zero', async () => {
    const { code, lines } = await runCli([url, '--check']);
    assert.equal(code, 1);
    const failed = lines.filter((l) => l.startsWith('FAIL '));
    assert.ok(
      failed.some((l) => l.includes('POST /register answers 204') && l.includes('got 200')),
      failed.join('\n'),
    );
    assert.ok(failed.some((l) => l.includes('403')));
    assert.ok(failed.some((l) => l.includes('GET /latest answers 200')));
    assert.match(lines.at(-1) ?? '', /^0\/\d+ rules pass$/);
    assert.ok(seen.length > 10);
  });

  test('a replay against it counts every 200 to a POST as an error, in the course format', async () => {
    const { code, lines } = await runCli([url, '--lines', '5']);
    assert.equal(code, 1);
    const errors = lines.filter((l) => /^\d{4}-\d\d-\d\dT[^,]+,127\.0\.0\.1:\d+,\d+,/.test(l));
    // Line 0-2 and 4 are registrations (200 is not 204/400); line 3 is a tweet.
    assert.equal(errors.length, 5, lines.join('\n'));
    assert.match(errors[3] ?? '', /,3,200,tweet$/);
    assert.ok(lines.includes('errors: 5 (200: 5)'), lines.join('\n'));
  });

  test('a refused connection and a timeout are ConnectionError and ReadTimeout', async () => {
    const silent = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const slow = await runCli([`http://127.0.0.1:${port}`, '--lines', '1', '--timeout', '100']);
      assert.match(slow.lines[0] ?? '', /,0,ReadTimeout,register$/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
    const refused = await runCli([`http://127.0.0.1:${port}`, '--lines', '1']);
    assert.match(refused.lines[0] ?? '', /,0,ConnectionError,register$/);
    assert.equal(refused.code, 1);
  });

  test('checkApi reports probe details, not crashes', async () => {
    const results = await checkApi(url);
    assert.ok(results.every((r) => r.pass || (r.detail && !r.detail.startsWith('probe crashed'))));
  });
});

describe('sim CLI arguments', () => {
  test('a bad URL or option is a usage error (exit 2), --help exits 0', async () => {
    const bad = await runCli(['not a url']);
    assert.equal(bad.code, 2);
    assert.match(bad.errors.join('\n'), /"not a url" is not a URL/);
    assert.equal((await runCli(['http://127.0.0.1:1', '--speed', 'fast'])).code, 2);
    assert.equal((await runCli(['http://127.0.0.1:1', '--read-mix', 'everything=1'])).code, 2);
    assert.equal((await runCli(['--help'])).code, 0);
  });
});
