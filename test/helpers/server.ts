import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { type App, createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';

export interface TestServer {
  app: App;
  database: TestDatabase;
  webUrl: string;
  apiUrl: string;
  /** The operators' port (/metrics, /healthz, /readyz); undefined when METRICS_ENABLED=false. */
  metricsUrl: string | undefined;
  /** Every log line the server wrote, as raw JSON text. */
  logs: string[];
  /** Stops the server; the database stays, for a restart. */
  stop(): Promise<void>;
  /** Stops the server and drops its database. */
  close(): Promise<void>;
}

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';

export interface ServerOptions {
  /** The database to serve; a new, empty one of the given kind by default. */
  database?: TestDatabase;
  /** Settings over the test defaults (loopback, free ports, TEST_SECRET, LOG_LEVEL=info). */
  env?: Record<string, string>;
}

/** Starts the real MiniTwit on free loopback ports over `database` (a new one by default). */
export async function startServer(
  kind: DatabaseKind,
  options: ServerOptions = {},
): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase(kind));
  const logs: string[] = [];
  const config = loadConfig({
    PORT: '0',
    API_PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info',
    METRICS_PORT: '0',
    ...options.env,
  });
  const logger = createLogger({
    level: config.logLevel,
    destination: { write: (line: string) => void logs.push(line) },
  });
  const app = await createApp(config, { logger });
  const urls = await app.listen();
  const port = (server: typeof app.web) => (server.server.address() as AddressInfo).port;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.close();
  };
  return {
    app,
    database,
    webUrl: `http://127.0.0.1:${port(app.web)}`,
    apiUrl: `http://127.0.0.1:${port(app.api)}`,
    metricsUrl: urls.metrics,
    logs,
    stop,
    async close() {
      await stop();
      await database.drop();
    },
  };
}

export interface ServerHandle extends TestServer {
  /**
   * Settles when the server has started (rejects when it failed to). Only needed at the top
   * level of a file: Node 20 runs root-level `before` hooks as soon as they are registered, side
   * by side, so a later root-level hook awaits this before using the server. Inside a
   * `describe`, hooks run one after the other and this is already settled.
   */
  readonly ready: Promise<void>;
}

/**
 * One server for the suite being declared: registers a `before` hook that starts it (as
 * startServer does) and an `after` hook that closes it and drops its database. Call it in a
 * `describe` body (or at the top of a file, for the whole file) and use the returned handle in
 * tests and in hooks registered after this call, which run after the server is up (at the top
 * level of a file, such a hook first awaits `ready`).
 *
 * The handle is a TestServer whose properties read the running server; reading one before the
 * server started (at declaration time, or after a failed start) throws. `stop()` inside a test
 * (to restart over `database`) is fine: the `after` hook still drops the database.
 *
 * Hooks of one kind run in the order they were registered: an `after` hook that must run while
 * the server is still up (closing a browser, say) is registered before calling this.
 */
export function useServer(kind: DatabaseKind, options: ServerOptions = {}): ServerHandle {
  let current: TestServer | undefined;
  let started!: (error?: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    started = (error) => (error === undefined ? resolve() : reject(error));
  });
  // Nobody may be waiting: a failed start is reported by the hook, not as an unhandled rejection.
  ready.catch(() => {});
  before(async () => {
    try {
      current = await startServer(kind, options);
      started();
    } catch (error) {
      started(error);
      throw error;
    }
  });
  after(async () => {
    await current?.close();
  });
  const running = (): TestServer => {
    if (current === undefined) throw new Error(`the ${kind} test server is not running`);
    return current;
  };
  return {
    ready,
    get app() {
      return running().app;
    },
    get database() {
      return running().database;
    },
    get webUrl() {
      return running().webUrl;
    },
    get apiUrl() {
      return running().apiUrl;
    },
    get metricsUrl() {
      return running().metricsUrl;
    },
    get logs() {
      return running().logs;
    },
    stop: () => running().stop(),
    close: () => running().close(),
  };
}
