import type {
  FastifyReply,
  FastifyRequest,
  onResponseAsyncHookHandler,
  preHandlerAsyncHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import type { SecurityConfig } from '../config/security.js';
import { clientKey } from '../http/client-address.js';
import { type CounterStore, SharedRateLimiter } from '../http/rate-limit.js';

/**
 * The pages have one script and one stylesheet of our own, avatars drawn inline (or, with
 * AVATARS=gravatar, from Gravatar), so the policy allows exactly that: an injected script,
 * inline or from elsewhere, never runs.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
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

export interface SecurityHeadersOptions {
  headers: Record<string, string>;
}

/** Adds `headers` (and HSTS over TLS) to every response of the door, errors and 404s included. */
export const securityHeaders = fp<SecurityHeadersOptions>(
  async (app, { headers }) => {
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
  },
  { name: 'minitwit-web-security-headers' },
);

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

/** The per-username login limiter's key; names longer than any account's are cut, so keys stay small. */
const usernameKey = (username: string) => `u:${username.slice(0, 256)}`;

/** Route-level hooks that put a limit on one form's route; spread into its route options. */
export interface LimitHooks {
  preHandler: preHandlerAsyncHookHandler;
  onResponse?: onResponseAsyncHookHandler;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The brute-force and sign-up-spam limits, as route options of POST /login and /register. */
    formLimits: { login: LimitHooks; register: LimitHooks };
  }
}

/**
 * Brute-force and sign-up-spam limits of the web app, as route hooks (`app.formLimits`) for the
 * form posts. Every POST /login counts against the client address and the username before the
 * password is checked (so parallel guesses are counted too); a successful sign-in gives both
 * back. Every POST /register counts against the address. When a limit is hit the form is shown
 * again with the reason and status 429. Requests of a signed-in user are not counted.
 * The counts live in the database (`counters`), so the limits hold across replicas and workers.
 */
export const webRateLimits = fp<{ security: SecurityConfig; counters: CounterStore }>(
  async (app, { security: s, counters }) => {
    const window = s.authWindowSeconds;
    const loginByAddress = new SharedRateLimiter(counters, 'login-ip', {
      limit: s.loginLimitPerAddress,
      windowSeconds: window,
    });
    const loginByName = new SharedRateLimiter(counters, 'login-user', {
      limit: s.loginLimitPerUsername,
      windowSeconds: window,
    });
    const registerByAddress = new SharedRateLimiter(counters, 'register-ip', {
      limit: s.registerLimitPerAddress,
      windowSeconds: window,
    });
    const counted = new WeakSet<FastifyRequest>();

    const refuse = (
      request: FastifyRequest,
      reply: FastifyReply,
      view: 'login' | 'register',
      text: (seconds: number) => string,
      retryAfter: number,
    ) => {
      const error = text(retryAfter);
      const body = (request.body ?? {}) as Record<string, unknown>;
      const keep = (name: string) => (typeof body[name] === 'string' ? body[name] : '');
      reply.header('retry-after', String(retryAfter));
      request.log.warn({ ip: request.ip, form: view, retryAfter }, 'rate limit hit');
      return reply.page(
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

    const login: LimitHooks = {
      async preHandler(request, reply) {
        if (request.user) return;
        const byAddress = await loginByAddress.hit(clientKey(request.ip));
        if (!byAddress.allowed) {
          return refuse(request, reply, 'login', LIMIT_TEXTS.loginAddress, byAddress.retryAfter);
        }
        counted.add(request);
        const username = (request.body as Record<string, unknown> | undefined)?.username;
        if (typeof username === 'string' && username !== '') {
          const byName = await loginByName.hit(usernameKey(username));
          if (!byName.allowed) {
            return refuse(request, reply, 'login', LIMIT_TEXTS.loginUsername, byName.retryAfter);
          }
        }
      },
      // A sign-in that worked is not a guess: give back what it counted.
      async onResponse(request, reply) {
        if (!counted.has(request) || reply.statusCode !== 302 || !request.user) return;
        await loginByAddress.refund(clientKey(request.ip));
        await loginByName.reset(usernameKey(request.user.username));
      },
    };

    const register: LimitHooks = {
      async preHandler(request, reply) {
        if (request.user) return;
        const byAddress = await registerByAddress.hit(clientKey(request.ip));
        if (!byAddress.allowed) {
          return refuse(request, reply, 'register', LIMIT_TEXTS.register, byAddress.retryAfter);
        }
      },
    };

    app.decorate('formLimits', { login, register });
  },
  { name: 'minitwit-web-rate-limits', dependencies: ['minitwit-web-pages'] },
);
