import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { webAssets } from '../config/paths.js';
import type { MiniTwit } from '../domain/minitwit.js';
import type { Sessions } from '../domain/sessions.js';
import { doorOptions, serverOptions } from '../http/door-options.js';
import { trackRoutes } from '../http/routes.js';
import type { FailureLog } from '../observability/failures.js';
import { installRequestLogging, type Logger } from '../observability/logger.js';
import { crossOriginProtection } from './cross-origin.js';
import { webClientError, webErrors, webFrameworkError } from './errors.js';
import { type AvatarSource, webPages } from './render.js';
import { accountRoutes } from './routes/account.js';
import { followRoutes } from './routes/follows.js';
import { messageRoutes } from './routes/messages.js';
import { searchRoutes } from './routes/search.js';
import { timelineRoutes } from './routes/timelines.js';
import { securityHeaders, WEB_SECURITY_HEADERS, webRateLimits } from './security.js';
import { webSessions } from './session.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The application the web door serves (decorated on the web door only). */
    domain: MiniTwit;
    /** Where the pages' avatars come from (AVATARS). */
    avatarSource: AvatarSource;
  }
}

export interface WebServerOptions {
  config: Config;
  domain: MiniTwit;
  sessions: Sessions;
  logger: Logger;
  /** Where server errors are logged and counted (a FailureLog of `logger` by default). */
  failures?: FailureLog;
}

/** Bodies of web forms are small: a message is at most 1000 characters. */
const WEB_BODY_LIMIT = 16 * 1024;

/**
 * The web door (HTML pages): not yet listening, so the caller may still add routes and hooks.
 * The route modules find everything on the instance: `app.domain`, `app.webSession`,
 * `app.formLimits` and `reply.page()`.
 */
export async function buildWebServer(options: WebServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...serverOptions(options.logger, 'web', options.config.trustProxy, WEB_BODY_LIMIT),
    ...doorOptions(options.config.http),
    frameworkErrors: webFrameworkError,
    clientErrorHandler: webClientError,
  });
  trackRoutes(app);
  await app.register(cookie, {
    // Signs with the first secret; still accepts cookies signed with earlier ones (rotation).
    secret: [options.config.sessionSecret, ...options.config.security.previousSessionSecrets],
  });
  await app.register(formbody);

  app.decorate('domain', options.domain);
  app.decorate('avatarSource', options.config.avatars ?? 'minitwit');
  await app.register(webSessions, { sessions: options.sessions });
  installRequestLogging(app);
  await app.register(securityHeaders, { headers: WEB_SECURITY_HEADERS });
  await app.register(webPages);
  // After the sessions (the refusal page shows who is signed in), before the rate limits (a
  // forged sign-in does not count against the victim's address).
  await app.register(crossOriginProtection, { trustProxy: options.config.trustProxy });
  await app.register(webRateLimits, {
    security: options.config.security,
    counters: options.domain.store,
  });
  await app.register(webErrors, options.failures ? { failures: options.failures } : {});

  const css = readFileSync(resolve(webAssets, 'static/style.css'));
  app.get('/static/style.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(css),
  );

  // The composer's one script (counts what is left); the pages work without it.
  const composer = readFileSync(resolve(webAssets, 'static/composer.js'));
  app.get('/static/composer.js', async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(composer),
  );

  timelineRoutes(app);
  accountRoutes(app);
  followRoutes(app);
  messageRoutes(app);
  searchRoutes(app);

  return app;
}
