import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { HttpError } from '../errors.js';
import { field, redirect, requireUser } from '../http.js';
import { formatDate } from '../render.js';
import { safeReturnPath } from '../return-to.js';

type Request = FastifyRequest<{ Params: { id: string } }>;

/** A same-site path to return to after deleting (see safeReturnPath), else `fallback`. */
const backTo = (value: string | undefined, fallback = '/') => safeReturnPath(value) ?? fallback;

/** The page that linked here, when it is on this site (the Referer's path and query). */
function referringPath(request: FastifyRequest): string | undefined {
  const referer = request.headers.referer;
  if (typeof referer !== 'string') return undefined;
  try {
    const url = new URL(referer);
    if (url.host !== request.headers.host) return undefined;
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
}

/** The message id in the path: a positive whole number in decimal digits, else a 404 page. */
function messageId(request: Request): number {
  const raw = request.params.id;
  if (!/^[1-9]\d{0,15}$/.test(raw)) {
    throw new HttpError(404, 'There is no such message.', 'Not Found');
  }
  return Number(raw);
}

/** DomainErrors as the error page: 404 for no such message, 403 for someone else's. */
function asPage(error: unknown): unknown {
  if (!(error instanceof DomainError)) return error;
  if (error.kind === 'forbidden') return new HttpError(403, error.message, 'Forbidden');
  if (error.kind === 'not_found') return new HttpError(404, error.message, 'Not Found');
  return new HttpError(400, error.message, 'Bad Request');
}

/**
 * Deleting one's own message: GET /messages/<id>/delete shows the message and asks to confirm
 * (changing nothing); the page's form POSTs to the same address, which browsers may only send
 * from our own pages (cross-origin.ts), deletes it (a soft delete), and returns to the page the
 * user came from with a flash. Another user's message is a 403 page, a missing one a 404.
 */
export function messageRoutes(app: FastifyInstance) {
  const { domain, webSession: session } = app;

  app.get<{ Params: { id: string } }>('/messages/:id/delete', async (request, reply) => {
    const user = requireUser(request);
    const id = messageId(request);
    const message = await domain.messageToDelete(user.user_id, id).catch((error: unknown) => {
      throw asPage(error);
    });
    if (message.deleted) {
      session.flash(request, reply, 'That message was already deleted');
      return redirect(reply, '/');
    }
    const here = `/messages/${id}/delete`;
    const from = referringPath(request);
    return reply.page('delete', {
      title: 'Delete this message?',
      question: 'This message will no longer be shown anywhere. Do you want to delete it?',
      message: {
        text: message.text,
        date: formatDate(message.pubDate),
        iso: new Date(message.pubDate * 1000).toISOString(),
      },
      action: here,
      button: 'Delete message',
      back: backTo(from === here ? undefined : from),
    });
  });

  app.post<{ Params: { id: string } }>('/messages/:id/delete', async (request, reply) => {
    const user = requireUser(request);
    const id = messageId(request);
    const back = backTo(field(request.body, 'back') || undefined);
    const deleted = await domain.deleteMessage(user.user_id, id).catch((error: unknown) => {
      throw asPage(error);
    });
    session.flash(
      request,
      reply,
      deleted ? 'Your message was deleted' : 'That message was already deleted',
    );
    return redirect(reply, back);
  });
}
