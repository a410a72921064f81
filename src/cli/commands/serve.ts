import cluster from 'node:cluster';
import { createApp } from '../../app.js';
import { loadConfig } from '../../config/config.js';
import { createLogger } from '../../observability/logger.js';
import { runPrimary } from '../../runtime/cluster.js';
import { shutdownGracefully } from '../../runtime/lifecycle.js';
import { defineCommand } from '../command.js';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run the web app (PORT) and the simulator API (API_PORT); WORKERS processes',
  createsDatabase: true,
  usage: 'minitwit serve',
  async run() {
    const config = loadConfig();
    if (cluster.isPrimary && config.workers > 1) {
      const logger = createLogger({ level: config.logLevel }).child({ role: 'primary' });
      const code = await runPrimary(config, logger);
      logger.flush();
      return code;
    }
    const app = await createApp(config);
    // Signals from now on drain this process instead of killing it outright.
    const signalled = new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    await app.listen();
    const signal = await signalled;
    app.logger.info({ signal }, 'shutting down');
    let code = 0;
    try {
      await shutdownGracefully(app, {
        delayMs: config.shutdownDelayMs,
        graceMs: config.shutdownGraceMs,
      });
    } catch (error) {
      app.logger.error({ err: error }, 'shutdown failed');
      code = 1;
    }
    app.logger.flush();
    // Everything is closed; a stray handle must not keep a stopped server alive.
    setTimeout(() => process.exit(code), 1000).unref();
    return code;
  },
});
