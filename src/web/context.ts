import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MiniTwit } from '../domain/minitwit.js';
import type { Renderer } from './render.js';
import type { WebSession } from './session.js';

/** What every web route module is given. */
export interface WebContext {
  domain: MiniTwit;
  session: WebSession;
  render: Renderer;
}

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
export const forbiddenCsrf = () =>
  new HttpError(
    403,
    'This form has expired or did not come from MiniTwit. Go back, reload the page and try again.',
    'Forbidden',
  );

/** A form field as a string: missing is empty; a repeated field or another type is refused. */
export function field(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | null | undefined)?.[name];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string')
    throw new HttpError(400, `The field "${name}" must be given once, as text.`, 'Bad Request');
  return value;
}

/** The `before` cursor of a timeline page: absent, or a positive whole number. */
export function cursor(request: FastifyRequest): number | undefined {
  const raw = (request.query as Record<string, unknown>).before;
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw === 'string' && /^\d{1,15}$/.test(raw) && Number(raw) > 0) return Number(raw);
  throw new HttpError(
    400,
    'The page cursor "before" must be a positive whole number.',
    'Bad Request',
  );
}

export function requireUser(request: FastifyRequest) {
  if (!request.user) throw unauthorized();
  return request.user;
}

export function requireCsrf(ctx: WebContext, request: FastifyRequest) {
  if (
    !ctx.session.csrfValid(request, (request.body as Record<string, unknown> | undefined)?._csrf)
  ) {
    throw forbiddenCsrf();
  }
}

export const redirect = (reply: FastifyReply, to: string) => reply.code(302).redirect(to);
