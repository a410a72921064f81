import type { FastifyInstance } from 'fastify';
import { buildApiServer } from './api/server.js';
import type { Config } from './config/config.js';
import { type DatabaseHandle, openDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrations.js';
import { Store } from './db/store.js';
import { type DomainEvents, MiniTwit } from './domain/minitwit.js';
import { Sessions } from './domain/sessions.js';
import { Health, installHealthRoutes } from './observability/health.js';
import { createLogger, type Logger } from './observability/logger.js';
import { APP_VERSION, combineEvents, dataDirectory, Metrics } from './observability/metrics.js';
import { MetricsServer } from './observability/metrics-server.js';
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
  /** Prometheus metrics (undefined when METRICS_ENABLED=false). */
  metrics: Metrics | undefined;
  /** The operators' port: /metrics, /healthz, /readyz (undefined when metrics are off). */
  metricsServer: MetricsServer | undefined;
  /** Binds the servers to their configured ports (0 picks free ones); returns their URLs. */
  listen(): Promise<{ web: string; api: string; metrics?: string }>;
  /** Stops accepting, lets requests in flight finish, then closes the database. */
  close(): Promise<void>;
}

export interface AppOverrides {
  logger?: Logger;
  events?: DomainEvents;
}

/** `url` with a wildcard or loopback address written as localhost, as a person would open it. */
function openable(url: string): string {
  return url.replace(/^(https?:\/\/)(0\.0\.0\.0|127\.0\.0\.1|\[::\]|\[::1\])(?=:)/, '$1localhost');
}

/** Builds the whole MiniTwit (database, domain, both front doors) from a configuration. */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger =
    overrides.logger ?? createLogger({ level: config.logLevel, pretty: config.logPretty });
  const metrics = config.metricsEnabled ? new Metrics() : undefined;
  const database = openDatabase(config.databaseUrl, {
    poolMax: config.databasePoolMax,
    ...(metrics ? { onQuery: metrics.onQuery } : {}),
  });
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
  const domain = new MiniTwit(store, combineEvents(metrics?.events(), overrides.events));
  const sessions = new Sessions(store);
  const web = await buildWebServer({ config, domain, sessions, logger });
  const api = await buildApiServer({ config, domain, logger });
  const health = new Health(store, database);
  installHealthRoutes(web, health);
  installHealthRoutes(api, health);
  let metricsServer: MetricsServer | undefined;
  if (metrics) {
    metrics.instrument(web, 'web');
    metrics.instrument(api, 'api');
    metrics.watch({
      dialect: database.dialect,
      pool: database.poolStats,
      readiness: () => health.readiness(),
      dataDirectory: dataDirectory(config.databaseUrl),
      version: APP_VERSION,
    });
    metrics.latest.set(await domain.latest().catch(() => -1));
    metricsServer = new MetricsServer(metrics, health, logger);
  }

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
    metrics,
    metricsServer,
    async listen() {
      const [webUrl, apiUrl, metricsUrl] = await Promise.all([
        web.listen({ port: config.port, host: config.host }),
        api.listen({ port: config.apiPort, host: config.host }),
        metricsServer?.listen(config.metricsPort, config.metricsHost),
      ]);
      // One line per door, with a URL a person can open.
      logger.info({ database: database.safeUrl }, `MiniTwit serves ${database.safeUrl}`);
      logger.info({ door: 'web', url: webUrl }, `web app on ${openable(webUrl)}`);
      logger.info({ door: 'api', url: apiUrl }, `simulator API on ${openable(apiUrl)}`);
      if (metricsUrl) {
        const url = `${openable(metricsUrl)}/metrics`;
        logger.info({ door: 'metrics', url: metricsUrl }, `metrics on ${url}`);
      }
      return { web: webUrl, api: apiUrl, ...(metricsUrl ? { metrics: metricsUrl } : {}) };
    },
    close() {
      closed ??= (async () => {
        health.draining = true;
        await Promise.all([web.close(), api.close()]);
        await metricsServer?.close();
        await database.close();
      })();
      return closed;
    },
  };
}
