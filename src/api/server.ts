import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { DomainError } from '../domain/errors.js';
import type { MiniTwit } from '../domain/minitwit.js';
import { clientErrorHandler } from '../http/client-errors.js';
import { faultAnswer } from '../http/database-faults.js';
import { doorOptions, serverOptions } from '../http/door-options.js';
import { answerUnmatchedEarly, trackRoutes, type Unmatched, unmatched } from '../http/routes.js';
import { FailureLog } from '../observability/failures.js';
import { installRequestLogging, type Logger } from '../observability/logger.js';
import { ApiError, sendError } from './errors.js';
import { recordLatest, simulatorRoutes } from './routes.js';
import { API_AJV_OPTIONS, apiValidationError } from './schemas.js';
import { API_ROUTER_OPTIONS, API_SECURITY_HEADERS, apiSecurity } from './security.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The domain layer, decorated on the API server for its plugins and handlers. */
    domain: MiniTwit;
  }
}

export interface ApiServerOptions {
  config: Config;
  domain: MiniTwit;
  logger: Logger;
  /** Where server errors are logged and counted (a FailureLog of `logger` by default). */
  failures?: FailureLog;
}

/** Simulator bodies are a few hundred bytes; anything near this is not from the simulator. */
export const API_BODY_LIMIT = 64 * 1024;

/**
 * The API's one error handler: every failure as `{"status": <code>, "error_msg": "<text>"}`.
 * ApiError (validation failures included, see schemas.ts) and DomainError keep their texts;
 * Fastify's own 4xx (body too large, wrong content type, broken JSON) get ours; a database
 * condition (sealed for a live migration, busy, unavailable, full, damaged, …) is answered as the
 * one table in http/database-faults.ts says; anything else is a 500. Server errors are logged
 * through `failures` (a stack per kind and interval, every one counted).
 */
function apiErrorHandler(failures: FailureLog) {
  return (
    error: Error & { statusCode?: number; code?: string },
    request: FastifyRequest,
    reply: FastifyReply,
  ) => {
    if (error instanceof ApiError) return sendError(reply, error.statusCode, error.message);
    if (error instanceof DomainError) {
      const status = error.kind === 'not_found' ? 404 : error.kind === 'forbidden' ? 403 : 400;
      return sendError(reply, status, error.message);
    }
    const { statusCode, code } = error;
    if (statusCode && statusCode >= 400 && statusCode < 500) {
      const message =
        statusCode === 413
          ? `The request body is larger than ${API_BODY_LIMIT} bytes`
          : statusCode === 415
            ? 'The request body must be JSON (Content-Type: application/json)'
            : code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
              ? 'The request body is empty but Content-Type says JSON'
              : code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
                ? 'The request body is not valid JSON'
                : error.message;
      return sendError(reply, statusCode, message);
    }
    const fault = faultAnswer(error);
    const status = fault?.status ?? 500;
    if (status >= 500)
      failures.report(request.log, { door: 'api', error, message: 'request failed' });
    if (fault?.retryAfter !== undefined) reply.header('retry-after', String(fault.retryAfter));
    return sendError(reply, status, fault?.api ?? 'Internal server error');
  };
}

/**
 * A request that matched no route: 404, or 405 with Allow when its path has routes for other
 * methods (OPTIONS: 204 with Allow), in the JSON error shape.
 */
function answerUnmatched(request: FastifyRequest, reply: FastifyReply, why: Unmatched) {
  if (why.kind === 'options') return reply.code(204).header('allow', why.allow).send();
  if (why.kind === 'method-not-allowed') {
    reply.header('allow', why.allow);
    return sendError(reply, 405, `${request.method} is not allowed here; use ${why.allow}`);
  }
  return sendError(reply, 404, 'No such endpoint');
}

/**
 * The API's answer to a request Node's HTTP parser refused (not HTTP: 400; headers too large:
 * 431; too slow to arrive: 408), in the JSON error shape instead of Fastify's own.
 */
export const apiClientError = clientErrorHandler(
  ({ status, message }) => ({
    type: 'application/json; charset=utf-8',
    body: JSON.stringify({ status, error_msg: message }),
  }),
  API_SECURITY_HEADERS,
);

/**
 * The simulator API server, not yet listening. Its plugins load in this order: the defences
 * (allow-list, rate limit, headers), then the `?latest=` recorder, then the routes (the
 * simulator-only ones in their own scope, behind the Authorization check). The caller may add
 * routes and response hooks (health probes, metrics) before it listens.
 */
export async function buildApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { config, domain, logger } = options;
  const app = Fastify({
    ...serverOptions(logger, 'api', config.trustProxy, API_BODY_LIMIT),
    ...doorOptions(config.http),
    ...API_ROUTER_OPTIONS,
    ajv: API_AJV_OPTIONS,
    schemaErrorFormatter: apiValidationError,
    clientErrorHandler: apiClientError,
  });
  trackRoutes(app);
  app.decorate('domain', domain);
  installRequestLogging(app);
  app.setErrorHandler(apiErrorHandler(options.failures ?? new FailureLog(logger)));
  app.setNotFoundHandler((request, reply) =>
    answerUnmatched(request, reply, unmatched(app, request)),
  );
  answerUnmatchedEarly(app, answerUnmatched);

  app.register(apiSecurity, { config });
  app.register(recordLatest);
  app.register(simulatorRoutes, { auth: config.simApiAuth });
  return app;
}
