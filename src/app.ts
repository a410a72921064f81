import type { FastifyInstance } from 'fastify';
import { buildApiServer } from './api/server.js';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrations.js';
import { Store } from './db/store.js';
import { type DomainEvents, MiniTwit } from './domain/minitwit.js';
import { Sessions } from './domain/sessions.js';
import { Health, installHealthRoutes } from './ops/health.js';
import { createLogger, type Logger } from './ops/logger.js';
import { buildWebServer } from './web/server.js';

export interface App {
  config: Config;
  database: DatabaseHandle;
  store: Store;
  domain: MiniTwit;
  logger: Logger;
  health: Health;
  web: FastifyInstance;
  api: FastifyInstance;
  /** Binds both servers to their configured ports (0 picks free ones); returns their URLs. */
  listen(): Promise<{ web: string; api: string }>;
  /** Stops accepting, lets requests in flight finish, then closes the database. */
  close(): Promise<void>;
}

export interface AppOverrides {
  logger?: Logger;
  events?: DomainEvents;
}

/** Builds the whole MiniTwit (database, domain, both front doors) from a configuration. */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel });
  const database = openDatabase(config.databaseUrl, { poolMax: config.databasePoolMax });
  try {
    if (config.migrateOnStart) {
      const applied = await migrateToLatest(database.db, database.dialect);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
  } catch (error) {
    await database.close();
    throw error;
  }
  if (config.sessionSecretGenerated) {
    logger.warn(
      'SESSION_SECRET is not set: using a random secret, so sign-ins end when the process restarts and differ between replicas',
    );
  }

  const store = new Store(database.db, database.dialect);
  const domain = new MiniTwit(store, overrides.events);
  const sessions = new Sessions(store);
  const web = await buildWebServer({ config, domain, sessions, logger });
  const api = await buildApiServer({ config, domain, logger });
  const health = new Health(store, database);
  installHealthRoutes(web, health);
  installHealthRoutes(api, health);

  let closed: Promise<void> | undefined;
  return {
    config,
    database,
    store,
    domain,
    logger,
    health,
    web,
    api,
    async listen() {
      const [webUrl, apiUrl] = await Promise.all([
        web.listen({ port: config.port, host: config.host }),
        api.listen({ port: config.apiPort, host: config.host }),
      ]);
      logger.info(
        { web: webUrl, api: apiUrl, database: database.safeUrl },
        'MiniTwit is listening',
      );
      return { web: webUrl, api: apiUrl };
    },
    close() {
      closed ??= (async () => {
        health.draining = true;
        await Promise.all([web.close(), api.close()]);
        await database.close();
      })();
      return closed;
    },
  };
}
