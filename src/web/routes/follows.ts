import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isSameSiteNavigation } from '../cross-origin.js';
import { HttpError } from '../errors.js';
import { redirect, requireUser } from '../http.js';
import { userUrl } from '../render.js';

type Action = 'follow' | 'unfollow';
type Request = FastifyRequest<{ Params: { username: string } }>;

const DONE: Record<Action, (name: string) => string> = {
  follow: (name) => `You are now following "${name}"`,
  unfollow: (name) => `You are no longer following "${name}"`,
};

/**
 * Follow and unfollow. The buttons post a form, which a browser may only send from our own
 * pages (cross-origin.ts). The reference's GET links keep working when the request comes from
 * this site or the user's own address bar; a GET started by another site only gets a page
 * asking to confirm with a button, so it changes nothing.
 */
export function followRoutes(app: FastifyInstance) {
  const { domain, webSession: session } = app;

  async function target(request: Request) {
    const user = requireUser(request);
    const whom = await domain.findUser(request.params.username);
    if (!whom) throw new HttpError(404, 'There is no user with that name.', 'Not Found');
    return { user, whom };
  }

  async function act(action: Action, request: Request, reply: FastifyReply) {
    const { user, whom } = await target(request);
    if (action === 'follow') await domain.follow(user.user_id, whom.user_id);
    else await domain.unfollow(user.user_id, whom.user_id);
    session.flash(request, reply, DONE[action](whom.username));
    return redirect(reply, userUrl(whom.username));
  }

  for (const action of ['follow', 'unfollow'] as const) {
    app.get<{ Params: { username: string } }>(`/:username/${action}`, async (request, reply) => {
      if (isSameSiteNavigation(request)) return act(action, request, reply);
      const { whom } = await target(request);
      const url = userUrl(whom.username);
      const verb = action === 'follow' ? 'Follow' : 'Unfollow';
      return reply.page('confirm', {
        title: `${verb} ${whom.username}?`,
        question: `A link from another site asked to ${action} "${whom.username}". Do you want to?`,
        action: `${url}/${action}`,
        button: `${verb} user`,
        back: url,
      });
    });

    app.post<{ Params: { username: string } }>(`/:username/${action}`, async (request, reply) => {
      requireUser(request);
      return act(action, request, reply);
    });
  }
}
