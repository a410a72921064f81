import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import { buildApiServer } from './api/server.js';
import type { Config } from './config/config.js';
import { type DatabaseHandle, type DatabaseLimits, openDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrations.js';
import { Store } from './db/store.js';
import { type DomainEvents, MiniTwit } from './domain/minitwit.js';
import { Sessions } from './domain/sessions.js';
import { FailureLog } from './observability/failures.js';
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
  /** Server-side failures: logged without flooding, each one counted in the metrics. */
  failures: FailureLog;
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

/** The request path's limits on database waits, from the configuration. */
export function requestLimits(config: Config): DatabaseLimits {
  return {
    lockTimeoutMs: config.databaseLockTimeoutMs,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
  };
}

/**
 * Applies pending migrations at start-up on a connection of their own, with the operators'
 * (longer) limits: a migration may take longer than a request's statement timeout, and may wait
 * for a lock another instance holds. An in-memory SQLite database has only `database`.
 */
async function migrateOnStart(config: Config, database: DatabaseHandle, logger: Logger) {
  const own = database.dialect === 'sqlite' && database.faults.file === undefined;
  const handle = own ? database : openDatabase(config.databaseUrl, { poolMax: 1 });
  try {
    const applied = await migrateToLatest(handle.db, handle.dialect, handle.where);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  } finally {
    if (!own) await handle.close();
  }
}

/** Builds the whole MiniTwit (database, domain, both front doors) from a configuration. */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger =
    overrides.logger ?? createLogger({ level: config.logLevel, pretty: config.logPretty });
  const metrics = config.metricsEnabled ? new Metrics() : undefined;
  const failures = new FailureLog(logger, metrics ? { onFailure: metrics.countFailure } : {});
  const database = openDatabase(config.databaseUrl, {
    poolMax: config.databasePoolMax,
    limits: requestLimits(config),
    ...(metrics ? { onQuery: metrics.onQuery } : {}),
    onConnectionError: (error) =>
      failures.report(
        logger,
        { door: 'database', error, message: 'database connection failed' },
        { database: database.where },
      ),
  });
  try {
    if (config.migrateOnStart) await migrateOnStart(config, database, logger);
  } catch (error) {
    await database.close();
    throw error;
  }
  // Damaged pages are looked for in the background: start-up does not wait for the check. Of
  // several workers (WORKERS > 1) over one file, the first checks it; any worker that meets a
  // damaged page checks again (see DatabaseFaults).
  if (cluster.isPrimary || cluster.worker?.id === 1) void database.faults.checkIntegrity();
  if (config.sessionSecretGenerated) {
    logger.warn(
      'SESSION_SECRET is not set: using a random secret, so sign-ins end when the process restarts and differ between replicas',
    );
  }

  const store = new Store(database.db, database.dialect);
  const domain = new MiniTwit(store, combineEvents(metrics?.events(), overrides.events));
  const sessions = new Sessions(store);
  const web = await buildWebServer({ config, domain, sessions, logger, failures });
  const api = await buildApiServer({ config, domain, logger, failures });
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
    failures,
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
      logger.info(
        { web: webUrl, api: apiUrl, metrics: metricsUrl, database: database.safeUrl },
        'MiniTwit is listening',
      );
      return { web: webUrl, api: apiUrl, ...(metricsUrl ? { metrics: metricsUrl } : {}) };
    },
    close() {
      closed ??= (async () => {
        health.draining = true;
        await Promise.all([web.close(), api.close()]);
        await metricsServer?.close();
        await database.close();
        failures.flush();
      })();
      return closed;
    },
  };
}
