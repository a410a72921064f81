import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import {
  cursor,
  field,
  HttpError,
  redirect,
  requireCsrf,
  requireUser,
  type WebContext,
} from '../context.js';
import { messageViews, userUrl } from '../render.js';

export function timelineRoutes(app: FastifyInstance, ctx: WebContext) {
  app.get('/', async (request, reply) => {
    if (!request.user) return redirect(reply, '/public');
    const page = await ctx.domain.homePage(request.user.user_id, cursor(request));
    return ctx.render.page(request, reply, 'timeline', {
      title: 'My Timeline',
      postBox: true,
      messages: messageViews(page.items),
      next: page.next,
    });
  });

  app.get('/public', async (request, reply) => {
    const page = await ctx.domain.publicPage(cursor(request));
    return ctx.render.page(request, reply, 'timeline', {
      title: 'Public Timeline',
      messages: messageViews(page.items),
      next: page.next,
    });
  });

  app.get<{ Params: { username: string } }>('/:username', async (request, reply) => {
    const profile = await ctx.domain.findUser(request.params.username);
    if (!profile) throw new HttpError(404, 'There is no user with that name.', 'Not Found');
    const before = cursor(request);
    const [page, following] = await Promise.all([
      ctx.domain.userPage(profile.user_id, before),
      request.user && request.user.user_id !== profile.user_id
        ? ctx.domain.isFollowing(request.user.user_id, profile.user_id)
        : false,
    ]);
    return ctx.render.page(request, reply, 'timeline', {
      title: `${profile.username}'s Timeline`,
      profile,
      profileUrl: userUrl(profile.username),
      following,
      messages: messageViews(page.items),
      next: page.next,
    });
  });

  app.post('/add_message', async (request, reply) => {
    const user = requireUser(request);
    requireCsrf(ctx, request);
    const text = field(request.body, 'text');
    if (text !== '') {
      try {
        await ctx.domain.post(user.user_id, text);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        const page = await ctx.domain.homePage(user.user_id);
        return ctx.render.page(
          request,
          reply,
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
      ctx.session.flash(request, reply, 'Your message was recorded');
    }
    return redirect(reply, '/');
  });
}
