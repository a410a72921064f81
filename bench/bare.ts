// The bare program the ratio phase measures MiniTwit against: the simulator API's hot paths and
// the web /public page on node:http and the same drivers (better-sqlite3, pg), written as a
// competent hand would for the same semantics and nothing more: `?latest=` stored first, the
// exact Authorization header, the user looked up, the action, 204. No framework, no logs, no
// metrics, no security headers, no limits: the floor of the work, not a server to deploy.
//
// Run as a process of its own: `node dist/bench/bare.js <database-url> <api-port> <web-port>`
// (0 picks free ports); it prints `{"api": port, "web": port}` once listening and stops on
// SIGTERM. The database must already hold MiniTwit's schema (MiniTwit migrates it).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { avatarOf, exactDate, formatDate, relativeTime } from '../src/web/render.js';

/** One timeline row, as both databases return it. */
interface Row {
  message_id: number;
  text: string;
  pub_date: number;
  username: string;
  email: string;
}

/** What a request needs from the database; each call is one transaction or one statement. */
interface BareDb {
  /** Stores `latest` (when given), then inserts the message of `username`; false: no such user. */
  tweet(latest: number | undefined, username: string, text: string, now: number): Promise<boolean>;
  /** Stores `latest`, then follows (or unfollows) `target`; which user is missing, if any. */
  follow(
    latest: number | undefined,
    username: string,
    target: string,
    unfollow: boolean,
  ): Promise<'who' | 'whom' | undefined>;
  latest(latest: number): Promise<void>;
  publicRows(latest: number | undefined, limit: number): Promise<Row[]>;
  /** undefined: no such user. */
  userRows(latest: number | undefined, username: string, limit: number): Promise<Row[] | undefined>;
  follows(
    latest: number | undefined,
    username: string,
    limit: number,
  ): Promise<string[] | undefined>;
  close(): Promise<void>;
}

const SELECT = 'select m.message_id, m.text, m.pub_date, u.username, u.email';

function sqliteDb(path: string): BareDb {
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const setLatest = db.prepare(
    "insert into settings (name, value) values ('latest', ?) on conflict (name) do update set value = excluded.value",
  );
  const userId = db.prepare('select user_id from users where username = ?').pluck();
  const insertMessage = db.prepare(
    'insert into messages (author_id, text, pub_date, flagged) values (?, ?, ?, 0)',
  );
  const insertFollow = db.prepare(
    'insert into followers (who_id, whom_id) values (?, ?) on conflict do nothing',
  );
  const deleteFollow = db.prepare('delete from followers where who_id = ? and whom_id = ?');
  const publicRows = db.prepare(
    `${SELECT} from messages m join users u on u.user_id = m.author_id where m.flagged = 0 order by m.message_id desc limit ?`,
  );
  const userRows = db.prepare(
    `${SELECT} from messages m join users u on u.user_id = m.author_id where m.author_id = ? and m.flagged = 0 order by m.message_id desc limit ?`,
  );
  const follows = db
    .prepare(
      'select u.username from followers f join users u on u.user_id = f.whom_id where f.who_id = ? order by f.whom_id limit ?',
    )
    .pluck();
  const store = (latest: number | undefined) => {
    if (latest !== undefined) setLatest.run(latest);
  };
  const tweet = db.transaction(
    (latest: number | undefined, name: string, text: string, now: number) => {
      store(latest);
      const id = userId.get(name) as number | undefined;
      if (id === undefined) return false;
      insertMessage.run(id, text, now);
      return true;
    },
  );
  const follow = db.transaction(
    (latest: number | undefined, name: string, target: string, unfollow: boolean) => {
      store(latest);
      const who = userId.get(name) as number | undefined;
      if (who === undefined) return 'who' as const;
      const whom = userId.get(target) as number | undefined;
      if (whom === undefined) return 'whom' as const;
      (unfollow ? deleteFollow : insertFollow).run(who, whom);
      return undefined;
    },
  );
  const read = <T>(latest: number | undefined, run: () => T): T => {
    if (latest === undefined) return run();
    return db.transaction(() => {
      store(latest);
      return run();
    })();
  };
  return {
    tweet: async (latest, name, text, now) => tweet(latest, name, text, now),
    follow: async (latest, name, target, unfollow) => follow(latest, name, target, unfollow),
    latest: async (latest) => {
      setLatest.run(latest);
    },
    publicRows: async (latest, limit) => read(latest, () => publicRows.all(limit) as Row[]),
    userRows: async (latest, name, limit) =>
      read(latest, () => {
        const id = userId.get(name) as number | undefined;
        return id === undefined ? undefined : (userRows.all(id, limit) as Row[]);
      }),
    follows: async (latest, name, limit) =>
      read(latest, () => {
        const id = userId.get(name) as number | undefined;
        return id === undefined ? undefined : (follows.all(id, limit) as string[]);
      }),
    close: async () => {
      db.close();
    },
  };
}

function postgresDb(url: string): BareDb {
  // pg returns bigint as text: pub_date is a bigint.
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20
          ? (v: string) => Number(v)
          : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format)) as never,
    },
  });
  // A connection cut while idle (its database dropped, say) is the next query's problem.
  pool.on('error', () => {});
  // The `latest` upsert as a CTE in front of each statement: one round trip per request.
  const LATEST =
    "l as (insert into settings (name, value) select 'latest', $1::bigint where $1::bigint is not null on conflict (name) do update set value = excluded.value)";
  const q = async <T extends pg.QueryResultRow>(name: string, text: string, values: unknown[]) =>
    (await pool.query<T>({ name, text, values })).rows;
  return {
    async tweet(latest, name, text, now) {
      const rows = await q(
        'bare_tweet',
        `with ${LATEST}, u as (select user_id from users where username = $2)
         insert into messages (author_id, text, pub_date, flagged) select user_id, $3, $4, 0 from u returning message_id`,
        [latest ?? null, name, text, now],
      );
      return rows.length > 0;
    },
    async follow(latest, name, target, unfollow) {
      const action = unfollow
        ? 'a as (delete from followers f using w, t where f.who_id = w.user_id and f.whom_id = t.user_id)'
        : 'a as (insert into followers (who_id, whom_id) select w.user_id, t.user_id from w, t on conflict do nothing)';
      const rows = await q<{ who: number | null; whom: number | null }>(
        unfollow ? 'bare_unfollow' : 'bare_follow',
        `with ${LATEST}, w as (select user_id from users where username = $2),
         t as (select user_id from users where username = $3), ${action}
         select (select user_id from w) as who, (select user_id from t) as whom`,
        [latest ?? null, name, target],
      );
      const row = rows[0];
      if (row?.who === null || row?.who === undefined) return 'who';
      if (row.whom === null) return 'whom';
      return undefined;
    },
    async latest(latest) {
      await q('bare_latest', `with ${LATEST} select 1`, [latest]);
    },
    async publicRows(latest, limit) {
      return q<Row>(
        'bare_public',
        `with ${LATEST} ${SELECT} from messages m join users u on u.user_id = m.author_id
         where m.flagged = 0 order by m.message_id desc limit $2`,
        [latest ?? null, limit],
      );
    },
    async userRows(latest, name, limit) {
      // The user's id comes back with the rows; no row at all means no such user.
      const rows = await q<Row & { found: number | null }>(
        'bare_user',
        `with ${LATEST}, w as (select user_id from users where username = $2)
         select w.user_id as found, m.message_id, m.text, m.pub_date, u.username, u.email
         from w left join lateral (select * from messages m where m.author_id = w.user_id and m.flagged = 0
           order by m.message_id desc limit $3) m on true
         left join users u on u.user_id = m.author_id order by m.message_id desc`,
        [latest ?? null, name, limit],
      );
      if (rows.length === 0) return undefined;
      return rows.filter((r) => r.message_id !== null);
    },
    async follows(latest, name, limit) {
      const rows = await q<{ found: number; username: string | null }>(
        'bare_follows',
        `with ${LATEST}, w as (select user_id from users where username = $2)
         select w.user_id as found, x.username from w left join lateral (
           select u.username, f.whom_id from followers f join users u on u.user_id = f.whom_id
           where f.who_id = w.user_id order by f.whom_id limit $3) x on true order by x.whom_id`,
        [latest ?? null, name, limit],
      );
      if (rows.length === 0) return undefined;
      return rows.flatMap((r) => (r.username === null ? [] : [r.username]));
    },
    close: () => pool.end(),
  };
}

// ---- HTTP ----

function parseLatest(raw: string | null): number | undefined {
  if (raw === null || !/^-?\d{1,16}$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value !== -1 ? value : undefined;
}

function send(
  res: ServerResponse,
  status: number,
  body?: string,
  type = 'application/json; charset=utf-8',
) {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const error = (res: ServerResponse, status: number, message: string) =>
  send(res, status, JSON.stringify({ status, error_msg: message }));

const notFound = (res: ServerResponse, name: string) => error(res, 404, `User "${name}" not found`);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => done(body));
    req.on('error', fail);
  });
}

/** The JSON body's string field, '' when missing or null; undefined when it is not a string. */
function field(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown>)[name];
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : undefined;
}

const noOf = (raw: string | null) => (raw ? Math.min(Number(raw), 10_000) : 100);
const asJson = (rows: Row[]) =>
  JSON.stringify(rows.map((m) => ({ content: m.text, pub_date: m.pub_date, user: m.username })));

/** The simulator API's hot paths; anything else is a 404. */
function apiHandler(db: BareDb, auth: string) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const latest = parseLatest(query.get('latest'));
    const raw = await readBody(req);
    if (req.headers.authorization !== auth) {
      if (latest !== undefined) await db.latest(latest);
      return error(res, 403, 'You are not authorized to use this resource!');
    }
    const slash = path.indexOf('/', 1);
    const head = slash < 0 ? path : path.slice(0, slash);
    let name = '';
    if (slash >= 0) {
      try {
        name = decodeURIComponent(path.slice(slash + 1));
      } catch {
        return error(res, 400, 'bad path');
      }
    }
    const no = query.get('no');
    if (no !== null && !/^\d*$/.test(no)) {
      if (latest !== undefined) await db.latest(latest);
      return error(res, 400, '"no" must be a whole number of messages, 0 or more');
    }
    if (req.method === 'GET' && path === '/msgs') {
      return send(res, 200, asJson(await db.publicRows(latest, noOf(no))));
    }
    if (req.method === 'GET' && head === '/msgs' && name) {
      const rows = await db.userRows(latest, name, noOf(no));
      return rows ? send(res, 200, asJson(rows)) : notFound(res, name);
    }
    if (req.method === 'GET' && head === '/fllws' && name) {
      const follows = await db.follows(latest, name, noOf(no));
      return follows ? send(res, 200, JSON.stringify({ follows })) : notFound(res, name);
    }
    if (req.method === 'POST' && (head === '/msgs' || head === '/fllws') && name) {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        if (latest !== undefined) await db.latest(latest);
        return error(res, 400, 'The request body must be a JSON object');
      }
      if (head === '/msgs') {
        const content = field(body, 'content');
        if (!content) {
          if (latest !== undefined) await db.latest(latest);
          return error(res, 400, '"content" must be a non-empty string');
        }
        const ok = await db.tweet(latest, name, content, Math.floor(Date.now() / 1000));
        return ok ? send(res, 204) : notFound(res, name);
      }
      const follow = field(body, 'follow');
      const unfollow = field(body, 'unfollow');
      if (!follow && !unfollow) {
        if (latest !== undefined) await db.latest(latest);
        return error(res, 400, 'The body must name a user as "follow" or "unfollow"');
      }
      const target = (follow || unfollow) as string;
      const missing = await db.follow(latest, name, target, !follow);
      if (missing === 'who') return notFound(res, name);
      if (missing === 'whom') return notFound(res, target);
      return send(res, 204);
    }
    if (latest !== undefined) await db.latest(latest);
    return error(res, 404, 'No such endpoint');
  };
}

// ---- the /public page: the same bytes as MiniTwit's ----

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
  "'": '&#39;',
};
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

const PAGE_HEAD = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Public Timeline | MiniTwit</title>
  <link rel="stylesheet" href="/static/style.css">
</head>
<body>
  <header class="topbar">
   <div class="topbar-inner">
    <a class="logo" href="/public"><span aria-hidden="true">◆</span> MiniTwit</a>
    <nav aria-label="Main">
      <a href="/public">public timeline</a>
      <a href="/search">search</a>
      <a href="/register">sign up</a>
      <a href="/login">sign in</a>
    </nav>
   </div>
  </header>
  <main class="page">
<h1>Public Timeline</h1>
`;
const PAGE_TAIL = `  </main>
  <footer class="footer">MiniTwit &middot; short messages, newest first</footer>
</body>
</html>
`;

function publicPage(rows: Row[]): string {
  const shown = rows.slice(0, 30);
  let html = PAGE_HEAD;
  if (shown.length === 0) {
    html += `<p class="empty">There's no message so far.</p>\n`;
  } else {
    html += '<ol class="messages">\n';
    const now = Math.floor(Date.now() / 1000);
    for (const m of shown) {
      // The avatar, the times and the date text are MiniTwit's own pure helpers: what is
      // measured here is the request path around them, not a second copy of them.
      const avatar = avatarOf(m.username, m.email, 'minitwit');
      const iso = new Date(m.pub_date * 1000).toISOString();
      html += `  <li class="message">
    <span class="avatar" aria-hidden="true"><svg viewBox="0 0 48 48" focusable="false"><circle cx="24" cy="24" r="24" fill="${avatar.colour}"/><text x="24" y="24" dy=".35em" text-anchor="middle" fill="#ffffff" font-size="${avatar.initials.length > 1 ? 18 : 22}" font-weight="700" font-family="system-ui, sans-serif">${esc(avatar.initials)}</text></svg></span>
    <div class="message-body">
      <p class="meta"><a class="author" href="${esc(`/${encodeURIComponent(m.username)}`)}">${esc(m.username)}</a> <time datetime="${iso}" title="${exactDate(m.pub_date)}">${formatDate(m.pub_date)} UTC</time> <span class="ago">(${esc(relativeTime(m.pub_date, now))})</span></p>
      <p class="text">${esc(m.text)}</p>
    </div>
  </li>
`;
    }
    html += '</ol>\n';
  }
  if (rows.length > 30) {
    html += `<nav class="pager" aria-label="Pages">
  <a class="older" rel="next" href="?before=${(shown.at(-1) as Row).message_id}">Older messages &rarr;</a>
</nav>
`;
  }
  return html + PAGE_TAIL;
}

function webHandler(db: BareDb) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.method === 'GET' && req.url === '/public') {
      const rows = await db.publicRows(undefined, 31);
      return send(res, 200, publicPage(rows), 'text/html; charset=utf-8');
    }
    return send(res, 404, 'not found', 'text/plain');
  };
}

export interface Bare {
  apiUrl: string;
  webUrl: string;
  close(): Promise<void>;
}

/**
 * Starts the bare API and web servers over `databaseUrl` (sqlite:<path> or postgres://…) on
 * 127.0.0.1; `auth` is the exact Authorization header the simulator sends.
 */
export async function startBare(
  databaseUrl: string,
  auth: string,
  ports: { api?: number; web?: number } = {},
): Promise<Bare> {
  const db = databaseUrl.startsWith('sqlite:')
    ? sqliteDb(databaseUrl.slice('sqlite:'.length).replace(/^\/\//, ''))
    : postgresDb(databaseUrl);
  const serve = (handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) =>
    createServer((req, res) => {
      handler(req, res).catch((e: unknown) => {
        if (!res.headersSent) error(res, 500, String(e));
      });
    });
  const listen = (server: Server, port: number) =>
    new Promise<number>((done) =>
      server.listen(port, '127.0.0.1', () => done((server.address() as AddressInfo).port)),
    );
  const api = serve(apiHandler(db, auth));
  const web = serve(webHandler(db));
  const apiPort = await listen(api, ports.api ?? 0);
  const webPort = await listen(web, ports.web ?? 0);
  const closeServer = (s: Server) =>
    new Promise<void>((done) => {
      s.close(() => done());
      s.closeAllConnections();
    });
  return {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    webUrl: `http://127.0.0.1:${webPort}`,
    async close() {
      await Promise.all([closeServer(api), closeServer(web)]);
      await db.close();
    },
  };
}

if (process.argv[1]?.endsWith('bare.js') && process.argv[2]) {
  const [url, api, web] = process.argv.slice(2);
  const auth = process.env.SIM_API_AUTH ?? '';
  const bare = await startBare(url as string, auth, {
    api: Number(api ?? 0),
    web: Number(web ?? 0),
  });
  process.stdout.write(`${JSON.stringify({ api: bare.apiUrl, web: bare.webUrl })}\n`);
  process.on('SIGTERM', () => void bare.close().then(() => process.exit(0)));
}
