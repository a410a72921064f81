import type { AddressInfo } from 'node:net';
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

/** Starts the real MiniTwit on free loopback ports over `database` (a new one by default). */
export async function startServer(
  kind: DatabaseKind,
  options: { database?: TestDatabase; env?: Record<string, string> } = {},
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
