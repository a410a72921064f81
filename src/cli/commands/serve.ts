import cluster from 'node:cluster';
import type { App } from '../../app.js';
import { type Config, loadConfig } from '../../config/config.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import { runPrimary } from '../../runtime/cluster.js';
import { ConnectionWatch, shutdownGracefully } from '../../runtime/lifecycle.js';
import {
  exitNow,
  READY_MESSAGE,
  type StopRequests,
  signalExitCode,
  watchStopRequests,
} from '../../runtime/stop.js';
import { defineCommand } from '../command.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Waits for `creating` after a stop request came during start-up: the step under way (a
 * migration, say) finishes, but at most `limitMs`; then whatever was opened is closed.
 */
async function abandonStart(creating: Promise<App>, limitMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<undefined>((done) => {
    timer = setTimeout(() => done(undefined), limitMs);
  });
  const app = await Promise.race([creating.catch(() => undefined), gaveUp]);
  clearTimeout(timer);
  await app?.close();
}

/**
 * One serving process (the only one, or a cluster worker): start, serve until asked to stop,
 * drain. Resolves to the exit code; never leaves a port open when it resolves.
 */
async function serveOne(
  config: Config,
  logger: Logger,
  stop: StopRequests,
  err: (line: string) => void,
): Promise<number> {
  // Loaded here, not at the top: a cluster primary never builds the app, and starts its
  // workers sooner without loading Fastify and the rest first.
  const { createApp } = await import('../../app.js');
  const creating = createApp(config, { logger });
  const first = await Promise.race([
    creating.then(
      () => undefined,
      () => undefined,
    ),
    stop.requested,
  ]);
  if (first !== undefined) {
    logger.info({ reason: first }, 'stop requested during start-up: not starting');
    await abandonStart(creating, config.shutdownGraceMs);
    return 0;
  }
  const app = await creating;
  const connections = new ConnectionWatch([app.web.server, app.api.server]);
  try {
    await app.listen();
  } catch (error) {
    // listen() closed every port it had opened, and the database.
    logger.error(`could not listen, stopping: ${message(error)}`);
    err(`minitwit serve: ${message(error)}`);
    return 1;
  }
  process.send?.(READY_MESSAGE);
  const reason = await stop.requested;
  app.logger.info({ signal: reason }, 'shutting down');
  try {
    await shutdownGracefully(app, {
      delayMs: config.shutdownDelayMs,
      graceMs: config.shutdownGraceMs,
      connections,
    });
    return 0;
  } catch (error) {
    app.logger.error({ err: error }, 'shutdown failed');
    return 1;
  }
}

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run the web app (PORT) and the simulator API (API_PORT); WORKERS processes',
  createsDatabase: true,
  usage: 'minitwit serve',
  async run({ err }) {
    const config = loadConfig();
    if (cluster.isPrimary && config.workers > 1) {
      const logger = createLogger({ level: config.logLevel }).child({ role: 'primary' });
      const code = await runPrimary(config, logger, err);
      return exitNow(logger, code);
    }
    const logger = createLogger({ level: config.logLevel, pretty: config.logPretty });
    // From here on a signal is never ignored: the first drains (or abandons the start-up),
    // a second one ends the process at once.
    const stop = watchStopRequests(
      logger,
      (signal) => void exitNow(logger, signalExitCode(signal)),
    );
    let code: number;
    try {
      code = await serveOne(config, logger, stop, err);
    } catch (error) {
      logger.error({ err: error }, 'could not start');
      err(`minitwit serve: ${message(error)}`);
      code = 1;
    }
    // Everything is closed: exit now rather than when the last stray handle lets go.
    return exitNow(logger, code);
  },
});
