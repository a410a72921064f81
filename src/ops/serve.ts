import { createApp } from '../app.js';
import { loadConfig } from '../config.js';
import type { Command } from './command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the web app (PORT) and the simulator API (API_PORT)',
  usage: 'minitwit serve',
  async run() {
    const app = await createApp(loadConfig());
    await app.listen();
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        app.logger.info({ signal }, 'shutting down');
        app.close().then(resolve, (error) => {
          app.logger.error({ err: error }, 'shutdown failed');
          resolve();
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    app.logger.flush();
    return 0;
  },
};
