import { ConfigError, type Env, wholeNumber } from './env.js';

/**
 * How long a client may take, on each of the three ports (web, API, metrics). Without these a
 * client that sends half a request head and stalls holds its connection for Node's defaults
 * (60 s for the head, checked every 30 s: 60–90 s), and 500 such clients hold 500 sockets.
 */
export interface HttpTimeouts {
  /** The whole request head (request line and headers) must arrive within this many ms. */
  headersTimeoutMs: number;
  /** The whole request (head and body) must arrive within this many ms. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this many ms without a new request. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

/**
 * HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS and HTTP_KEEP_ALIVE_TIMEOUT_MS (each 100 ms
 * to 1 h). Throws ConfigError naming the variable for an unusable value, or when the head may
 * take longer than the whole request (Node refuses that combination).
 */
export function loadHttpTimeouts(env: Env): HttpTimeouts {
  const hour = 3_600_000;
  const d = DEFAULT_HTTP_TIMEOUTS;
  const timeouts = {
    headersTimeoutMs: wholeNumber(env, 'HTTP_HEADERS_TIMEOUT_MS', d.headersTimeoutMs, 100, hour),
    requestTimeoutMs: wholeNumber(env, 'HTTP_REQUEST_TIMEOUT_MS', d.requestTimeoutMs, 100, hour),
    keepAliveTimeoutMs: wholeNumber(
      env,
      'HTTP_KEEP_ALIVE_TIMEOUT_MS',
      d.keepAliveTimeoutMs,
      100,
      hour,
    ),
  };
  if (timeouts.headersTimeoutMs > timeouts.requestTimeoutMs) {
    throw new ConfigError(
      `HTTP_HEADERS_TIMEOUT_MS (${timeouts.headersTimeoutMs}) must not be more than HTTP_REQUEST_TIMEOUT_MS (${timeouts.requestTimeoutMs})`,
    );
  }
  return timeouts;
}

/**
 * The options of node:http's createServer that enforce `t`. Node checks the head and request
 * deadlines on a timer (30 s by default); it runs here often enough that a stalled client is
 * dropped within about a quarter of the head timeout after it expires (at least every second).
 */
export function nodeServerTimeouts(t: HttpTimeouts) {
  return {
    headersTimeout: t.headersTimeoutMs,
    requestTimeout: t.requestTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(t.headersTimeoutMs / 4))),
  };
}
