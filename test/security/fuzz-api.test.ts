import assert from 'node:assert/strict';
import { after, before, type TestContext, test } from 'node:test';
import { DEFAULT_SIM_API_AUTH } from '../../src/config/config.js';
import { SimClient } from '../helpers/clients.js';
import { forEachDatabase } from '../helpers/databases.js';
import { useServer } from '../helpers/server.js';
import { originalRows, prng, type Snapshot, snapshot, Tally } from './support.js';

/** How many generated requests per database; FUZZ_CASES overrides, FUZZ_SEED picks the run. */
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);

const ODD_STRINGS = [
  '\ud800',
  'x\udfffy',
  '\u202egnp.exe',
  'zero\u200bwidth',
  '\ufeffbom',
  '👩‍👩‍👧‍👦',
  'e\u0301\u0301\u0301\u0301',
  '\u0000',
  'nul\u0000inside',
  '\u001b[31mred',
  'line\u2028sep',
  'Ｆｕｌｌ',
  'İı',
  '漢字かな',
  '\uffff\ufffe',
  '   ',
  '\t\n\r',
  '%00',
  '../../etc/passwd',
  '{{7*7}}',
  '<script>alert(1)</script>',
  "'; DROP TABLE users; --",
  '🙂'.repeat(1200),
  'a'.repeat(1001),
  'b'.repeat(65),
  '-1',
  '1e309',
  '__proto__',
  'constructor',
];

const WRONG_TYPES: unknown[] = [
  0,
  -1,
  1.5,
  1e300,
  true,
  false,
  null,
  [],
  ['a'],
  {},
  { nested: { deeper: [1, 2, 3] } },
  [[[[[]]]]],
  Number.MAX_SAFE_INTEGER + 2,
];

type Rng = ReturnType<typeof prng>;

interface Case {
  category: string;
  method: string;
  path: string;
  body?: string | Uint8Array;
  contentType?: string | undefined;
}

const ENDPOINTS = [
  ['POST', '/register', ['username', 'email', 'pwd']],
  ['POST', '/msgs/{user}', ['content']],
  ['POST', '/fllws/{user}', ['follow', 'unfollow']],
  ['GET', '/msgs', []],
  ['GET', '/msgs/{user}', []],
  ['GET', '/fllws/{user}', []],
  ['GET', '/latest', []],
] as const;

function randomString(rng: Rng): string {
  if (rng.chance(0.5)) return rng.pick(ODD_STRINGS);
  const length = rng.int(40);
  let s = '';
  for (let i = 0; i < length; i++) {
    const plane = rng.int(4);
    const code =
      plane === 0
        ? 32 + rng.int(95)
        : plane === 1
          ? rng.int(0x3000)
          : plane === 2
            ? 0xd800 + rng.int(0x800)
            : rng.int(0x10ffff);
    s += String.fromCodePoint(code);
  }
  return s;
}

/** A value of any JSON type; never the name of a user stored before the fuzzing. */
function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 3 : 5)) {
    case 0:
      return randomString(rng);
    case 1:
      return rng.pick(WRONG_TYPES);
    case 2:
      return rng.chance(0.5) ? rng.int(1e9) - 5e8 : rng.next() * 1e20;
    case 3:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(4) }, () => [randomString(rng), randomValue(rng, depth + 1)]),
      );
  }
}

/** Percent-encodes `s`; lone surrogates cannot be, so they become invalid UTF-8 escapes. */
function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return `${encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x'))}%ED%A0%80%FF`;
  }
}

function userSegment(rng: Rng): string {
  if (rng.chance(0.4)) return rng.pick(['alice', 'bob']);
  return encode(randomString(rng)) || '%20';
}

function query(rng: Rng): string {
  const parts: string[] = [];
  const junk = () =>
    rng.pick([
      String(rng.int(1e6)),
      '-1',
      '-5',
      '1.5',
      '1e3',
      '99999999999999999999999',
      encode(randomString(rng)),
      '',
    ]);
  if (rng.chance(0.3)) parts.push(`no=${junk()}`);
  if (rng.chance(0.2)) parts.push(`no=${junk()}&no=${junk()}`);
  if (rng.chance(0.3)) parts.push(`latest=${junk()}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** One generated request. The category says which kind of abuse it is. */
function generate(rng: Rng): Case {
  const [method, template, fields] = rng.pick(ENDPOINTS);
  const path = template.replace('{user}', () => userSegment(rng)) + query(rng);
  const base: Case = { category: 'query and path', method, path, contentType: 'application/json' };
  if (method === 'GET') {
    // GETs: odd paths and queries; sometimes a body or another method.
    if (rng.chance(0.1))
      return { ...base, method: rng.pick(['PUT', 'DELETE', 'PATCH']), category: 'wrong method' };
    return base;
  }
  const valid = () =>
    Object.fromEntries(
      fields.map((f) => [f, f === 'email' ? `${randomString(rng)}@x` : randomString(rng)]),
    );
  switch (rng.int(6)) {
    case 0: {
      // Wrong types in each field, or a body that is not an object at all.
      const body: Record<string, unknown> = valid();
      for (const f of fields) if (rng.chance(0.6)) body[f] = rng.pick(WRONG_TYPES);
      const whole = rng.chance(0.2) ? rng.pick(WRONG_TYPES) : body;
      return { ...base, category: 'wrong types', body: JSON.stringify(whole) };
    }
    case 1: {
      // Huge values: long strings (some past the 64 KiB body limit), long arrays, deep nesting.
      const kind = rng.int(3);
      let body: string;
      if (kind === 0) {
        const f = rng.pick(fields);
        body = JSON.stringify({ ...valid(), [f]: 'x'.repeat(1000 + rng.int(100_000)) });
      } else if (kind === 1) {
        body = JSON.stringify({ ...valid(), [rng.pick(fields)]: Array(rng.int(20_000)).fill(1) });
      } else {
        const depth = 100 + rng.int(40_000);
        body = `${'['.repeat(depth)}${']'.repeat(rng.chance(0.5) ? depth : 0)}`;
      }
      return { ...base, category: 'huge values', body };
    }
    case 2: {
      // Broken JSON: truncated, garbage, invalid UTF-8, empty, comments, trailing data.
      const json = JSON.stringify(valid());
      const broken = rng.pick([
        () => json.slice(0, rng.int(json.length)),
        () => `${json}${randomString(rng)}`,
        () => `{"${rng.pick(fields)}": }`,
        () => '',
        () => '{/* comment */}',
        () => `\ufeff${json}`,
        () => json.replace(/"/g, "'"),
        () => Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0xc3, 0x28, 0x7d]),
        () => Uint8Array.from({ length: rng.int(200) }, () => rng.int(256)),
        () => '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}',
      ])();
      return { ...base, category: 'broken JSON', body: broken };
    }
    case 3: {
      // Odd Unicode in well-formed bodies: these reach the domain and may be stored.
      const body: Record<string, unknown> = valid();
      for (const f of fields)
        body[f] = rng.pick(ODD_STRINGS) + (rng.chance(0.5) ? randomString(rng) : '');
      if ('email' in body) body.email = `${body.email}@x.dk`;
      return { ...base, category: 'odd Unicode', body: JSON.stringify(body) };
    }
    case 4: {
      // A fine body under the wrong content type, or none.
      return {
        ...base,
        category: 'wrong content type',
        body: rng.chance(0.5)
          ? JSON.stringify(valid())
          : `${rng.pick(fields)}=${encode(randomString(rng))}`,
        contentType: rng.pick([
          undefined,
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/json; charset=utf-16',
          'multipart/form-data; boundary=x',
          'application/json, text/html',
          'APPLICATION/JSON',
        ]),
      };
    }
    default: {
      // Random values of any type, nested, in every field, plus unknown fields.
      const body: Record<string, unknown> = {};
      for (const f of fields) body[f] = randomValue(rng);
      body[randomString(rng)] = randomValue(rng);
      return { ...base, category: 'random structures', body: JSON.stringify(body) };
    }
  }
}

forEachDatabase('fuzzed simulator API bodies', (kind) => {
  const server = useServer(kind);
  let stored: Snapshot;
  const tally = new Tally();

  before(async () => {
    const api = new SimClient(server.apiUrl);
    for (const name of ['alice', 'bob', 'carol']) await api.register(name, `${name}@x.dk`, 'pw');
    await api.tweet('alice', 'first');
    await api.tweet('bob', 'second');
    await api.follow('alice', 'bob');
    await api.follow('carol', 'alice');
    stored = await snapshot(server.app);
  });
  after(async (t) => {
    tally.report(t as unknown as TestContext, `fuzzed API bodies, ${kind}, seed ${SEED}`);
  });

  test(`${CASES} generated requests: zero 5xx, every error in the JSON shape, no hash leaked`, async (t) => {
    const rng = prng(SEED);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (let i = 0; i < CASES; i++) {
      const c = generate(rng);
      const headers: Record<string, string> = { authorization: DEFAULT_SIM_API_AUTH };
      // Now and then a missing or mangled Authorization header.
      if (rng.chance(0.05))
        headers.authorization = rng.pick(['', 'Basic', `${DEFAULT_SIM_API_AUTH}=`]);
      if (c.contentType !== undefined) headers['content-type'] = c.contentType;
      let status: number;
      let text: string;
      try {
        const res = await fetch(`${server.apiUrl}${c.path}`, {
          method: c.method,
          headers,
          body: c.method === 'GET' ? undefined : c.body,
          signal: AbortSignal.timeout(10_000),
        });
        status = res.status;
        text = await res.text();
      } catch (error) {
        failures.push(`#${i} ${c.category} ${c.method} ${c.path}: ${String(error)}`);
        continue;
      }
      tally.add(c.category);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const what = `#${i} ${c.category} ${c.method} ${c.path.slice(0, 80)} -> ${status} ${text.slice(0, 120)}`;
      if (status >= 500) failures.push(what);
      else if (status >= 400) {
        let json: { status?: unknown; error_msg?: unknown } | undefined;
        try {
          json = JSON.parse(text);
        } catch {}
        if (
          json?.status !== status ||
          typeof json?.error_msg !== 'string' ||
          json.error_msg === ''
        ) {
          failures.push(`not the JSON error shape: ${what}`);
        }
      }
      if (text.includes('$argon2')) failures.push(`hash leaked: ${what}`);
    }
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures`);
    const histogram = [...statuses].sort(([a], [b]) => a - b);
    t.diagnostic(`statuses: ${histogram.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    // The generator reaches every layer: stored writes, reads, validation, parsing, limits.
    for (const expected of [200, 204, 400, 403, 404, 413, 415]) {
      assert.ok(statuses.has(expected), `no ${expected} among ${JSON.stringify(histogram)}`);
    }
  });

  test('the data stored before is unchanged and the API still works', async () => {
    const now = await snapshot(server.app);
    assert.deepEqual(originalRows(stored, now), stored);
    const originalUsers = new Set(stored.users.map((u) => u.user_id));
    const follows = (rows: Snapshot['followers']) =>
      rows.filter((f) => originalUsers.has(f.who_id) && originalUsers.has(f.whom_id));
    assert.deepEqual(follows(now.followers), follows(stored.followers));
    const api = new SimClient(server.apiUrl);
    assert.equal((await api.tweet('bob', 'still here')).status, 204);
    assert.equal((await api.get('/msgs/bob?no=1')).json[0].content, 'still here');
  });
});
