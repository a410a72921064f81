import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
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
}

/**
 * How long connections accepted just before the listeners closed get to deliver their request.
 * Node's HTTP close() ends every connection that has no request in progress, which includes one
 * accepted a moment ago whose request bytes are still on their way: for a POST that a proxy has
 * already sent, that is an error the proxy must not retry (nginx answers 502).
 */
export const ACCEPT_SETTLE_MS = 250;

export interface ShutdownReport {
  /** True when requests were still running after the grace period and were cut. */
  forced: boolean;
}

/**
 * The graceful end of one server process: not ready → (delay) → stop accepting → (settle) →
 * close idle keep-alive connections → wait for requests in flight (bounded) → close the database.
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
  await sleep(Math.min(ACCEPT_SETTLE_MS, options.graceMs));

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
  app.logger.info({ forced }, 'stopped');
  return { forced };
}
