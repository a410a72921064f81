import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { webAssets } from '../config/paths.js';
import { isDatabaseSealed } from '../db/errors.js';
import type { MiniTwit } from '../domain/minitwit.js';
import type { Sessions } from '../domain/sessions.js';
import { installRequestLogging, type Logger, serverOptions } from '../observability/logger.js';
import { HttpError, type WebContext } from './context.js';
import { Renderer } from './render.js';
import { accountRoutes } from './routes/account.js';
import { followRoutes } from './routes/follows.js';
import { timelineRoutes } from './routes/timelines.js';
import {
  installSecurityHeaders,
  installWebRateLimits,
  WEB_SECURITY_HEADERS,
  webFrameworkError,
} from './security.js';
import { WebSession } from './session.js';

export interface WebServerOptions {
  config: Config;
  domain: MiniTwit;
  sessions: Sessions;
  logger: Logger;
}

/** Bodies of web forms are small: a message is at most 1000 characters. */
const WEB_BODY_LIMIT = 16 * 1024;

export async function buildWebServer(options: WebServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...serverOptions(options.logger, 'web', options.config.trustProxy, WEB_BODY_LIMIT),
    frameworkErrors: webFrameworkError,
  });
  await app.register(cookie, {
    // Signs with the first secret; still accepts cookies signed with earlier ones (rotation).
    secret: [options.config.sessionSecret, ...options.config.security.previousSessionSecrets],
  });
  await app.register(formbody);

  const session = new WebSession(options.sessions, options.config.sessionSecret);
  session.install(app);
  const ctx: WebContext = { domain: options.domain, session, render: new Renderer(session) };
  installRequestLogging(app);
  installSecurityHeaders(app, WEB_SECURITY_HEADERS);
  installWebRateLimits(app, ctx, options.config);

  const css = readFileSync(resolve(webAssets, 'static/style.css'));
  app.get('/static/style.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(css),
  );

  timelineRoutes(app, ctx);
  accountRoutes(app, ctx);
  followRoutes(app, ctx);

  app.setNotFoundHandler((request, reply) =>
    ctx.render.page(
      request,
      reply,
      'error',
      { title: 'Not Found', message: 'There is no such page.' },
      404,
    ),
  );

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    let status = 500;
    let title = 'Something went wrong';
    let message =
      'The server could not finish this request. Nothing you had already saved is lost; please try again.';
    if (error instanceof HttpError) {
      status = error.statusCode;
      title = error.title;
      message = error.message;
    } else if (isDatabaseSealed(error)) {
      status = 503;
      title = 'Service Unavailable';
      message = 'MiniTwit is moving to a new database: please try again in a moment.';
      reply.header('retry-after', '1');
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      title = status === 413 ? 'Too Large' : 'Bad Request';
      message =
        status === 413
          ? 'That was more than this form accepts.'
          : 'The request could not be understood.';
    }
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return ctx.render.page(request, reply, 'error', { title, message }, status);
  });

  return app;
}
