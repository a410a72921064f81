import { setTimeout as sleep } from 'node:timers/promises';
import type { App } from '../app.js';

export interface ShutdownOptions {
  /** Keep serving this long after /readyz turns 503, so that load balancers stop sending. */
  delayMs: number;
  /** Then let requests in flight finish for at most this long before cutting connections. */
  graceMs: number;
}

export interface ShutdownReport {
  /** True when requests were still running after the grace period and were cut. */
  forced: boolean;
}

/**
 * The graceful end of one server process: not ready → (delay) → stop accepting and close idle
 * keep-alive connections → wait for requests in flight (bounded) → close the database.
 */
export async function shutdownGracefully(
  app: App,
  options: ShutdownOptions,
): Promise<ShutdownReport> {
  app.health.draining = true;
  app.logger.info(
    { delayMs: options.delayMs, graceMs: options.graceMs },
    'draining: /readyz answers 503',
  );
  if (options.delayMs > 0) await sleep(options.delayMs);

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
