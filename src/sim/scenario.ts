import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export type Command = 'register' | 'tweet' | 'follow' | 'unfollow';

/**
 * One line of the course's scenario file: tab-separated
 * `id  delay_ms  timestamp_ms  command  user  arg  [pwd]`.
 */
export interface Action {
  id: number;
  delayMs: number;
  timestampMs: number;
  command: Command;
  user: string;
  /** The email (register), the text (tweet) or the other user (follow, unfollow). */
  arg: string;
  /** The password, register only. */
  pwd?: string;
}

const COMMANDS = new Set<string>(['register', 'tweet', 'follow', 'unfollow']);

export function parseScenarioLine(line: string): Action | undefined {
  const fields = line.replace(/\r$/, '').split('\t');
  const [id, delay, timestamp, command, user, arg, pwd] = fields;
  if (!id || !/^\d+$/.test(id) || !command || !COMMANDS.has(command) || user === undefined) {
    return undefined;
  }
  const action: Action = {
    id: Number(id),
    delayMs: Number(delay ?? 0) || 0,
    timestampMs: Number(timestamp ?? 0) || 0,
    command: command as Command,
    user,
    arg: arg ?? '',
  };
  if (command === 'register') action.pwd = pwd ?? '';
  return action;
}

/** How many actions the scenario file holds (at most `lines` when given): a total for progress. */
export async function countActions(file: string, options: { lines?: number } = {}) {
  let count = 0;
  for await (const _action of readScenario(file, options)) count++;
  return count;
}

/** The scenario's actions in file order, streamed; `lines` stops after that many. */
export async function* readScenario(file: string, options: { lines?: number } = {}) {
  const input = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let count = 0;
  try {
    for await (const line of input) {
      if (options.lines !== undefined && count >= options.lines) break;
      const action = parseScenarioLine(line);
      if (action) {
        count++;
        yield action;
      }
    }
  } finally {
    input.close();
  }
}

export interface SimRequest {
  method: 'POST';
  /** Path and query, percent-encoded, e.g. `/msgs/Roger%20Histand?latest=3`. */
  path: string;
  body: Record<string, string>;
  /** Statuses the course simulator accepts for this action. */
  accepted: number[];
}

/**
 * The request the course simulator sends for an action. `namespace` prefixes every username
 * (and email) so that several copies of the scenario can run against one server.
 */
export function toRequest(action: Action, namespace = ''): SimRequest {
  const name = (user: string) => `${namespace}${user}`;
  const user = encodeURIComponent(name(action.user));
  const latest = `?latest=${action.id}`;
  switch (action.command) {
    case 'register':
      return {
        method: 'POST',
        path: `/register${latest}`,
        body: {
          username: name(action.user),
          email: `${namespace}${action.arg}`,
          pwd: action.pwd ?? '',
        },
        accepted: [204, 400],
      };
    case 'tweet':
      return {
        method: 'POST',
        path: `/msgs/${user}${latest}`,
        body: { content: action.arg },
        accepted: [204],
      };
    case 'follow':
      return {
        method: 'POST',
        path: `/fllws/${user}${latest}`,
        body: { follow: name(action.arg) },
        accepted: [204],
      };
    case 'unfollow':
      return {
        method: 'POST',
        path: `/fllws/${user}${latest}`,
        body: { unfollow: name(action.arg) },
        accepted: [204],
      };
  }
}
