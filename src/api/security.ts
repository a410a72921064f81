import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type Config, DEFAULT_SIM_API_AUTH } from '../config/config.js';
import { AddressMatcher, clientKey } from '../http/client-address.js';
import { RateLimiter } from '../http/rate-limit.js';
import { sendError } from './errors.js';

export const API_SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Router options for the API: errors the router raises before any hook (a URL with broken
 * percent-encoding, a path parameter over 100 characters) answered in the JSON error shape
 * instead of Fastify's own.
 */
export const API_ROUTER_OPTIONS = {
  frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
    reply.headers(API_SECURITY_HEADERS);
    const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
    const message =
      error.code === 'FST_ERR_BAD_URL'
        ? 'The URL is not valid: it has broken percent-encoding'
        : status === 414
          ? 'A part of the URL is too long'
          : 'The request could not be understood';
    return sendError(reply, status, message);
  },
};

export const NOT_ALLOWED = 'This client address is not allowed to use the simulator API';
export const TOO_MANY = 'Too many requests from this client address; slow down';

/**
 * The simulator API's own defences, as one named plugin that applies to the whole server
 * (unencapsulated), registered before anything else reads the request (even `?latest=`): the
 * optional client allow-list (SIM_API_ALLOW), the per-address request limit (API_RATE_LIMIT per
 * API_RATE_WINDOW_SECONDS), security headers, and a start-up warning when production runs with
 * the course's well-known credentials. Routes marked `config: { probe: true }` (the health
 * probes, which reveal nothing and change nothing) pass the allow-list and the limit; unknown
 * paths do not.
 */
export const apiSecurity = fp(
  async (app: FastifyInstance, { config }: { config: Config }) => {
    const s = config.security;
    if (config.production && config.simApiAuth === DEFAULT_SIM_API_AUTH) {
      app.log.warn(
        "SIM_API_AUTH is the course's well-known default: anyone can post as any user through the simulator API; set SIM_API_AUTH to a secret value shared only with the simulator",
      );
    }

    const allow = new AddressMatcher(s.simApiAllow);
    if (!allow.empty) {
      app.log.info(
        { allow: s.simApiAllow.map((c) => c.text), trustProxy: config.trustProxy },
        'simulator API allow-list (SIM_API_ALLOW) is on',
      );
    }
    // One log line per refused address per minute, so a scan cannot fill the disk.
    const refusalLog = new RateLimiter({ limit: 1, windowSeconds: 60 });
    const limiter = new RateLimiter({ limit: s.apiLimit, windowSeconds: s.apiWindowSeconds });

    // Callback hooks, not async ones: no promise per request.
    app.addHook('onRequest', (request, reply, done) => {
      if (request.routeOptions.config.probe || (allow.empty && !limiter.enabled)) return done();
      if (!allow.empty && !allow.matches(request.ip)) {
        if (refusalLog.hit(request.ip).allowed) {
          request.log.warn(
            {
              ip: request.ip,
              peer: request.socket.remoteAddress,
              forwardedFor: request.headers['x-forwarded-for'],
              trustProxy: config.trustProxy,
              allow: s.simApiAllow.map((c) => c.text),
            },
            `simulator API refused ${request.ip}: not in SIM_API_ALLOW (further refusals of this address are not logged for a minute)`,
          );
        }
        sendError(reply, 403, NOT_ALLOWED);
        return;
      }
      if (limiter.enabled) {
        const decision = limiter.hit(clientKey(request.ip));
        if (!decision.allowed) {
          reply.header('retry-after', String(decision.retryAfter));
          sendError(reply, 429, TOO_MANY);
          return;
        }
      }
      done();
    });

    app.addHook('onSend', (_request, reply, payload, done) => {
      reply.headers(API_SECURITY_HEADERS);
      done(null, payload);
    });
  },
  { name: 'api-security', fastify: '5.x' },
);
