import { randomBytes } from 'node:crypto';
import { ConfigError, type Env, flag, wholeNumber as integer } from './env.js';
import { type HttpTimeouts, loadHttpTimeouts } from './http.js';
import { loadSecurityConfig, type SecurityConfig } from './security.js';

export { ConfigError };

/** Everything the server reads from its environment, parsed once and typed. */
export interface Config {
  /** Port of the HTML web app. */
  port: number;
  /** Port of the simulator API. */
  apiPort: number;
  /** Address both servers bind to. */
  host: string;
  /** `sqlite:<path>`, `sqlite::memory:` or `postgres://…`. */
  databaseUrl: string;
  /** Largest number of PostgreSQL connections this process opens. */
  databasePoolMax: number;
  /**
   * SQLite: the most a request's write waits for another connection's lock (ms), without
   * blocking other requests; then 503 with Retry-After.
   */
  databaseLockTimeoutMs: number;
  /** PostgreSQL: the most a request waits for a database connection (ms); then 503. */
  databaseConnectTimeoutMs: number;
  /** PostgreSQL: the most one statement of a request may run (ms, 0 = no limit); then 503. */
  databaseStatementTimeoutMs: number;
  /** Secret that signs the session and flash cookies. */
  sessionSecret: string;
  /** True when SESSION_SECRET was not set and a random one was made for this process. */
  sessionSecretGenerated: boolean;
  /** Trust X-Forwarded-* headers from a reverse proxy. */
  trustProxy: boolean;
  /** The exact `Authorization` header value the simulator API accepts. */
  simApiAuth: string;
  logLevel: string;
  /** Human-readable logs instead of JSON lines (default: in a terminal, outside production). */
  logPretty: boolean;
  /** Serve /metrics, /healthz and /readyz on their own port, and count requests and queries. */
  metricsEnabled: boolean;
  /** Port of the operators' endpoints (/metrics, /healthz, /readyz). */
  metricsPort: number;
  /** Address the metrics port binds to. */
  metricsHost: string;
  /** Run migrations when the server starts. */
  migrateOnStart: boolean;
  production: boolean;
  /** Rate limits and the simulator API allow-list (see docs/security.md). */
  security: SecurityConfig;
  /** Worker processes `minitwit serve` runs with node:cluster (1 = no cluster). */
  workers: number;
  /** After SIGTERM: how long to keep serving while /readyz says 503, so load balancers notice. */
  shutdownDelayMs: number;
  /** After the delay: how long requests in flight may take before connections are cut. */
  shutdownGraceMs: number;
  /** Head, request and keep-alive timeouts of the web, API and metrics ports. */
  http: HttpTimeouts;
  /**
   * Where the web pages' avatars come from: 'minitwit' draws them itself (initials on a colour
   * from the username; no third party sees who reads what), 'gravatar' lays Gravatar's picture
   * over them.
   */
  avatars: 'minitwit' | 'gravatar';
}

export const DEFAULT_SIM_API_AUTH = 'Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh';

/** The database when DATABASE_URL is not set: a SQLite file under ./data. */
export const DEFAULT_DATABASE_URL = 'sqlite:./data/minitwit.db';

/**
 * `url` when it names a SQLite (`sqlite:…`) or PostgreSQL (`postgres://…`, `postgresql://…`)
 * database; otherwise throws ConfigError saying that `source` (the variable or flag it came
 * from) must start with one of them.
 */
export function checkDatabaseUrl(url: string, source: string): string {
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(url)) {
    throw new ConfigError(`${source} must start with sqlite: or postgres://`);
  }
  return url;
}

/**
 * DATABASE_URL, or DEFAULT_DATABASE_URL when it is unset or empty; reads no other variable, so
 * operator commands need not load (and validate) the whole server configuration.
 */
export function databaseUrlFrom(env: Env = process.env): string {
  return checkDatabaseUrl(env.DATABASE_URL || DEFAULT_DATABASE_URL, 'DATABASE_URL');
}

/** AVATARS: `minitwit` (the default) or `gravatar`; anything else is a ConfigError. */
function avatarSource(env: Env): 'minitwit' | 'gravatar' {
  const value = (env.AVATARS ?? '').trim().toLowerCase();
  if (value === '' || value === 'minitwit') return 'minitwit';
  if (value === 'gravatar') return 'gravatar';
  throw new ConfigError(`AVATARS must be minitwit or gravatar, got "${env.AVATARS}"`);
}

/**
 * Reads every server setting from `env` (process.env by default). `stdoutIsTty` (whether standard
 * output is a terminal) chooses readable logs over JSON unless LOG_PRETTY says otherwise. Throws
 * ConfigError naming the first variable that is set to something unusable. Documented in the
 * README's table.
 */
export function loadConfig(
  env: Env = process.env,
  { stdoutIsTty = process.stdout.isTTY === true } = {},
): Config {
  const production = env.NODE_ENV === 'production';
  const secret = env.SESSION_SECRET ?? '';
  if (secret !== '' && secret.length < 32) {
    throw new ConfigError('SESSION_SECRET must be at least 32 characters long');
  }
  const databaseUrl = databaseUrlFrom(env);
  return {
    port: integer(env, 'PORT', 5000),
    apiPort: integer(env, 'API_PORT', 5001),
    host: env.HOST || '0.0.0.0',
    databaseUrl,
    databasePoolMax: integer(env, 'DATABASE_POOL_MAX', 10, 1, 1000),
    databaseLockTimeoutMs: integer(env, 'DATABASE_LOCK_TIMEOUT_MS', 250, 0, 60_000),
    databaseConnectTimeoutMs: integer(env, 'DATABASE_CONNECT_TIMEOUT_MS', 500, 1, 60_000),
    databaseStatementTimeoutMs: integer(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 2000, 0, 600_000),
    sessionSecret: secret || randomBytes(32).toString('base64url'),
    sessionSecretGenerated: secret === '',
    trustProxy: flag(env, 'TRUST_PROXY', false),
    simApiAuth: env.SIM_API_AUTH || DEFAULT_SIM_API_AUTH,
    logLevel: env.LOG_LEVEL || 'info',
    // Readable lines for a person at a terminal; JSON for collectors, pipes and production.
    logPretty: flag(
      env,
      'LOG_PRETTY',
      env.NODE_ENV === 'development' || (stdoutIsTty && !production),
    ),
    metricsEnabled: flag(env, 'METRICS_ENABLED', true),
    metricsPort: integer(env, 'METRICS_PORT', 9464),
    metricsHost: env.METRICS_HOST || env.HOST || '0.0.0.0',
    migrateOnStart: flag(env, 'MIGRATE_ON_START', true),
    production,
    security: loadSecurityConfig(env),
    workers: integer(env, 'WORKERS', 1, 1, 64),
    shutdownDelayMs: integer(env, 'SHUTDOWN_DELAY_MS', production ? 2000 : 0, 0, 600_000),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    http: loadHttpTimeouts(env),
    avatars: avatarSource(env),
  };
}
