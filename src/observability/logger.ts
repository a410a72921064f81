import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

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
  /**
   * Readable lines instead of JSON (a person at a terminal): pino-pretty, one line per entry,
   * `12:00:01.123 INFO: [api] request method=GET …`; colours when standard output is a terminal.
   */
  pretty?: boolean;
}

/**
 * The readable form of log lines, written to `destination` (standard output by default): the
 * time, the level, the door in brackets, the message, then the other fields on the same line.
 */
export function prettyStream(destination: number | NodeJS.WritableStream = 1) {
  return pretty({
    destination,
    sync: true,
    colorize: destination === 1 && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    // The door is in the message's head; a start-up line's URL and database are in its text.
    ignore: 'pid,hostname,service,door,url,database',
    messageFormat: '{if door}[{door}] {end}{msg}',
    singleLine: true,
  });
}

/** Fastify announces every address it listens on (three lines a port on this host); app.listen says it once per door. */
function dropListenAnnouncements(this: pino.Logger, args: unknown[], method: pino.LogFn) {
  if (typeof args[0] === 'string' && args[0].startsWith('Server listening at ')) return;
  method.apply(this, args as Parameters<pino.LogFn>);
}

/**
 * JSON lines through an asynchronous destination: a synchronous write per request halved
 * hello-world throughput here. `pretty` writes readable lines instead (see prettyStream).
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.destination ??
    (options.pretty ? prettyStream() : pino.destination({ dest: 1, sync: false, minLength: 0 }));
  return pino(
    {
      level: options.level,
      base: { service: 'minitwit' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: { logMethod: dropListenAnnouncements },
    },
    destination,
  );
}

/** A request id from X-Request-Id when it is a sane token, otherwise a fresh UUID. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID();
}

/**
 * One line per finished request, and the request id echoed back to the client. Callback hooks,
 * not async ones: no promise per request on the path every request takes.
 */
export function installRequestLogging(app: FastifyInstance) {
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
    done();
  });
}
