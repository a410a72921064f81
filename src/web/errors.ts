import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type ClientErrorAnswer, clientErrorHandler } from '../http/client-errors.js';
import { faultAnswer } from '../http/database-faults.js';
import { answerUnmatchedEarly, type Unmatched, unmatched } from '../http/routes.js';
import { FailureLog } from '../observability/failures.js';
import { createTemplates } from './render.js';
import { WEB_SECURITY_HEADERS } from './security.js';

/** An error a route raises on purpose: shown as the error page with this status and title. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly title = 'Error',
  ) {
    super(message);
  }
}

export const unauthorized = () =>
  new HttpError(401, 'You need to sign in to do that.', 'Unauthorized');
/** A state-changing request a browser sent from another site or origin (src/web/cross-origin.ts). */
export const crossOriginRefusal = () =>
  new HttpError(
    403,
    'This request came from another site, so MiniTwit did not carry it out. If you meant to do this, open MiniTwit and do it there.',
    'Forbidden',
  );

/** What the error page says about one error. */
export interface ErrorPage {
  status: number;
  title: string;
  message: string;
  /** Seconds to send as Retry-After, when trying again soon will work. */
  retryAfter?: number;
}

/**
 * The error page for an error a request raised: our own HttpErrors as raised, a database
 * condition (sealed for a live migration, busy, unavailable, full, damaged, …) as the one table
 * in http/database-faults.ts says, Fastify's client errors (bad body, too large) as 4xx, anything
 * else as 500.
 */
export function errorPage(error: Error & { statusCode?: number }): ErrorPage {
  if (error instanceof HttpError) {
    return { status: error.statusCode, title: error.title, message: error.message };
  }
  const fault = faultAnswer(error);
  if (fault) {
    return {
      status: fault.status,
      title: fault.title,
      message: fault.page,
      ...(fault.retryAfter !== undefined ? { retryAfter: fault.retryAfter } : {}),
    };
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    const tooLarge = error.statusCode === 413;
    return {
      status: error.statusCode,
      title: tooLarge ? 'Too Large' : 'Bad Request',
      message: tooLarge
        ? 'That was more than this form accepts.'
        : 'The request could not be understood.',
    };
  }
  return {
    status: 500,
    title: 'Something went wrong',
    message:
      'The server could not finish this request. Nothing you had already saved is lost; please try again.',
  };
}

/**
 * The web door's one error handler and one not-found handler, both answering with the error
 * page in the layout (signed-in user, flashes). Server errors are logged through `failures`
 * (a stack per kind and interval, every one counted). Register before the routes: a route takes
 * the error handler its instance has when it is added. A request that matched no route is a 404
 * page, or, when its path has routes for other methods, a 405 page with Allow (OPTIONS: 204
 * with Allow).
 */
export const webErrors = fp(
  async (app, options: { failures?: FailureLog }) => {
    const failures = options.failures ?? new FailureLog(app.log);
    app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
      const { status, title, message, retryAfter } = errorPage(error);
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
      if (status >= 500) {
        failures.report(request.log, { door: 'web', error, message: 'request failed' });
      }
      return reply.page('error', { title, message }, status);
    });
    const answerUnmatched = (request: FastifyRequest, reply: FastifyReply, why: Unmatched) => {
      if (why.kind === 'options') return reply.code(204).header('allow', why.allow).send();
      if (why.kind === 'method-not-allowed') {
        reply.header('allow', why.allow);
        const message = `This page does not take ${request.method} requests (it takes ${why.allow}).`;
        return reply.page('error', { title: 'Method Not Allowed', message }, 405);
      }
      return reply.page('error', { title: 'Not Found', message: 'There is no such page.' }, 404);
    };
    app.setNotFoundHandler((request, reply) =>
      answerUnmatched(request, reply, unmatched(app, request)),
    );
    answerUnmatchedEarly(app, answerUnmatched);
  },
  { name: 'minitwit-web-errors', dependencies: ['minitwit-web-pages'] },
);

/** A renderer for pages shown before any hook ran: no session, no cookies. */
const bare = createTemplates();

/**
 * Fastify's `frameworkErrors` for the web door: errors the router raises before any hook runs
 * (a URL with broken percent-encoding: 400; a path segment over 100 characters: 414), answered
 * with the bare error page and the security headers instead of Fastify's JSON.
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
  });
  return reply
    .code(tooLong ? 414 : 400)
    .headers(WEB_SECURITY_HEADERS)
    .type('text/html; charset=utf-8')
    .send(html);
}

const CLIENT_ERROR_PAGES: Record<ClientErrorAnswer['status'], { title: string; message: string }> =
  {
    400: {
      title: 'Bad Request',
      message: 'Your browser sent a request MiniTwit could not understand.',
    },
    408: {
      title: 'Request Timeout',
      message: 'The request took too long to arrive. Please try again.',
    },
    431: {
      title: 'Request Header Fields Too Large',
      message:
        "The request carried more header data than MiniTwit accepts (often too many cookies): clear this site's cookies and try again.",
    },
  };

/**
 * Fastify's `clientErrorHandler` for the web door: a request Node's HTTP parser refused (not
 * HTTP: 400; headers too large: 431; too slow to arrive: 408) gets the bare error page with the
 * security headers, instead of Fastify's JSON.
 */
export const webClientError = clientErrorHandler(
  ({ status }) => ({
    type: 'text/html; charset=utf-8',
    body: bare.render('error', {
      ...CLIENT_ERROR_PAGES[status],
      user: null,
      flashes: [],
      csrf: '',
    }),
  }),
  WEB_SECURITY_HEADERS,
);
