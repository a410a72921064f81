import { randomBytes } from 'node:crypto';
import { type Outcome, type SendOptions, send } from './http.js';

/** One contract rule (docs/contract.md §3) and whether the server kept it. */
export interface CheckResult {
  rule: string;
  pass: boolean;
  detail?: string;
}

class Failed extends Error {}

const FORBIDDEN = { status: 403, error_msg: 'You are not authorized to use this resource!' };

function describe(outcome: Outcome): string {
  if (outcome.kind !== 'status') return outcome.kind;
  const body = outcome.body.length > 120 ? `${outcome.body.slice(0, 120)}…` : outcome.body;
  return `${outcome.status} ${body}`;
}

function json(outcome: Outcome): unknown {
  if (outcome.kind !== 'status') return undefined;
  try {
    return JSON.parse(outcome.body);
  } catch {
    return undefined;
  }
}

function expectStatus(outcome: Outcome, statuses: number[], what: string) {
  if (outcome.kind !== 'status' || !statuses.includes(outcome.status)) {
    throw new Failed(`${what}: expected ${statuses.join(' or ')}, got ${describe(outcome)}`);
  }
}

function expectError(outcome: Outcome, status: number, what: string, message?: string) {
  expectStatus(outcome, [status], what);
  const body = json(outcome) as { status?: unknown; error_msg?: unknown } | undefined;
  if (body?.status !== status || typeof body.error_msg !== 'string') {
    throw new Failed(
      `${what}: body is not {"status": ${status}, "error_msg": …}: ${describe(outcome)}`,
    );
  }
  if (message !== undefined && body.error_msg !== message) {
    throw new Failed(`${what}: error_msg "${body.error_msg}", expected "${message}"`);
  }
}

function expectEmpty(outcome: Outcome, what: string) {
  expectStatus(outcome, [204], what);
  if (outcome.kind === 'status' && outcome.body !== '')
    throw new Failed(`${what}: 204 with a body`);
}

type Message = { content?: unknown; pub_date?: unknown; user?: unknown };

function messages(outcome: Outcome, what: string): Message[] {
  expectStatus(outcome, [200], what);
  const body = json(outcome);
  if (!Array.isArray(body)) throw new Failed(`${what}: not a JSON array: ${describe(outcome)}`);
  return body as Message[];
}

function follows(outcome: Outcome, what: string): string[] {
  expectStatus(outcome, [200], what);
  const body = json(outcome) as { follows?: unknown } | undefined;
  if (!Array.isArray(body?.follows)) {
    throw new Failed(`${what}: not {"follows": [...]}: ${describe(outcome)}`);
  }
  return body.follows as string[];
}

/**
 * Probes a simulator API for every rule of the contract's §3 that a client can observe, with
 * fresh users (`check-<random> …`). It writes: users, two messages, follows and `latest`.
 */
export async function checkApi(apiUrl: string, options: SendOptions = {}): Promise<CheckResult[]> {
  const tag = randomBytes(4).toString('hex');
  const alice = `check-${tag} Alice`;
  const bob = `check-${tag} Bob`;
  const ghost = `check-${tag} Nobody`;
  const u = encodeURIComponent;
  const call = (method: string, path: string, body?: unknown, auth?: string, rawBody?: string) =>
    send(apiUrl, method, path, body, {
      ...options,
      ...(auth === undefined ? {} : { auth }),
      ...(rawBody === undefined ? {} : { rawBody }),
    });
  const latest = async () => {
    const outcome = await call('GET', '/latest');
    expectStatus(outcome, [200], 'GET /latest');
    const value = (json(outcome) as { latest?: unknown } | undefined)?.latest;
    if (!Number.isInteger(value))
      throw new Failed(`GET /latest: not {"latest": <int>}: ${describe(outcome)}`);
    return value as number;
  };
  const base = 900_000_000 + Math.floor(Math.random() * 1_000_000);

  const rules: [string, () => Promise<void>][] = [
    [
      'GET /latest answers 200 {"latest": <int>} without auth',
      async () => {
        await latest();
      },
    ],
    [
      '?latest=<int> is stored and returned by GET /latest',
      async () => {
        expectStatus(await call('GET', `/latest?latest=${base}`), [200], 'GET /latest?latest=');
        const got = await latest();
        if (got !== base) throw new Failed(`latest is ${got}, expected ${base}`);
      },
    ],
    [
      '?latest is stored before auth (even a 403 request sets it)',
      async () => {
        const outcome = await call(
          'GET',
          `/msgs?latest=${base + 1}`,
          undefined,
          'Basic d3Jvbmc6d3Jvbmc=',
        );
        expectStatus(outcome, [403], 'GET /msgs with wrong auth');
        const got = await latest();
        if (got !== base + 1) throw new Failed(`latest is ${got}, expected ${base + 1}`);
      },
    ],
    [
      '?latest overwrites (a smaller id replaces a larger one)',
      async () => {
        await call('GET', `/latest?latest=${base - 5}`);
        const got = await latest();
        if (got !== base - 5) throw new Failed(`latest is ${got}, expected ${base - 5}`);
      },
    ],
    [
      '?latest that is not an integer, or -1, is ignored',
      async () => {
        await call('GET', `/latest?latest=${base}`);
        await call('GET', '/latest?latest=abc');
        await call('GET', '/latest?latest=-1');
        const got = await latest();
        if (got !== base) throw new Failed(`latest is ${got}, expected ${base} to be kept`);
      },
    ],
    [
      'missing or wrong auth on /msgs and /fllws is 403 with the exact error',
      async () => {
        for (const [method, path, body] of [
          ['GET', '/msgs'],
          ['GET', `/fllws/${u(alice)}`],
          ['POST', `/msgs/${u(alice)}`, { content: 'x' }],
        ] as [string, string, unknown][]) {
          const outcome = await call(method, path, body, '');
          expectError(outcome, 403, `${method} ${path} without auth`, FORBIDDEN.error_msg);
        }
      },
    ],
    [
      'POST /register answers 204 with an empty body',
      async () => {
        for (const name of [alice, bob]) {
          const outcome = await call('POST', `/register?latest=${base + 2}`, {
            username: name,
            email: `${tag}.${name.split(' ')[1]}@example.com`,
            pwd: 'p4ss]=)[word',
          });
          expectEmpty(outcome, `register ${name}`);
        }
      },
    ],
    [
      'POST /register errors are 400 with the web form texts, in order',
      async () => {
        const cases: [unknown, string][] = [
          [{ username: alice, email: 'a@b.c', pwd: 'x' }, 'The username is already taken'],
          [{ username: '', email: 'a@b.c', pwd: 'x' }, 'You have to enter a username'],
          [
            { username: `${ghost}2`, email: 'no-at-sign', pwd: 'x' },
            'You have to enter a valid email address',
          ],
          [{ username: `${ghost}3`, email: 'a@b.c', pwd: '' }, 'You have to enter a password'],
        ];
        for (const [body, message] of cases) {
          expectError(
            await call('POST', '/register', body),
            400,
            `register ${JSON.stringify(body)}`,
            message,
          );
        }
      },
    ],
    [
      'POST /msgs/<user> answers 204, and GET /msgs/<user> lists it newest first',
      async () => {
        expectEmpty(
          await call('POST', `/msgs/${u(alice)}`, { content: `first ${tag}` }),
          'first tweet',
        );
        expectEmpty(
          await call('POST', `/msgs/${u(alice)}`, { content: `second ${tag}` }),
          'second tweet',
        );
        const list = messages(await call('GET', `/msgs/${u(alice)}?no=10`), 'GET /msgs/<user>');
        const contents = list.map((m) => m.content);
        if (contents[0] !== `second ${tag}` || contents[1] !== `first ${tag}`) {
          throw new Failed(
            `expected ["second ${tag}", "first ${tag}"], got ${JSON.stringify(contents)}`,
          );
        }
        const first = list[0] as Message;
        if (first.user !== alice || !Number.isInteger(first.pub_date)) {
          throw new Failed(
            `a message must be {content, pub_date: <int>, user}: ${JSON.stringify(first)}`,
          );
        }
      },
    ],
    [
      "GET /msgs lists everyone's messages newest first and honours ?no=",
      async () => {
        const list = messages(await call('GET', '/msgs?no=1'), 'GET /msgs?no=1');
        if (list.length !== 1) throw new Failed(`?no=1 gave ${list.length} messages`);
        const all = messages(await call('GET', '/msgs'), 'GET /msgs');
        if (all.length > 100) throw new Failed(`default no is 100, got ${all.length}`);
      },
    ],
    [
      'GET/POST /msgs/<unknown> and GET /fllws/<unknown> are 404, never 500',
      async () => {
        expectStatus(await call('GET', `/msgs/${u(ghost)}`), [404], 'GET /msgs/<unknown>');
        expectStatus(
          await call('POST', `/msgs/${u(ghost)}`, { content: 'x' }),
          [404],
          'POST /msgs/<unknown>',
        );
        expectStatus(await call('GET', `/fllws/${u(ghost)}`), [404], 'GET /fllws/<unknown>');
      },
    ],
    [
      'POST /fllws follow answers 204 and GET /fllws/<user> lists it',
      async () => {
        expectEmpty(await call('POST', `/fllws/${u(alice)}`, { follow: bob }), 'follow');
        const list = follows(await call('GET', `/fllws/${u(alice)}`), 'GET /fllws/<user>');
        if (!list.includes(bob)) throw new Failed(`follows ${JSON.stringify(list)} lack "${bob}"`);
      },
    ],
    [
      'POST /fllws unfollow answers 204, also for a user not followed',
      async () => {
        expectEmpty(await call('POST', `/fllws/${u(alice)}`, { unfollow: bob }), 'unfollow');
        const list = follows(await call('GET', `/fllws/${u(alice)}`), 'GET /fllws/<user>');
        if (list.includes(bob)) throw new Failed(`"${bob}" still followed after unfollow`);
        expectEmpty(await call('POST', `/fllws/${u(alice)}`, { unfollow: bob }), 'unfollow again');
      },
    ],
    [
      'POST /fllws with both follow and unfollow: follow wins',
      async () => {
        expectEmpty(
          await call('POST', `/fllws/${u(bob)}`, { follow: alice, unfollow: alice }),
          'both',
        );
        const list = follows(await call('GET', `/fllws/${u(bob)}`), 'GET /fllws/<user>');
        if (!list.includes(alice)) throw new Failed(`"${alice}" not followed: follow must win`);
      },
    ],
    [
      'POST /fllws naming an unknown target is 404',
      async () => {
        expectStatus(
          await call('POST', `/fllws/${u(alice)}`, { follow: ghost }),
          [404],
          'follow <unknown>',
        );
      },
    ],
    [
      'malformed JSON and wrong-typed fields are 4xx with the JSON error shape',
      async () => {
        const raw = await call('POST', `/msgs/${u(alice)}`, undefined, undefined, '{"content": ');
        if (raw.kind !== 'status' || raw.status < 400 || raw.status > 499) {
          throw new Failed(
            `POST /msgs/<user> with broken JSON: expected 4xx, got ${describe(raw)}`,
          );
        }
        const typed = await call('POST', `/msgs/${u(alice)}`, { content: 42 });
        if (typed.kind !== 'status' || typed.status < 400 || typed.status > 499) {
          throw new Failed(`"content": 42: expected 4xx, got ${describe(typed)}`);
        }
        const body = json(typed) as { status?: unknown; error_msg?: unknown } | undefined;
        if (body?.status !== typed.status || typeof body.error_msg !== 'string') {
          throw new Failed(`"content": 42: body is not {status, error_msg}: ${describe(typed)}`);
        }
      },
    ],
  ];

  const results: CheckResult[] = [];
  for (const [rule, probe] of rules) {
    try {
      await probe();
      results.push({ rule, pass: true });
    } catch (error) {
      const detail = error instanceof Failed ? error.message : `probe crashed: ${String(error)}`;
      results.push({ rule, pass: false, detail });
    }
  }
  return results;
}
