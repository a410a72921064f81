import { type FastifyBaseLogger, LogController } from 'fastify';
import { type HttpTimeouts, nodeServerTimeouts } from '../config/http.js';
import { USERNAME_MAX_PATH_LENGTH } from '../domain/validation.js';
import { type Logger, requestId } from '../observability/logger.js';

/**
 * Fastify options both front doors share: our logger, our request ids, our request lines (kept
 * here, not in observability/logger.ts, so that loading the logger does not load Fastify).
 */
export function serverOptions(
  logger: Logger,
  door: 'web' | 'api',
  trustProxy: boolean,
  bodyLimit: number,
) {
  return {
    loggerInstance: logger.child({ door }) as FastifyBaseLogger,
    // Fastify's own two lines per request are replaced by the one line of installRequestLogging.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    trustProxy,
    bodyLimit,
  };
}

/**
 * Fastify options both front doors share about connections and routing:
 * - the head, request and keep-alive timeouts (HTTP_*_TIMEOUT_MS), so a client that stalls is
 *   dropped (with a 408 in the door's shape when it can still be told);
 * - a path parameter as long as any username registration accepts can be, however the client
 *   percent-encoded it (USERNAME_MAX_PATH_LENGTH; Fastify's default of 100 answered 414 to a
 *   name of 51 emoji);
 * - a request that arrives on an open connection while the server closes is served normally
 *   and its connection then closed (Fastify would answer its own JSON 503, in neither door's
 *   shape, for a request the process can still serve: the database closes after the doors).
 */
export function doorOptions(timeouts: HttpTimeouts) {
  const node = nodeServerTimeouts(timeouts);
  return {
    keepAliveTimeout: node.keepAliveTimeout,
    requestTimeout: node.requestTimeout,
    http: node,
    routerOptions: { maxParamLength: USERNAME_MAX_PATH_LENGTH },
    return503OnClosing: false,
  };
}
