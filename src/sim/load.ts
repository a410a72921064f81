import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorLine, type Outcome, type SendOptions, send } from './http.js';
import { type Action, readScenario, toRequest } from './scenario.js';

/** The reads the load mode mixes in: three API listings and three web pages. */
export const READ_KINDS = ['msgs', 'msgs-user', 'fllws', 'public', 'user', 'home'] as const;
export type ReadKind = (typeof READ_KINDS)[number];

export interface LoadOptions extends SendOptions {
  scenario: string;
  /** Only the first N lines of the scenario. */
  lines?: number | undefined;
  /** Multiplies the scenario's delays; 0 replays at full speed. */
  speed?: number;
  /** Requests in flight at once (default 1: the course simulator's sequential replay). */
  concurrency?: number;
  /** Concurrent copies of the scenario, each with its own username prefix (default 1). */
  copies?: number;
  /** Username prefix; with several copies, each copy adds `c<k>-` to it. */
  namespace?: string | undefined;
  /** Read requests issued per scenario action (e.g. 0.5, or 3). */
  reads?: number;
  /** Relative weights of the reads. */
  readMix?: Partial<Record<ReadKind, number>>;
  /** The web app's base URL, needed for the web reads. */
  webUrl?: string | undefined;
  onError?: (line: string) => void;
  /**
   * Called for every scenario action once it has an answer (or failed): `accepted` says whether
   * the course simulator would count it as done. A test keeps what was acknowledged this way.
   */
  onAction?: (action: Action, namespace: string, outcome: Outcome, accepted: boolean) => void;
  /** Stops the stream: no new action or read starts once aborted; those in flight finish. */
  signal?: AbortSignal | undefined;
}

export interface KindResult {
  count: number;
  errors: number;
  latencies: number[];
}

export interface LoadResult {
  /** Scenario actions sent (all copies). */
  actions: number;
  /** Read requests sent. */
  reads: number;
  /** Of those, `home` reads sent with a web session (signed in as a scenario user). */
  signedInReads: number;
  errors: number;
  /** Errors by status code or failure kind (`ConnectionError`, `ReadTimeout`). */
  errorsByKind: Record<string, number>;
  /** Latencies (ms) of scenario actions and of reads. */
  actionLatencies: number[];
  readLatencies: number[];
  seconds: number;
}

/** Parses `msgs=2,public=1,...` into weights; unknown names are an error. */
export function parseReadMix(spec: string): Partial<Record<ReadKind, number>> {
  const mix: Partial<Record<ReadKind, number>> = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [name = '', weight = ''] = part.split('=');
    if (!(READ_KINDS as readonly string[]).includes(name)) {
      throw new Error(`unknown read "${name}" (known: ${READ_KINDS.join(', ')})`);
    }
    if (!/^\d+(\.\d+)?$/.test(weight)) throw new Error(`read weight "${part}" must be name=number`);
    mix[name as ReadKind] = Number(weight);
  }
  return mix;
}

export const DEFAULT_READ_MIX: Record<ReadKind, number> = {
  msgs: 2,
  'msgs-user': 2,
  fllws: 1,
  public: 1,
  user: 1,
  home: 1,
};

/**
 * Signs `username` in through the web form (a plain form post, as the course's own web tests
 * send it) and returns the Cookie header of the session, or undefined when the sign-in did not
 * work (another MiniTwit may have no such form): the `home` read then stays anonymous.
 */
export async function signIn(webUrl: string, username: string, password: string) {
  try {
    const jar = new Map<string, string>();
    const absorb = (res: Response) => {
      for (const line of res.headers.getSetCookie()) {
        const pair = line.split(';')[0] ?? '';
        const eq = pair.indexOf('=');
        if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
    };
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const form = new URLSearchParams({ username, password });
    const res = await fetch(new URL('/login', webUrl), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    absorb(res);
    return res.status >= 300 && res.status < 400 ? cookie() : undefined;
  } catch {
    return undefined;
  }
}

/** Limits how many requests are in flight. */
class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire() {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release() {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * Replays the scenario as the course simulator does (each request on a new connection, with
 * its headers, `?latest=<line id>` and 0.3 s timeout), optionally faster, with several
 * requests in flight, several namespaced copies, and a mix of reads.
 *
 * With concurrency above 1 the order that matters is kept: each user's actions run in
 * scenario order, and an action naming another user waits for that user's registration.
 */
export async function runLoad(apiUrl: string, options: LoadOptions): Promise<LoadResult> {
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const copies = Math.max(1, options.copies ?? 1);
  const speed = options.speed ?? 0;
  const readsPerAction = options.reads ?? 0;
  const mix = Object.entries(options.readMix ?? DEFAULT_READ_MIX).filter(
    ([kind, weight]) =>
      weight > 0 && (options.webUrl || !['public', 'user', 'home'].includes(kind)),
  ) as [ReadKind, number][];
  const mixTotal = mix.reduce((sum, [, w]) => sum + w, 0);
  const base = options.namespace ?? (copies > 1 ? `${randomBytes(3).toString('hex')}-` : '');
  const namespaces = Array.from({ length: copies }, (_, k) =>
    copies > 1 ? `${base}c${k}-` : base,
  );
  const host = new URL(apiUrl).host;

  const result: LoadResult = {
    actions: 0,
    reads: 0,
    signedInReads: 0,
    errors: 0,
    errorsByKind: {},
    actionLatencies: [],
    readLatencies: [],
    seconds: 0,
  };
  const slots = new Semaphore(concurrency);
  /** The last action of each (namespaced) user, and each user's registration. */
  const lastOf = new Map<string, Promise<void>>();
  const registrationOf = new Map<string, Promise<void>>();
  const registered: string[] = [];
  /** Passwords of registered users, and the web session of each user signed in for `home`. */
  const passwords = new Map<string, string>();
  const webSessions = new Map<string, Promise<string | undefined>>();
  const inFlight = new Set<Promise<void>>();
  let lastId = 0;
  let readCredit = 0;
  let mixCursor = 0;

  const fail = (latest: number, outcome: Outcome, command: string) => {
    const kind = outcome.kind === 'status' ? String(outcome.status) : outcome.kind;
    result.errors++;
    result.errorsByKind[kind] = (result.errorsByKind[kind] ?? 0) + 1;
    options.onError?.(errorLine(host, latest, outcome, command));
  };

  const track = (task: Promise<void>) => {
    inFlight.add(task);
    const done = () => inFlight.delete(task);
    task.then(done, done);
  };

  const runAction = async (action: Action, namespace: string, deps: Promise<void>[]) => {
    await Promise.all(deps);
    const request = toRequest(action, namespace);
    const outcome = await send(apiUrl, request.method, request.path, request.body, options);
    result.actions++;
    result.actionLatencies.push(outcome.ms);
    const accepted = outcome.kind === 'status' && request.accepted.includes(outcome.status);
    if (!accepted) fail(action.id, outcome, action.command);
    options.onAction?.(action, namespace, outcome, accepted);
    if (action.command === 'register') {
      registered.push(`${namespace}${action.user}`);
      passwords.set(`${namespace}${action.user}`, action.pwd ?? '');
    }
  };

  /** Deterministic weighted round-robin over the mix, so short runs still cover every kind. */
  const nextReadKind = (): ReadKind => {
    mixCursor = (mixCursor + 0.6180339887) % 1;
    let target = mixCursor * mixTotal;
    for (const [kind, weight] of mix) {
      if (target < weight) return kind;
      target -= weight;
    }
    return (mix.at(-1) as [ReadKind, number])[0];
  };

  const runRead = async (kind: ReadKind, user: string, latest: number) => {
    const u = encodeURIComponent(user);
    const web = options.webUrl ?? apiUrl;
    let cookie: string | undefined;
    if (kind === 'home' && options.webUrl) {
      let session = webSessions.get(user);
      if (!session) {
        session = signIn(options.webUrl, user, passwords.get(user) ?? '');
        webSessions.set(user, session);
      }
      cookie = await session;
    }
    const [baseUrl, path, accepted]: [string, string, number[]] = {
      msgs: [apiUrl, `/msgs?no=100&latest=${latest}`, [200]],
      'msgs-user': [apiUrl, `/msgs/${u}?no=100&latest=${latest}`, [200]],
      fllws: [apiUrl, `/fllws/${u}?no=100&latest=${latest}`, [200]],
      public: [web, '/public', [200]],
      user: [web, `/${u}`, [200]],
      // Signed in as `user`: 200; anonymous (the sign-in did not work): the redirect.
      home: [web, '/', cookie ? [200] : [302]],
    }[kind] as [string, string, number[]];
    const outcome = await send(baseUrl, 'GET', path, undefined, {
      ...options,
      ...(cookie ? { headers: { Cookie: cookie } } : {}),
    });
    result.reads++;
    if (cookie) result.signedInReads++;
    result.readLatencies.push(outcome.ms);
    if (!(outcome.kind === 'status' && accepted.includes(outcome.status))) {
      fail(latest, outcome, `GET ${path.split('?')[0]}`);
    }
  };

  const started = performance.now();
  let scheduled = 0;
  for await (const action of readScenario(options.scenario, { lines: options.lines })) {
    if (options.signal?.aborted) break;
    if (speed > 0 && action.delayMs > 0) {
      scheduled += action.delayMs * speed;
      const wait = started + scheduled - performance.now();
      if (wait > 0) await sleep(wait);
    }
    lastId = action.id;
    for (const namespace of namespaces) {
      const user = `${namespace}${action.user}`;
      const deps: Promise<void>[] = [];
      const previous = lastOf.get(user);
      if (previous) deps.push(previous);
      if (action.command === 'follow' || action.command === 'unfollow') {
        const target = registrationOf.get(`${namespace}${action.arg}`);
        if (target) deps.push(target);
      }
      await slots.acquire();
      const task = runAction(action, namespace, deps).finally(() => slots.release());
      track(task);
      lastOf.set(user, task);
      if (action.command === 'register') registrationOf.set(user, task);

      readCredit += readsPerAction;
      while (mixTotal > 0 && readCredit >= 1 && registered.length > 0) {
        readCredit--;
        const target = registered[Math.floor(Math.random() * registered.length)] as string;
        await slots.acquire();
        track(runRead(nextReadKind(), target, lastId).finally(() => slots.release()));
      }
    }
  }
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
