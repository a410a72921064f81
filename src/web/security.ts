import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { clientKey } from '../http/client-address.js';
import { RateLimiter } from '../http/rate-limit.js';
import type { WebContext } from './context.js';
import { createTemplates } from './render.js';

/**
 * The pages have no script at all, one stylesheet of our own and avatars from Gravatar, so the
 * policy allows exactly that: an injected script, inline or not, never runs.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self' https://www.gravatar.com",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers every web response carries; HSTS is added when the request came over TLS. */
export const WEB_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

export const HSTS = 'max-age=31536000; includeSubDomains';

/** Adds `headers` (and HSTS over TLS) to every response of `app`, errors and 404s included. */
export function installSecurityHeaders(app: FastifyInstance, headers: Record<string, string>) {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.headers(headers);
    if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
    // A page made for a signed-in user (CSRF token, name, home timeline) is never stored by a
    // shared cache such as a reverse proxy.
    if (request.user && !reply.hasHeader('cache-control')) {
      reply.header('cache-control', 'private, no-store');
    }
    return payload;
  });
}

const minutes = (seconds: number) =>
  seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;

export const LIMIT_TEXTS = {
  loginAddress: (s: number) =>
    `Too many failed sign-ins from your network. Please wait ${minutes(s)} and try again.`,
  loginUsername: (s: number) =>
    `Too many failed sign-ins for this username. Please wait ${minutes(s)} and try again.`,
  register: (s: number) =>
    `Too many sign-ups from your network. Please wait ${minutes(s)} and try again.`,
};

/**
 * Brute-force and sign-up-spam limits of the web app. Every POST /login counts against the
 * client address and the username before the password is checked (so parallel guesses are
 * counted too); a successful sign-in gives both back. Every POST /register counts against the
 * address. When a limit is hit the form is shown again with the reason and status 429.
 */
/** The per-username login limiter's key; names longer than any account's are cut, so keys stay small. */
const usernameKey = (username: string) => `u:${username.slice(0, 256)}`;

export function installWebRateLimits(app: FastifyInstance, ctx: WebContext, config: Config) {
  const s = config.security;
  const window = s.authWindowSeconds;
  const loginByAddress = new RateLimiter({ limit: s.loginLimitPerAddress, windowSeconds: window });
  const loginByName = new RateLimiter({ limit: s.loginLimitPerUsername, windowSeconds: window });
  const registerByAddress = new RateLimiter({
    limit: s.registerLimitPerAddress,
    windowSeconds: window,
  });
  const counted = new WeakSet<FastifyRequest>();

  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    view: 'login' | 'register',
    error: string,
    retryAfter: number,
  ) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const keep = (name: string) => (typeof body[name] === 'string' ? body[name] : '');
    reply.header('retry-after', String(retryAfter));
    request.log.warn({ ip: request.ip, form: view, retryAfter }, 'rate limit hit');
    return ctx.render.page(
      request,
      reply,
      view,
      {
        title: view === 'login' ? 'Sign In' : 'Sign Up',
        error,
        username: keep('username'),
        email: keep('email'),
      },
      429,
    );
  };

  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || request.user) return;
    const path = request.routeOptions.url;
    if (path === '/login') {
      const byAddress = loginByAddress.hit(clientKey(request.ip));
      if (!byAddress.allowed) {
        return refuse(
          request,
          reply,
          'login',
          LIMIT_TEXTS.loginAddress(byAddress.retryAfter),
          byAddress.retryAfter,
        );
      }
      counted.add(request);
      const username = (request.body as Record<string, unknown> | undefined)?.username;
      if (typeof username === 'string' && username !== '') {
        const byName = loginByName.hit(usernameKey(username));
        if (!byName.allowed) {
          return refuse(
            request,
            reply,
            'login',
            LIMIT_TEXTS.loginUsername(byName.retryAfter),
            byName.retryAfter,
          );
        }
      }
    } else if (path === '/register') {
      const byAddress = registerByAddress.hit(clientKey(request.ip));
      if (!byAddress.allowed) {
        return refuse(
          request,
          reply,
          'register',
          LIMIT_TEXTS.register(byAddress.retryAfter),
          byAddress.retryAfter,
        );
      }
    }
  });

  // A sign-in that worked is not a guess: give back what it counted.
  app.addHook('onResponse', async (request, reply) => {
    if (!counted.has(request) || reply.statusCode !== 302 || !request.user) return;
    loginByAddress.refund(clientKey(request.ip));
    loginByName.reset(usernameKey(request.user.username));
  });
}

/** A renderer for pages shown before any hook ran: no session, no cookies, no CSRF token. */
const bare = createTemplates();

/**
 * Errors the router raises before any hook runs (a URL with broken percent-encoding, a path
 * segment over 100 characters): answered with the error page, not Fastify's JSON.
 */
export function webFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
) {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const html = bare.render('error', {
    title: 'Bad Request',
    message: tooLong
      ? 'That address is too long: no page of MiniTwit has one like it.'
      : 'That address is not valid: it has broken percent-encoding.',
    user: null,
    flashes: [],
    csrf: '',
  });
  return reply
    .code(tooLong ? 414 : 400)
    .headers(WEB_SECURITY_HEADERS)
    .type('text/html; charset=utf-8')
    .send(html);
}
