import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Gauge } from 'prom-client';
import { apiClientError, buildApiServer } from './api/server.js';
import type { Config } from './config/config.js';
import { type DatabaseHandle, type DatabaseLimits, openDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrations.js';
import { Store } from './db/store.js';
import { type DomainEvents, MiniTwit } from './domain/minitwit.js';
import { SearchBackfill } from './domain/search-backfill.js';
import { Sessions } from './domain/sessions.js';
import { reservedSegments, USERNAME_PARAM } from './http/routes.js';
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
  /**
   * Binds the servers to their configured ports (0 picks free ones); returns their URLs. All or
   * nothing: when any port cannot be opened, the app is closed (no port stays open, the
   * database is closed) and this rejects with a ListenError naming each port and its variable.
   */
  listen(): Promise<{ web: string; api: string; metrics?: string }>;
  /**
   * The names registration refuses because a fixed route of a door takes `/<name>` (derived
   * from both doors' route tables once their plugins have loaded).
   */
  reservedUsernames(): Promise<ReadonlySet<string>>;
  /** Stops accepting, lets requests in flight finish, then closes the database. */
  close(): Promise<void>;
}

/** A port that could not be opened; the message names the port, its variable and the fix. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/** One port the app listens on, with the variables that set it. */
interface Door {
  name: 'web' | 'api' | 'metrics';
  variable: 'PORT' | 'API_PORT' | 'METRICS_PORT';
  hostVariable: 'HOST' | 'METRICS_HOST';
  port: number;
  host: string;
  listen(): Promise<string>;
  listening(): boolean;
}

/** Why `door` could not listen, in words an operator can act on. */
function listenProblem(door: Door, error: unknown): string {
  const { variable, port, host, hostVariable } = door;
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return `${variable}=${port}: port ${port} is already in use on ${host} (another program listens there): stop it or set ${variable} to a free port`;
  }
  if (code === 'EACCES') {
    return `${variable}=${port}: not allowed to listen on port ${port} (ports below 1024 need privileges): set ${variable} to a port above 1023`;
  }
  if (code === 'EADDRNOTAVAIL') {
    return `${hostVariable}=${host}: this machine has no such address, so ${variable}=${port} cannot listen on it: set ${hostVariable} to one of its addresses or 0.0.0.0`;
  }
  const reason = error instanceof Error ? error.message : String(error);
  return `${variable}=${port}: cannot listen on ${host}:${port}: ${reason}`;
}

export interface AppOverrides {
  logger?: Logger;
  events?: DomainEvents;
}

/** `url` with a wildcard or loopback address written as localhost, as a person would open it. */
function openable(url: string): string {
  return url.replace(/^(https?:\/\/)(0\.0\.0\.0|127\.0\.0\.1|\[::\]|\[::1\])(?=:)/, '$1localhost');
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
    if (applied.length > 0) {
      logger.info({ applied }, 'migrations applied');
      // Fresh planner statistics for the changed schema (a new database has none at all).
      await sql`analyze`.execute(handle.db);
    }
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
  // A username may not be a path segment a fixed route of either door takes: asked of the
  // doors' route tables at each registration, so a route added later counts at once.
  let doors: FastifyInstance[] = [];
  const reserved = () =>
    reservedSegments(
      doors.map((door) => door.routeTable),
      USERNAME_PARAM,
    );
  const domain = new MiniTwit(store, combineEvents(metrics?.events(), overrides.events), reserved);
  const sessions = new Sessions(store);
  const web = await buildWebServer({ config, domain, sessions, logger, failures });
  const api = await buildApiServer({ config, domain, logger, failures });
  doors = [web, api];
  // Messages older than the search index are indexed in the background, in small batches: by
  // the first process only when there are several workers (any one would do; one is enough).
  const pendingIds = metrics
    ? new Gauge({
        name: 'minitwit_search_backfill_pending_ids',
        help: 'Message ids the background search indexer has still to go through (0: all indexed)',
        registers: [metrics.registry],
      })
    : undefined;
  const backfill = new SearchBackfill(domain.searchIndex, {
    log: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
    onProgress: (state) => pendingIds?.set(state.nextBelow - 1),
  });
  if (cluster.isPrimary || cluster.worker?.id === 1) {
    void backfill
      .start()
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'search index: the background indexer stopped'),
      );
  }
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
    metricsServer = new MetricsServer(metrics, health, logger, {
      timeouts: config.http,
      onClientError: apiClientError,
    });
  }

  const door = (
    name: 'web' | 'api',
    variable: 'PORT' | 'API_PORT',
    server: FastifyInstance,
    port: number,
  ): Door => ({
    name,
    variable,
    hostVariable: 'HOST',
    port,
    host: config.host,
    listen: () => server.listen({ port, host: config.host }),
    listening: () => server.server.listening,
  });
  const ports: Door[] = [
    door('web', 'PORT', web, config.port),
    door('api', 'API_PORT', api, config.apiPort),
  ];
  const operators = metricsServer;
  if (operators) {
    ports.push({
      name: 'metrics',
      variable: 'METRICS_PORT',
      hostVariable: 'METRICS_HOST',
      port: config.metricsPort,
      host: config.metricsHost,
      listen: () => operators.listen(config.metricsPort, config.metricsHost),
      listening: () => operators.listening,
    });
  }
  for (const door of ports) {
    health.watchListener(`${door.name} (${door.variable} ${door.port})`, door.listening);
  }

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      health.draining = true;
      await Promise.all([web.close(), api.close()]);
      await backfill.stop();
      await metricsServer?.close();
      await database.close();
      failures.flush();
    })();
    return closed;
  };
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
      const results = await Promise.allSettled(ports.map((door) => door.listen()));
      const problems = results.flatMap((result, i) =>
        result.status === 'rejected' && ports[i] ? [listenProblem(ports[i], result.reason)] : [],
      );
      if (problems.length > 0) {
        await close();
        throw new ListenError(problems.join('; '));
      }
      const url = (name: Door['name']) => {
        const result = results[ports.findIndex((door) => door.name === name)];
        return result?.status === 'fulfilled' ? result.value : undefined;
      };
      const [webUrl = '', apiUrl = '', metricsUrl] = [url('web'), url('api'), url('metrics')];
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
    async reservedUsernames() {
      await Promise.all([web.ready(), api.ready()]);
      return reserved();
    },
    close,
  };
}
