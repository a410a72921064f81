import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { isDatabaseSealed } from '../db/errors.js';
import { DomainError } from '../domain/errors.js';
import type { MiniTwit } from '../domain/minitwit.js';
import { installRequestLogging, type Logger, serverOptions } from '../observability/logger.js';
import { ApiError, sendError } from './errors.js';
import { simulatorRoutes } from './routes.js';
import { API_ROUTER_OPTIONS, installApiSecurity } from './security.js';

export interface ApiServerOptions {
  config: Config;
  domain: MiniTwit;
  logger: Logger;
}

/** Simulator bodies are a few hundred bytes; anything near this is not from the simulator. */
export const API_BODY_LIMIT = 64 * 1024;

/** `?latest=` as the simulator sends it: an integer other than -1, else nothing to store. */
export function parseLatest(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^-?\d{1,16}$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value !== -1 ? value : undefined;
}

export async function buildApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { config, domain } = options;
  const app = Fastify({
    ...serverOptions(options.logger, 'api', options.config.trustProxy, API_BODY_LIMIT),
    ...API_ROUTER_OPTIONS,
  });
  installRequestLogging(app);
  installApiSecurity(app, config, options.logger);

  // Before anything else, auth and body parsing included: remember the simulator's action id.
  app.addHook('onRequest', async (request) => {
    const value = parseLatest((request.query as Record<string, unknown>).latest);
    if (value !== undefined) await domain.setLatest(value);
  });

  const expected = Buffer.from(config.simApiAuth);
  const requireSimulator = async (request: FastifyRequest, reply: FastifyReply) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return sendError(reply, 403, 'You are not authorized to use this resource!');
    }
  };

  simulatorRoutes(app, domain, requireSimulator);

  app.setNotFoundHandler((_request, reply) => sendError(reply, 404, 'No such endpoint'));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof ApiError) return sendError(reply, error.statusCode, error.message);
    if (error instanceof DomainError) {
      return sendError(reply, error.kind === 'not_found' ? 404 : 400, error.message);
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      const message =
        error.statusCode === 413
          ? `The request body is larger than ${API_BODY_LIMIT} bytes`
          : error.statusCode === 415
            ? 'The request body must be JSON (Content-Type: application/json)'
            : error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
              ? 'The request body is empty but Content-Type says JSON'
              : error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
                ? 'The request body is not valid JSON'
                : error.message;
      return sendError(reply, error.statusCode, message);
    }
    if (isDatabaseSealed(error)) {
      reply.header('retry-after', '1');
      return sendError(reply, 503, 'The database is moving: writes are paused, retry shortly');
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 500, 'Internal server error');
  });

  return app;
}
