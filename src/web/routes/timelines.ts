import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import {
  COUNT_CAP,
  type TimelineEntry,
  type TimelineScope,
  type TwoWayPage,
} from '../../domain/minitwit.js';
import { LIMITS } from '../../domain/validation.js';
import { HttpError } from '../errors.js';
import { field, pageCursor, redirect } from '../http.js';
import { avatarOf, messageViews, userUrl, userViews } from '../render.js';

/** Suggestions a user with an empty home timeline (or who follows nobody) is shown. */
const SUGGESTIONS = 5;

/** A profile count as shown: `1,234`, or `10,000+` at the cap (the store stops counting). */
const shownCount = (n: number) =>
  n >= COUNT_CAP ? `${COUNT_CAP.toLocaleString('en')}+` : n.toLocaleString('en');

/** The composer's "N of 1,000 characters left" for a box holding `text`. */
const left = (text: string) => (LIMITS.message - [...text].length).toLocaleString('en');

/**
 * The home, public and user timelines (each paged both ways: `?before=` older, `?after=`
 * newer), posting a message, and the follow lists of a profile.
 */
export function timelineRoutes(app: FastifyInstance) {
  const { domain, webSession: session } = app;
  const views = (items: TimelineEntry[]) => messageViews(items, { avatars: app.avatarSource });
  const pageData = (page: TwoWayPage<TimelineEntry>, basePath: string) => ({
    messages: views(page.items),
    next: page.next,
    newer: page.newer,
    basePath,
  });

  async function home(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { error?: string; text?: string; restored?: boolean } = {},
    status = 200,
  ) {
    const user = request.user;
    if (!user) return redirect(reply, '/public');
    const cursor = extra.error ? {} : pageCursor(request);
    const page = await domain.timelinePage({ kind: 'home', userId: user.user_id }, cursor);
    // Someone new (nothing to read yet, or following nobody) is shown people to follow.
    const firstPage = cursor.before === undefined && cursor.after === undefined;
    const lonely =
      firstPage &&
      (page.items.length === 0 || page.items.every((m) => m.authorId === user.user_id));
    const suggestions = lonely ? await domain.suggestedUsers(user.user_id, SUGGESTIONS) : [];
    const text = extra.text ?? '';
    return reply.page(
      'timeline',
      {
        title: 'My Timeline',
        postBox: true,
        ...pageData(page, '/'),
        suggestions: userViews(suggestions, app.avatarSource),
        ...extra,
        text,
        left: left(text),
      },
      status,
    );
  }

  app.get('/', async (request, reply) => {
    if (!request.user) return redirect(reply, '/public');
    // A message posted after the session ended comes back into the box (see /add_message).
    const draft = session.takeDraft(request, reply);
    return home(request, reply, draft ? { text: draft, restored: true } : {});
  });

  app.get('/public', async (request, reply) => {
    const page = await domain.timelinePage({ kind: 'public' }, pageCursor(request));
    return reply.page('timeline', { title: 'Public Timeline', ...pageData(page, '/public') });
  });

  app.get<{ Params: { username: string } }>('/:username', async (request, reply) => {
    const profile = await domain.findUser(request.params.username);
    if (!profile) throw new HttpError(404, 'There is no user with that name.', 'Not Found');
    const scope: TimelineScope = { kind: 'user', authorId: profile.user_id };
    const [page, counts, following] = await Promise.all([
      domain.timelinePage(scope, pageCursor(request)),
      domain.profileCounts(profile.user_id),
      request.user && request.user.user_id !== profile.user_id
        ? domain.isFollowing(request.user.user_id, profile.user_id)
        : false,
    ]);
    const url = userUrl(profile.username);
    return reply.page('timeline', {
      title: `${profile.username}'s Timeline`,
      // Only what the page shows: the row's password hash never reaches a template.
      profile: {
        user_id: profile.user_id,
        username: profile.username,
        avatar: avatarOf(profile.username, profile.email, app.avatarSource),
      },
      profileUrl: url,
      counts: {
        ...counts,
        shown: {
          messages: shownCount(counts.messages),
          following: shownCount(counts.following),
          followers: shownCount(counts.followers),
        },
      },
      following,
      ...pageData(page, url),
    });
  });

  for (const side of ['following', 'followers'] as const) {
    app.get<{ Params: { username: string } }>(`/:username/${side}`, async (request, reply) => {
      const profile = await domain.findUser(request.params.username);
      if (!profile) throw new HttpError(404, 'There is no user with that name.', 'Not Found');
      const cursor = pageCursor(request);
      // Here `after` pages forward through the list and `before` back (ids ascending).
      const page = await domain.followPage(profile.user_id, side, cursor);
      const name = profile.username;
      return reply.page('users', {
        title: side === 'following' ? `Who ${name} follows` : `Who follows ${name}`,
        profileUrl: userUrl(name),
        profileName: name,
        users: userViews(page.items, app.avatarSource),
        emptyText:
          side === 'following' ? `${name} follows nobody yet.` : `Nobody follows ${name} yet.`,
        next: page.next,
        newer: page.newer,
      });
    });
  }

  app.post('/add_message', async (request, reply) => {
    if (!request.user) {
      // The session ended while the message was being written: keep it for after sign-in.
      const typed = (request.body as Record<string, unknown> | null | undefined)?.text;
      const text = typeof typed === 'string' ? typed : '';
      session.keepDraft(request, reply, text);
      throw new HttpError(
        401,
        text === ''
          ? 'You need to sign in to do that.'
          : 'You need to sign in to do that. Your message is kept: sign in and it will be back in the box, ready to share.',
        'Unauthorized',
      );
    }
    const text = field(request.body, 'text');
    if (text !== '') {
      try {
        await domain.post(request.user.user_id, text);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return home(request, reply, { error: error.message, text }, 400);
      }
      session.flash(request, reply, 'Your message was recorded');
    }
    return redirect(reply, '/');
  });
}
