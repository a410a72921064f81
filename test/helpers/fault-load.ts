import { setTimeout as sleep } from 'node:timers/promises';
import { SIM_HEADERS } from './clients.js';

/** One request of the load and what came of it. */
export interface Outcome {
  kind: 'post' | 'read' | 'latest';
  /** The HTTP status, or why there was none: the client's timeout or a network error. */
  status: number | 'timeout' | 'network';
  /** Time to the answer (or to the failure), in ms: for benchmarks, never asserted by tests. */
  ms: number;
  /** When the request started (ms since the epoch). */
  at: number;
  retryAfter: string | null;
  body: string;
  /** For a post: the message text it carried. */
  content?: string;
}

export interface LoadOptions {
  /** Requests in flight at once. */
  concurrency: number;
  /** The user the load posts as (registered beforehand). */
  user: string;
  /** The client's patience, in ms: generous, so that a slow answer is not taken for none. */
  timeoutMs?: number;
  /** A short pause between one client's requests, in ms (0 by default). */
  pauseMs?: number;
}

/**
 * Simulator-style traffic against the API for fault tests and benchmarks: each client in turn
 * posts a message with ?latest=, reads /msgs and reads /latest, and every request's outcome is
 * kept. `acknowledged()` lists the messages the API said it stored (204).
 */
export class FaultLoad {
  readonly outcomes: Outcome[] = [];
  private running = false;
  private clients: Promise<void>[] = [];
  private sequence = 0;

  constructor(
    readonly apiUrl: string,
    readonly options: LoadOptions,
  ) {}

  start(): this {
    this.running = true;
    for (let i = 0; i < this.options.concurrency; i++) this.clients.push(this.client(i));
    return this;
  }

  async stop(): Promise<Outcome[]> {
    this.running = false;
    await Promise.all(this.clients);
    this.clients = [];
    return this.outcomes;
  }

  /** Outcomes of requests started in [from, to). */
  between(from: number, to = Number.POSITIVE_INFINITY): Outcome[] {
    return this.outcomes.filter((o) => o.at >= from && o.at < to);
  }

  /** The texts of the messages the API acknowledged (204). */
  acknowledged(): string[] {
    return this.outcomes
      .filter((o) => o.kind === 'post' && o.status === 204 && o.content)
      .map((o) => o.content as string);
  }

  private async client(index: number) {
    for (let turn = 0; this.running; turn++) {
      const step = turn % 3;
      if (step === 0) await this.post(index);
      else if (step === 1) await this.request('read', '/msgs?no=5');
      else await this.request('latest', '/latest');
      if (this.options.pauseMs) await sleep(this.options.pauseMs);
    }
  }

  private post(index: number) {
    const n = ++this.sequence;
    const content = `load ${index}-${n}-${Date.now()}`;
    return this.request(
      'post',
      `/msgs/${encodeURIComponent(this.options.user)}?latest=${n}`,
      content,
    );
  }

  private async request(kind: Outcome['kind'], path: string, content?: string) {
    const at = Date.now();
    const started = performance.now();
    const outcome: Outcome = { kind, status: 'network', ms: 0, at, retryAfter: null, body: '' };
    if (content !== undefined) outcome.content = content;
    try {
      const res = await fetch(`${this.apiUrl}${path}`, {
        method: content === undefined ? 'GET' : 'POST',
        headers: SIM_HEADERS,
        ...(content === undefined ? {} : { body: JSON.stringify({ content }) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
      outcome.body = await res.text();
      outcome.status = res.status;
      outcome.retryAfter = res.headers.get('retry-after');
    } catch (error) {
      const name = (error as { name?: string }).name;
      outcome.status = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network';
      outcome.body = error instanceof Error ? error.message : String(error);
    }
    outcome.ms = performance.now() - started;
    this.outcomes.push(outcome);
    if (outcome.status === 'network') await sleep(20);
  }
}

/** Counts of outcomes by status, e.g. { 204: 120, 503: 40 }. */
export function statusCounts(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[String(o.status)] = (counts[String(o.status)] ?? 0) + 1;
  return counts;
}

/** Polls `url` until its status is `status` (or throws after `timeoutMs`); returns the body. */
export async function waitForStatus(url: string, status: number, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      const body = await res.text();
      if (res.status === status) return body;
      last = `${res.status} ${body.slice(0, 200)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}
