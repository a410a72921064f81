import type { Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.js';

/** What shutdown needs of a running MiniTwit (createApp's App is one). */
export interface Drainable {
  /** Its readiness: `draining` set to true makes /readyz answer 503. */
  health: { draining: boolean };
  logger: Logger;
  /** The two front doors, whose listeners close first. */
  web: { server: Server };
  api: { server: Server };
  /** Closes the doors (after requests in flight) and the database. */
  close(): Promise<void>;
}

export interface ShutdownOptions {
  /** Keep serving this long after /readyz turns 503, so that load balancers stop sending. */
  delayMs: number;
  /** Then let requests in flight finish for at most this long before cutting connections. */
  graceMs: number;
  /**
   * The doors' new connections, watched from before they listened: then shutdown waits only
   * while a connection accepted in the last ACCEPT_SETTLE_MS is still sending its first
   * request, instead of always waiting ACCEPT_SETTLE_MS.
   */
  connections?: ConnectionWatch;
}

/**
 * How long connections accepted just before the listeners closed get to deliver their request.
 * Node's HTTP close() ends every connection that has no request in progress, which includes one
 * accepted a moment ago whose request bytes are still on their way: for a POST that a proxy has
 * already sent, that is an error the proxy must not retry (nginx answers 502).
 */
export const ACCEPT_SETTLE_MS = 250;

/**
 * Connections of HTTP servers that have not yet delivered their first request: each is
 * remembered from its `connection` event until its first `request` event (or its close).
 */
export class ConnectionWatch {
  private readonly waiting = new Map<Socket, number>();

  constructor(servers: Server[]) {
    for (const server of servers) {
      server.on('connection', (socket: Socket) => {
        this.waiting.set(socket, performance.now());
        socket.once('close', () => this.waiting.delete(socket));
      });
      server.on('request', (request: { socket: Socket }) => this.waiting.delete(request.socket));
    }
  }

  /**
   * Resolves once no connection accepted less than `settleMs` ago is still waiting for its
   * first request: at once when there is none (the usual case), else after at most `settleMs`.
   */
  async settled(settleMs: number): Promise<void> {
    for (;;) {
      const now = performance.now();
      let youngest = Number.NEGATIVE_INFINITY;
      for (const acceptedAt of this.waiting.values()) youngest = Math.max(youngest, acceptedAt);
      const left = youngest + settleMs - now;
      if (left <= 0) return;
      await sleep(Math.min(left, 10));
    }
  }
}

export interface ShutdownReport {
  /** True when requests were still running after the grace period and were cut. */
  forced: boolean;
}

/**
 * The graceful end of one server process: not ready → (delay) → stop accepting → (settle: let
 * connections accepted in the last ACCEPT_SETTLE_MS deliver their request) → close idle
 * keep-alive connections → wait for requests in flight (bounded) → close the database.
 */
export async function shutdownGracefully(
  app: Drainable,
  options: ShutdownOptions,
): Promise<ShutdownReport> {
  app.health.draining = true;
  app.logger.info(
    { delayMs: options.delayMs, graceMs: options.graceMs },
    'draining: /readyz answers 503',
  );
  if (options.delayMs > 0) await sleep(options.delayMs);

  // Stop accepting (new connections are refused, so a proxy sends them elsewhere) while the
  // servers still serve normally what was already accepted; then close as usual.
  for (const server of [app.web.server, app.api.server]) {
    if (server.listening) NetServer.prototype.close.call(server);
  }
  const closedAt = performance.now();
  const settleMs = Math.min(ACCEPT_SETTLE_MS, options.graceMs);
  if (options.connections) await options.connections.settled(settleMs);
  else await sleep(settleMs);
  const settledAt = performance.now();

  let forced = false;
  let timer: NodeJS.Timeout | undefined;
  const closing = app.close();
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      forced = true;
      app.logger.warn(
        { graceMs: options.graceMs },
        'requests still in flight after the grace period: closing their connections',
      );
      for (const server of [app.web.server, app.api.server]) server.closeAllConnections();
      resolve();
    }, options.graceMs);
  });
  try {
    await Promise.race([closing, deadline]);
    await closing;
  } finally {
    clearTimeout(timer);
  }
  const ms = (from: number, to: number) => Math.round(to - from);
  app.logger.info(
    { forced, settleMs: ms(closedAt, settledAt), drainMs: ms(settledAt, performance.now()) },
    'stopped',
  );
  return { forced };
}
