import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { TimelineEntry, User } from '../domain/minitwit.js';
import { ApiError, sendError } from './errors.js';
import {
  type FollowBody,
  type ListQuery,
  type MessageBody,
  type RegisterBody,
  rowCount,
  SCHEMAS,
  type UserParams,
} from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** On the API's /msgs/:username and /fllws/:username routes: the user the URL names. */
    namedUser: User | null;
  }
}

export const NOT_AUTHORIZED = 'You are not authorized to use this resource!';

/** `?latest=` as the simulator sends it: an integer other than -1, else nothing to store. */
export function parseLatest(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^-?\d{1,16}$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value !== -1 ? value : undefined;
}

/**
 * Every request may carry `?latest=`: stored before auth and body parsing (an onRequest hook
 * on the whole server), after the security plugin's checks. Registered after `apiSecurity`.
 */
export const recordLatest = fp(
  async (app: FastifyInstance) => {
    app.addHook('onRequest', async (request) => {
      const value = parseLatest((request.query as Record<string, unknown>).latest);
      if (value !== undefined) await app.domain.setLatest(value);
    });
  },
  { name: 'simulator-latest', fastify: '5.x', decorators: { fastify: ['domain'] } },
);

const asJson = (rows: TimelineEntry[]) =>
  rows.map((m) => ({ content: m.text, pub_date: m.pubDate, user: m.username }));

/** Missing or null string fields are empty. */
const text = (value: string | null | undefined) => value ?? '';

/**
 * The course simulator's API: thin handlers over `app.domain`, each route with its schema from
 * schemas.ts. /latest and /register are open; the rest need the simulator's Authorization.
 */
export async function simulatorRoutes(app: FastifyInstance, options: { auth: string }) {
  const { domain } = app;

  app.get('/latest', { schema: SCHEMAS.latest }, async () => ({ latest: await domain.latest() }));

  app.post<{ Body: RegisterBody }>(
    '/register',
    { schema: SCHEMAS.register },
    async (request, reply) => {
      const body = request.body;
      await domain.register({
        username: text(body.username),
        email: text(body.email),
        password: text(body.pwd),
      });
      return reply.code(204).send();
    },
  );

  app.register(simulatorOnly, options);
}

/** The routes only the simulator may use, behind one Authorization check (exact match). */
async function simulatorOnly(app: FastifyInstance, { auth }: { auth: string }) {
  const { domain } = app;
  const expected = Buffer.from(auth);
  app.addHook('onRequest', async (request, reply) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return sendError(reply, 403, NOT_AUTHORIZED);
    }
  });

  app.get<{ Querystring: ListQuery }>(
    '/msgs',
    { schema: SCHEMAS.publicMessages },
    async (request) => asJson(await domain.publicTimeline(rowCount(request.query))),
  );

  app.register(userRoutes);
}

/** The user a /…/:username route names, found by its preValidation hook. */
function namedUser(request: FastifyRequest): User {
  if (!request.namedUser) throw new Error('namedUser is read before it was looked up');
  return request.namedUser;
}

/**
 * /msgs/:username and /fllws/:username. The user is looked up before the body and query are
 * validated, so an unknown user is a 404 whatever else is wrong with the request.
 */
async function userRoutes(app: FastifyInstance) {
  const { domain } = app;
  const userOr404 = async (username: string) => {
    const user = await domain.findUser(username);
    if (!user) throw new ApiError(404, `User "${username}" not found`);
    return user;
  };

  app.decorateRequest('namedUser', null);
  app.addHook<{ Params: UserParams }>('preValidation', async (request) => {
    request.namedUser = await userOr404(request.params.username);
  });

  app.get<{ Params: UserParams; Querystring: ListQuery }>(
    '/msgs/:username',
    { schema: SCHEMAS.userMessages },
    async (request) =>
      asJson(await domain.userTimeline(namedUser(request).user_id, rowCount(request.query))),
  );

  app.post<{ Params: UserParams; Body: MessageBody }>(
    '/msgs/:username',
    { schema: SCHEMAS.postMessage },
    async (request, reply) => {
      const content = text(request.body.content);
      if (content === '') throw new ApiError(400, '"content" must be a non-empty string');
      await domain.post(namedUser(request).user_id, content);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: UserParams; Querystring: ListQuery }>(
    '/fllws/:username',
    { schema: SCHEMAS.follows },
    async (request) => ({
      follows: await domain.followedUsernames(namedUser(request).user_id, rowCount(request.query)),
    }),
  );

  app.post<{ Params: UserParams; Body: FollowBody }>(
    '/fllws/:username',
    { schema: SCHEMAS.follow },
    async (request, reply) => {
      const follow = text(request.body.follow);
      const unfollow = text(request.body.unfollow);
      if (follow === '' && unfollow === '') {
        throw new ApiError(400, 'The body must name a user as "follow" or "unfollow"');
      }
      const user = namedUser(request);
      const target = await userOr404(follow || unfollow);
      if (follow) await domain.follow(user.user_id, target.user_id);
      else await domain.unfollow(user.user_id, target.user_id);
      return reply.code(204).send();
    },
  );
}
