import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { HttpError } from '../errors.js';
import { cursor, field, redirect, requireUser } from '../http.js';
import { messageViews, userUrl } from '../render.js';

/** The home, public and user timelines, and posting a message. */
export function timelineRoutes(app: FastifyInstance) {
  const { domain, webSession: session } = app;

  app.get('/', async (request, reply) => {
    if (!request.user) return redirect(reply, '/public');
    const page = await domain.homePage(request.user.user_id, cursor(request));
    return reply.page('timeline', {
      title: 'My Timeline',
      postBox: true,
      messages: messageViews(page.items),
      next: page.next,
    });
  });

  app.get('/public', async (request, reply) => {
    const page = await domain.publicPage(cursor(request));
    return reply.page('timeline', {
      title: 'Public Timeline',
      messages: messageViews(page.items),
      next: page.next,
    });
  });

  app.get<{ Params: { username: string } }>('/:username', async (request, reply) => {
    const profile = await domain.findUser(request.params.username);
    if (!profile) throw new HttpError(404, 'There is no user with that name.', 'Not Found');
    const before = cursor(request);
    const [page, following] = await Promise.all([
      domain.userPage(profile.user_id, before),
      request.user && request.user.user_id !== profile.user_id
        ? domain.isFollowing(request.user.user_id, profile.user_id)
        : false,
    ]);
    return reply.page('timeline', {
      title: `${profile.username}'s Timeline`,
      // Only what the page shows: the row's password hash never reaches a template.
      profile: { user_id: profile.user_id, username: profile.username },
      profileUrl: userUrl(profile.username),
      following,
      messages: messageViews(page.items),
      next: page.next,
    });
  });

  app.post('/add_message', async (request, reply) => {
    const user = requireUser(request);
    const text = field(request.body, 'text');
    if (text !== '') {
      try {
        await domain.post(user.user_id, text);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        const page = await domain.homePage(user.user_id);
        return reply.page(
          'timeline',
          {
            title: 'My Timeline',
            postBox: true,
            error: error.message,
            text,
            messages: messageViews(page.items),
            next: page.next,
          },
          400,
        );
      }
      session.flash(request, reply, 'Your message was recorded');
    }
    return redirect(reply, '/');
  });
}
