import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MiniTwit, TimelineEntry } from '../domain/minitwit.js';
import { ApiError } from './errors.js';

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
type UserParams = { Params: { username: string } };

export const DEFAULT_NO = 100;
/** The most rows one listing returns; a larger `no` is served as this. */
export const MAX_NO = 10_000;

/** The body as a JSON object, or a 400. */
function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'The request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** A string field: missing or null is empty, any other type is a 400. */
function text(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new ApiError(400, `"${name}" must be a string`);
  return value;
}

/** `?no=`: how many rows, default 100. */
function count(request: FastifyRequest): number {
  const raw = (request.query as Record<string, unknown>).no;
  if (raw === undefined || raw === '') return DEFAULT_NO;
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw)) {
    throw new ApiError(400, '"no" must be a whole number of messages, 0 or more');
  }
  return Math.min(Number(raw), MAX_NO);
}

const asJson = (rows: TimelineEntry[]) =>
  rows.map((m) => ({ content: m.text, pub_date: m.pubDate, user: m.username }));

/** The course simulator's API: thin handlers over the domain. */
export function simulatorRoutes(app: FastifyInstance, domain: MiniTwit, requireSimulator: Hook) {
  const userOr404 = async (username: string) => {
    const user = await domain.findUser(username);
    if (!user) throw new ApiError(404, `User "${username}" not found`);
    return user;
  };

  app.get('/latest', async () => ({ latest: await domain.latest() }));

  app.post('/register', async (request, reply) => {
    const body = object(request.body);
    await domain.register({
      username: text(body, 'username'),
      email: text(body, 'email'),
      password: text(body, 'pwd'),
    });
    return reply.code(204).send();
  });

  app.get('/msgs', { onRequest: requireSimulator }, async (request) =>
    asJson(await domain.publicTimeline(count(request))),
  );

  app.get<UserParams>('/msgs/:username', { onRequest: requireSimulator }, async (request) => {
    const user = await userOr404(request.params.username);
    return asJson(await domain.userTimeline(user.user_id, count(request)));
  });

  app.post<UserParams>(
    '/msgs/:username',
    { onRequest: requireSimulator },
    async (request, reply) => {
      const user = await userOr404(request.params.username);
      const body = object(request.body);
      const content = text(body, 'content');
      if (content === '') throw new ApiError(400, '"content" must be a non-empty string');
      await domain.post(user.user_id, content);
      return reply.code(204).send();
    },
  );

  app.get<UserParams>('/fllws/:username', { onRequest: requireSimulator }, async (request) => {
    const user = await userOr404(request.params.username);
    return { follows: await domain.followedUsernames(user.user_id, count(request)) };
  });

  app.post<UserParams>(
    '/fllws/:username',
    { onRequest: requireSimulator },
    async (request, reply) => {
      const user = await userOr404(request.params.username);
      const body = object(request.body);
      const follow = text(body, 'follow');
      const unfollow = text(body, 'unfollow');
      if (follow === '' && unfollow === '') {
        throw new ApiError(400, 'The body must name a user as "follow" or "unfollow"');
      }
      const target = await userOr404(follow || unfollow);
      if (follow) await domain.follow(user.user_id, target.user_id);
      else await domain.unfollow(user.user_id, target.user_id);
      return reply.code(204).send();
    },
  );
}
