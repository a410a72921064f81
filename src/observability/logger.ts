import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { prettyDestination } from './pretty-log.js';

export type { Logger };

/** Values that must never reach a log line, wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'password',
  'password2',
  'pwd',
  'pw_hash',
  '*.password',
  '*.password2',
  '*.pwd',
  '*.pw_hash',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

export interface LoggerOptions {
  level: string;
  /** Where lines go; by default an asynchronous writer on standard output. */
  destination?: pino.DestinationStream;
  /** Short human-readable lines on standard output instead of JSON (development). */
  pretty?: boolean;
}

/**
 * JSON lines through an asynchronous destination: a synchronous write per request halved
 * hello-world throughput here.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.destination ??
    (options.pretty
      ? prettyDestination()
      : pino.destination({ dest: 1, sync: false, minLength: 0 }));
  return pino(
    {
      level: options.level,
      base: { service: 'minitwit' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** A request id from X-Request-Id when it is a sane token, otherwise a fresh UUID. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID();
}

/** One line per finished request, and the request id echoed back to the client. */
export function installRequestLogging(app: FastifyInstance) {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });
}
