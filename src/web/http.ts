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

/**
 * Paths a sign-in never returns to: the forms themselves, and the GET links that change state
 * (sign out, follow, unfollow), so a link from another site through the sign-in page cannot
 * make anyone follow someone.
 */
const NO_RETURN = /^\/(?:(?:login|register|logout)|[^/?#]+\/(?:follow|unfollow))(?:[/?#]|$)/;

/**
 * `raw` when it is a path of this site to return to after signing in, else undefined: it must
 * be a string of at most 2,000 characters starting with one `/` and a character that is not
 * `/` or `\\` (a browser reads `//host` and `/\\host` as another site), with no backslash or
 * control character anywhere, and must not be the sign-in, sign-up or sign-out page nor a
 * follow or unfollow link. Absolute
 * URLs (`https://…`, `javascript:…`) are refused by the first rule. Never an open redirect.
 */
export function safeReturnPath(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2000) return undefined;
  if (!/^\/(?![/\\])/.test(raw) || raw.includes('\\')) return undefined;
  // No control character (a browser drops tabs and newlines, which could join `/` and `/`).
  if ([...raw].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c === '\u007f')) return undefined;
  let url: URL;
  try {
    url = new URL(raw, 'http://minitwit.invalid');
  } catch {
    return undefined;
  }
  if (url.origin !== 'http://minitwit.invalid') return undefined;
  const path = `${url.pathname}${url.search}`;
  if (NO_RETURN.test(path)) return undefined;
  return path;
}

/** The sign-in page's address returning to `path` (when it may be returned to). */
export function loginUrl(path: string | undefined): string {
  const back = safeReturnPath(path);
  // The home and public timelines are where a sign-in goes anyway (the reference's '/').
  return back && !/^\/(public)?(\?|$)/.test(back)
    ? `/login?next=${encodeURIComponent(back)}`
    : '/login';
}

/** The signed-in user; a 401 error page when nobody is. */
export function requireUser(request: FastifyRequest): SessionUser {
  if (!request.user) throw unauthorized();
  return request.user;
}

export const redirect = (reply: FastifyReply, to: string) => reply.code(302).redirect(to);
