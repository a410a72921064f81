import { errorLine, type Outcome, type SendOptions, send } from './http.js';
import { type Action, readScenario, toRequest } from './scenario.js';

export interface ReplayOptions extends SendOptions {
  scenario: string;
  /** Only the first N lines. */
  lines?: number;
  /** Prefix for usernames, so that copies of the scenario do not collide. */
  namespace?: string;
  /** Called for each failed action with the course's error line. */
  onError?: (line: string, action: Action, outcome: Outcome) => void;
}

export interface ReplayResult {
  actions: number;
  errors: number;
  /** Errors by status code or failure kind. */
  errorsByKind: Record<string, number>;
  /** Latency of every action in milliseconds, in the order they ran. */
  latencies: number[];
}

/** Replays the scenario sequentially against a simulator API, as the course simulator does. */
export async function replay(apiUrl: string, options: ReplayOptions): Promise<ReplayResult> {
  const result: ReplayResult = { actions: 0, errors: 0, errorsByKind: {}, latencies: [] };
  const host = new URL(apiUrl).host;
  for await (const action of readScenario(options.scenario, { lines: options.lines })) {
    const request = toRequest(action, options.namespace);
    const outcome = await send(apiUrl, request.method, request.path, request.body, options);
    result.actions++;
    result.latencies.push(outcome.ms);
    const ok = outcome.kind === 'status' && request.accepted.includes(outcome.status);
    if (!ok) {
      const kind = outcome.kind === 'status' ? String(outcome.status) : outcome.kind;
      result.errors++;
      result.errorsByKind[kind] = (result.errorsByKind[kind] ?? 0) + 1;
      options.onError?.(errorLine(host, action.id, outcome, action.command), action, outcome);
    }
  }
  return result;
}
