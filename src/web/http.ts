import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionUser } from '../domain/sessions.js';
import { HttpError, unauthorized } from './errors.js';

/** A form field as a string: missing is empty; a repeated field or another type is refused (400). */
export function field(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | null | undefined)?.[name];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string')
    throw new HttpError(400, `The field "${name}" must be given once, as text.`, 'Bad Request');
  return value;
}

/**
 * The `before` cursor of a timeline page: absent, or a positive whole number in decimal digits
 * (else 400). Any such number is a cursor, however large: one above every id there can be is
 * served as the first page (the store bounds it), so it is capped at 2^53 - 1 here.
 */
export function cursor(
  request: FastifyRequest,
  name: 'before' | 'after' = 'before',
): number | undefined {
  const raw = (request.query as Record<string, unknown>)[name];
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw === 'string' && /^\d+$/.test(raw) && /[1-9]/.test(raw)) {
    return Math.min(Number(raw), Number.MAX_SAFE_INTEGER);
  }
  throw new HttpError(
    400,
    `The page cursor "${name}" must be a positive whole number.`,
    'Bad Request',
  );
}

/**
 * Where a page of a list starts: `?before=<id>` (the page older than that id, the reference's
 * cursor), `?after=<id>` (the page newer than it), or neither (the newest page). Both at once,
 * or a cursor that is not a positive whole number, is a 400.
 */
export function pageCursor(request: FastifyRequest): { before?: number; after?: number } {
  const before = cursor(request, 'before');
  const after = cursor(request, 'after');
  if (before !== undefined && after !== undefined) {
    throw new HttpError(
      400,
      'A page has one cursor: "before" or "after", not both.',
      'Bad Request',
    );
  }
  if (before !== undefined) return { before };
  if (after !== undefined) return { after };
  return {};
}

/** The signed-in user; a 401 error page when nobody is. */
export function requireUser(request: FastifyRequest): SessionUser {
  if (!request.user) throw unauthorized();
  return request.user;
}

export const redirect = (reply: FastifyReply, to: string) => reply.code(302).redirect(to);
