import { readFileSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { LogEvent } from 'kysely';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { packageRoot } from '../config/paths.js';
import { type Dialect, sqlitePath } from '../db/connect.js';
import type { DomainEvents } from '../domain/minitwit.js';

export const APP_VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(resolve(packageRoot, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
})();

/** The directory whose disk the metrics watch: the SQLite file's, else the working directory. */
export function dataDirectory(databaseUrl: string): string {
  if (databaseUrl.startsWith('sqlite:')) {
    const path = sqlitePath(databaseUrl);
    if (path !== ':memory:') return dirname(resolve(path));
  }
  return process.cwd();
}

/** Seconds; 0.3 is the course simulator's timeout, so it is a bucket edge. */
export const HTTP_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5,
];
export const DB_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** The label for requests no route matched: one value, whatever the URL was. */
export const UNMATCHED = 'unmatched';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Error kinds, all declared up front so every series exists (at 0) from the first scrape. */
export const ERROR_KINDS = {
  web: ['bad_request', 'forbidden', 'not_found', 'payload_too_large', 'client_other', 'server'],
  api: ['bad_request', 'forbidden', 'not_found', 'payload_too_large', 'client_other', 'server'],
  database: ['query'],
} as const;

/** Causes of server-side failures (FailureLog's kinds), declared up front like ERROR_KINDS. */
export const FAILURE_KINDS = {
  web: ['busy', 'unavailable', 'full', 'corrupt', 'sealed', 'internal'],
  api: ['busy', 'unavailable', 'full', 'corrupt', 'sealed', 'internal'],
  database: ['unavailable'],
} as const;

export function errorKind(status: number): string | undefined {
  if (status < 400) return undefined;
  if (status >= 500) return 'server';
  if (status === 400) return 'bad_request';
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  return 'client_other';
}

/**
 * The operation of a query written as SQL text (the request path's prepared queries): its main
 * statement's first word, past any `with … as (…)` parts; `raw` for anything else. Remembered
 * per text in `seen` (at most 500 texts).
 */
export function rawOperation(text: string, seen: Map<string, string>): string {
  let operation = seen.get(text);
  if (operation !== undefined) return operation;
  let flat = text;
  for (let before = ''; before !== flat; ) {
    before = flat;
    flat = flat.replace(/\([^()]*\)/g, ' ');
  }
  const main =
    /^\s*(?:with\s[\s\S]*?\bas\s+(?:,\s*\w+\s+as\s+)*)?(select|insert|update|delete)\b/i.exec(flat);
  operation = main ? (main[1] as string).toLowerCase() : 'raw';
  if (seen.size < 500) seen.set(text, operation);
  return operation;
}

/** `select`, `insert`, … from the root node of a compiled Kysely query. */
export function operationOf(kind: string | undefined): string {
  switch (kind) {
    case 'SelectQueryNode':
      return 'select';
    case 'InsertQueryNode':
      return 'insert';
    case 'UpdateQueryNode':
      return 'update';
    case 'DeleteQueryNode':
      return 'delete';
    case 'RawNode':
      return 'raw';
    default:
      return 'other';
  }
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface MetricsSources {
  dialect: Dialect;
  /** Connections of the database pool, read at each scrape. */
  pool: () => PoolStats;
  /** Readiness, read at each scrape (bounded by a timeout). */
  readiness: () => Promise<{ ready: boolean; checks: { database: string } }>;
  /** The directory whose file system holds the data (SQLite file, logs). */
  dataDirectory: string;
  version: string;
}

let processMetrics: Registry | undefined;

/**
 * Node's process and event-loop metrics, once per process: they describe the process, not one
 * app, and each collectDefaultMetrics call starts monitors that are never stopped.
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/** How long a scrape waits for the readiness check before reporting the database down. */
export const READINESS_TIMEOUT_MS = 750;

/**
 * Every MiniTwit metric, in a registry of its own (tests run several apps in one process).
 * Label values are bounded: route templates, never URLs or usernames.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'door' | 'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'door' | 'method' | 'route' | 'status'>;
  readonly errors: Counter<'door' | 'kind'>;
  readonly failures: Counter<'door' | 'kind'>;
  readonly registrations: Counter;
  readonly logins: Counter<'outcome'>;
  readonly messages: Counter;
  readonly follows: Counter;
  readonly unfollows: Counter;
  readonly flagged: Counter;
  readonly latest: Gauge;
  readonly dbDuration: Histogram<'operation'>;

  constructor() {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'minitwit_http_requests_total',
      help: 'HTTP requests answered, by front door, method, route template and status',
      labelNames: ['door', 'method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'minitwit_http_request_duration_seconds',
      help: 'Time from receiving a request to sending its response',
      labelNames: ['door', 'method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.errors = new Counter({
      name: 'minitwit_errors_total',
      help: 'Errors by where they happened (web, api, database) and kind',
      labelNames: ['door', 'kind'],
      registers,
    });
    for (const [door, kinds] of Object.entries(ERROR_KINDS)) {
      for (const kind of kinds) this.errors.labels(door, kind).inc(0);
    }
    this.failures = new Counter({
      name: 'minitwit_failures_total',
      help: 'Server-side failures by where (web, api, database connection) and cause (a database condition or internal); each is counted though logs keep one stack per cause and interval',
      labelNames: ['door', 'kind'],
      registers,
    });
    for (const [door, kinds] of Object.entries(FAILURE_KINDS)) {
      for (const kind of kinds) this.failures.labels(door, kind).inc(0);
    }
    const counter = (name: string, help: string) => new Counter({ name, help, registers });
    this.registrations = counter('minitwit_registrations_total', 'Users registered');
    this.logins = new Counter({
      name: 'minitwit_logins_total',
      help: 'Sign-in attempts by outcome (ok, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.logins.labels('ok').inc(0);
    this.logins.labels('failed').inc(0);
    this.messages = counter('minitwit_messages_posted_total', 'Messages posted');
    this.follows = counter('minitwit_follows_total', 'Follow actions');
    this.unfollows = counter('minitwit_unfollows_total', 'Unfollow actions');
    this.flagged = counter(
      'minitwit_messages_flagged_total',
      'Messages flagged by moderators through this process',
    );
    this.latest = new Gauge({
      name: 'minitwit_latest',
      help: 'The id of the last simulator action the API saw (-1 before the first)',
      registers,
    });
    this.latest.set(-1);
    this.dbDuration = new Histogram({
      name: 'minitwit_db_query_duration_seconds',
      help: 'Database query duration by operation',
      labelNames: ['operation'],
      buckets: DB_BUCKETS,
      registers,
    });
  }

  /** Gauges read from the database, health and disk at each scrape. */
  watch(sources: MetricsSources) {
    const registers = [this.registry];
    new Gauge({
      name: 'minitwit_db_pool_connections',
      help: 'Database connections by state (total, idle, waiting clients); SQLite has one handle',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = sources.pool();
        this.labels('total').set(stats.total);
        this.labels('idle').set(stats.idle);
        this.labels('waiting').set(stats.waiting);
      },
    });
    new Gauge({
      name: 'minitwit_db_pool_max',
      help: 'The most database connections this process opens',
      registers,
      collect() {
        this.set(sources.pool().max);
      },
    });
    let lastReadiness: Promise<{ ready: boolean; database: boolean }> | undefined;
    const readiness = () => {
      // Both gauges ask in one scrape: share one check.
      lastReadiness ??= checkReadiness(sources).finally(() => {
        setImmediate(() => {
          lastReadiness = undefined;
        });
      });
      return lastReadiness;
    };
    new Gauge({
      name: 'minitwit_ready',
      help: '1 when the instance can serve (database reachable, migrations applied, not draining)',
      registers,
      async collect() {
        this.set((await readiness()).ready ? 1 : 0);
      },
    });
    new Gauge({
      name: 'minitwit_database_up',
      help: '1 when the database answered the readiness query at this scrape',
      registers,
      async collect() {
        this.set((await readiness()).database ? 1 : 0);
      },
    });
    // One statfs per scrape: the free-bytes gauge fills its sibling from the same reading, so
    // the sibling is registered after it (a scrape reads metrics in registration order).
    const diskSize = new Gauge({
      name: 'minitwit_disk_size_bytes',
      help: 'Size of the file system of the data directory',
      registers: [],
    });
    new Gauge({
      name: 'minitwit_disk_free_bytes',
      help: 'Bytes available to this process on the file system of the data directory',
      registers,
      collect() {
        const fs = diskStats(sources.dataDirectory);
        if (!fs) return;
        this.set(fs.free);
        diskSize.set(fs.size);
      },
    });
    this.registry.registerMetric(diskSize);
    new Gauge({
      name: 'minitwit_build_info',
      help: 'Always 1; labels say which version and database this instance runs',
      labelNames: ['version', 'dialect'],
      registers,
    })
      .labels(sources.version, sources.dialect)
      .set(1);
  }

  /** FailureLog's `onFailure`: counts every server-side failure by door and cause. */
  readonly countFailure = (door: string, kind: string) => {
    this.failures.labels(door, kind).inc();
  };

  /** Domain events as counter increments. */
  events(): DomainEvents {
    return {
      registered: () => this.registrations.inc(),
      login: (ok) => this.logins.labels(ok ? 'ok' : 'failed').inc(),
      messagePosted: () => this.messages.inc(),
      followed: () => this.follows.inc(),
      unfollowed: () => this.unfollows.inc(),
      flagged: (count) => this.flagged.inc(count),
      latestChanged: (value) => this.latest.set(value),
    };
  }

  private readonly dbSeries = new Map<string, Histogram.Internal<'operation'>>();
  private readonly rawOperations = new Map<string, string>();

  /** Kysely's `log` option: every query's duration, and failed queries as errors. */
  readonly onQuery = (event: LogEvent) => {
    // One labelled series per operation, kept: no hashing of the label on every query.
    const { kind } = event.query.query;
    const operation =
      kind === 'RawNode' ? rawOperation(event.query.sql, this.rawOperations) : operationOf(kind);
    let series = this.dbSeries.get(operation);
    if (series === undefined) {
      series = this.dbDuration.labels(operation);
      this.dbSeries.set(operation, series);
    }
    series.observe(event.queryDurationMillis / 1000);
    if (event.level === 'error') this.errors.labels('database', 'query').inc();
  };

  /** Counts and times every response of one front door. */
  instrument(app: FastifyInstance, door: 'web' | 'api') {
    // The labelled series of each (method, route, status) met so far: prom-client would hash
    // the four label values twice per response otherwise. Routes and methods are a fixed set and
    // statuses a few dozen, so this stays small.
    const series = new Map<
      string,
      {
        count: Counter.Internal;
        duration: Histogram.Internal<'door' | 'method' | 'route' | 'status'>;
      }
    >();
    // A callback hook, not an async one: no promise per response.
    app.addHook('onResponse', (request, reply, done) => {
      const method = METHODS.has(request.method) ? request.method : 'OTHER';
      const route = request.routeOptions.url ?? UNMATCHED;
      const key = `${method} ${reply.statusCode} ${route}`;
      let entry = series.get(key);
      if (entry === undefined) {
        const status = String(reply.statusCode);
        entry = {
          count: this.httpRequests.labels(door, method, route, status),
          duration: this.httpDuration.labels(door, method, route, status),
        };
        series.set(key, entry);
      }
      entry.count.inc();
      entry.duration.observe(reply.elapsedTime / 1000);
      const kind = errorKind(reply.statusCode);
      if (kind) this.errors.labels(door, kind).inc();
      done();
    });
  }

  /** The text exposition of every metric. */
  async text(): Promise<string> {
    const [own, processWide] = await Promise.all([
      this.registry.metrics(),
      processRegistry().metrics(),
    ]);
    return `${own}${processWide}`;
  }
}

async function checkReadiness(sources: MetricsSources) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), READINESS_TIMEOUT_MS);
  });
  try {
    const result = await Promise.race([sources.readiness().catch(() => undefined), timeout]);
    if (!result) return { ready: false, database: false };
    return { ready: result.ready, database: result.checks.database === 'ok' };
  } finally {
    clearTimeout(timer);
  }
}

function diskStats(directory: string): { free: number; size: number } | undefined {
  try {
    const s = statfsSync(directory);
    return { free: s.bavail * s.bsize, size: s.blocks * s.bsize };
  } catch {
    return undefined;
  }
}

/** Calls every listener's handler for each event. */
export function combineEvents(...all: (DomainEvents | undefined)[]): DomainEvents {
  const list = all.filter((e): e is DomainEvents => e !== undefined);
  const keys = [
    'registered',
    'login',
    'messagePosted',
    'followed',
    'unfollowed',
    'flagged',
    'latestChanged',
  ] as const;
  const combined: DomainEvents = {};
  for (const key of keys) {
    const handlers = list.map((e) => e[key]).filter((h) => h !== undefined);
    if (handlers.length === 0) continue;
    // biome-ignore lint/suspicious/noExplicitAny: each key keeps its own handler signature
    (combined as any)[key] = (...args: unknown[]) => {
      // biome-ignore lint/suspicious/noExplicitAny: see above
      for (const h of handlers) (h as any)(...args);
    };
  }
  return combined;
}
