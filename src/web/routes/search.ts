import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { SEARCH_MAX_LENGTH } from '../../domain/search.js';
import { HttpError } from '../errors.js';
import { cursor } from '../http.js';
import { messageViews, userUrl } from '../render.js';

/**
 * GET /search?q=<words>[&before=<cursor>]: users by name, then visible messages holding every
 * word, newest first, paged like the timelines. A plain GET form: works without JavaScript and
 * can be bookmarked. Any text is a query (FTS syntax is never passed through); too long a query
 * or a repeated `q` is a 400 page with the form, never a 500.
 */
export function searchRoutes(app: FastifyInstance) {
  const { domain } = app;

  app.get('/search', async (request, reply) => {
    const raw = (request.query as Record<string, unknown>).q;
    if (raw !== undefined && typeof raw !== 'string') {
      throw new HttpError(400, 'Give one search, as text.', 'Bad Request');
    }
    const q = raw ?? '';
    const before = cursor(request);
    try {
      const result = await domain.search(q, before);
      return reply.page('search', {
        title: q.trim() === '' ? 'Search' : `Search: ${q.trim()}`,
        q,
        maxLength: SEARCH_MAX_LENGTH,
        searched: result.words.length > 0,
        users: result.users.map((u) => ({ username: u.username, url: userUrl(u.username) })),
        messages: messageViews(result.messages.items, { avatars: app.avatarSource }),
        next:
          result.messages.next === undefined
            ? undefined
            : `/search?${new URLSearchParams({ q, before: String(result.messages.next) })}`,
        complete: result.complete,
        firstPage: before === undefined,
      });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return reply.page(
        'search',
        {
          title: 'Search',
          q: '',
          maxLength: SEARCH_MAX_LENGTH,
          error: error.message,
          searched: false,
          users: [],
          messages: [],
          complete: true,
          firstPage: true,
        },
        400,
      );
    }
  });
}
