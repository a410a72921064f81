import { courseScenario } from '../../src/config/paths.js';
import { openDatabase } from '../../src/db/connect.js';
import { send } from '../../src/sim/http.js';
import { type Action, readScenario, toRequest } from '../../src/sim/scenario.js';

export const SCENARIO = courseScenario;

export interface Acked {
  action: Action;
  /** The API that answered with the accepted status. */
  via: string;
  /** True when the first try got a 503 (database moving) and it was sent again. */
  retried: boolean;
}

export interface TrackedReplay {
  acked: Acked[];
  /** Actions that never got an accepted status, with what they got instead. */
  failed: { action: Action; outcome: string }[];
}

/**
 * Replays the scenario like the course simulator, recording every acknowledged action. `url()`
 * says where each request goes (a test can switch it, as a load balancer would); on a 503
 * `onUnavailable()` is awaited and the action is sent once more, to wherever `url()` then points.
 */
export async function trackedReplay(options: {
  lines: number;
  url: () => string;
  beforeAction?: (index: number, acked: number) => void;
  onUnavailable?: () => Promise<void>;
}): Promise<TrackedReplay> {
  const result: TrackedReplay = { acked: [], failed: [] };
  let index = 0;
  for await (const action of readScenario(SCENARIO, { lines: options.lines })) {
    options.beforeAction?.(index++, result.acked.length);
    const request = toRequest(action);
    let retried = false;
    let via = options.url();
    // A generous timeout: the machine is shared; latency is not what this measures.
    let outcome = await send(via, request.method, request.path, request.body, { timeoutMs: 5000 });
    if (outcome.kind === 'status' && outcome.status === 503 && options.onUnavailable) {
      await options.onUnavailable();
      retried = true;
      via = options.url();
      outcome = await send(via, request.method, request.path, request.body, { timeoutMs: 5000 });
    }
    if (outcome.kind === 'status' && request.accepted.includes(outcome.status)) {
      result.acked.push({ action, via, retried });
    } else {
      const what = outcome.kind === 'status' ? `${outcome.status} ${outcome.body}` : outcome.kind;
      result.failed.push({ action, outcome: what });
    }
  }
  return result;
}

export interface State {
  users: Set<string>;
  /** `user\ttext` -> how many such messages. */
  tweets: Map<string, number>;
  /** `who\twhom` pairs. */
  follows: Set<string>;
  latest: number;
}

/** What the acknowledged actions imply, applied in order. */
export function expectedState(acked: Acked[]): State {
  const state: State = { users: new Set(), tweets: new Map(), follows: new Set(), latest: -1 };
  for (const { action } of acked) {
    state.latest = action.id;
    if (action.command === 'register') state.users.add(action.user);
    else if (action.command === 'tweet') {
      const key = `${action.user}\t${action.arg}`;
      state.tweets.set(key, (state.tweets.get(key) ?? 0) + 1);
    } else if (action.command === 'follow') state.follows.add(`${action.user}\t${action.arg}`);
    else state.follows.delete(`${action.user}\t${action.arg}`);
  }
  return state;
}

/** What a database holds, in the same terms. */
export async function actualState(url: string): Promise<State> {
  const handle = openDatabase(url, { poolMax: 2 });
  try {
    const db = handle.db;
    const users = await db.selectFrom('users').select('username').execute();
    const messages = await db
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.user_id', 'm.author_id')
      .select(['u.username', 'm.text'])
      .execute();
    const follows = await db
      .selectFrom('followers as f')
      .innerJoin('users as a', 'a.user_id', 'f.who_id')
      .innerJoin('users as b', 'b.user_id', 'f.whom_id')
      .select(['a.username as who', 'b.username as whom'])
      .execute();
    const latest = await db
      .selectFrom('settings')
      .select('value')
      .where('name', '=', 'latest')
      .executeTakeFirst();
    const tweets = new Map<string, number>();
    for (const m of messages) {
      const key = `${m.username}\t${m.text}`;
      tweets.set(key, (tweets.get(key) ?? 0) + 1);
    }
    return {
      users: new Set(users.map((u) => u.username)),
      tweets,
      follows: new Set(follows.map((f) => `${f.who}\t${f.whom}`)),
      latest: latest === undefined ? -1 : Number(latest.value),
    };
  } finally {
    await handle.close();
  }
}

/** Everything in `expected` that `actual` lacks, as readable lines (at most 10). */
export function missing(expected: State, actual: State): string[] {
  const out: string[] = [];
  for (const u of expected.users) if (!actual.users.has(u)) out.push(`user ${u}`);
  for (const [k, n] of expected.tweets) {
    if ((actual.tweets.get(k) ?? 0) < n) out.push(`message ${k.replace('\t', ': ')}`);
  }
  for (const f of expected.follows) if (!actual.follows.has(f)) out.push(`follow ${f}`);
  return out.slice(0, 10);
}

/** Runs an operator command as `minitwit` would, catching its error as exit code 1. */
export async function runCommand(
  command: import('../../src/cli/command.js').Command,
  positionals: string[],
  values: Record<string, string | boolean | undefined>,
) {
  const out: string[] = [];
  const err: string[] = [];
  let code: number;
  try {
    code = await command.run({
      positionals,
      values,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
  } catch (error) {
    err.push(error instanceof Error ? error.message : String(error));
    code = 1;
  }
  return { code, out, err };
}
