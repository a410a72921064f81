import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { DomainError } from '../domain/errors.js';
import type { TimelineEntry } from '../domain/minitwit.js';
import { faultAnswer } from '../http/database-faults.js';
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
    /**
     * The request's `?latest=` when its route stores it with its action (see recordLatest);
     * still set when the response is about to be sent, it is stored then.
     */
    pendingLatest: number | undefined;
  }
  interface FastifyContextConfig {
    /** The handler stores `?latest=` in its own statement (see recordLatest). */
    latestInAction?: boolean;
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
 *
 * A route with `config.latestInAction` (the simulator's hot paths) stores it in the same
 * statement as its action instead: the hook only notes it in `request.pendingLatest`, the
 * handler takes it, and whatever answer is sent without the handler having taken it (a 403, a
 * 400, a 404) stores it just before it goes out, so the client never sees an answer before its
 * `latest` is stored.
 */
export const recordLatest = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('pendingLatest', undefined);
    app.addHook('onRequest', (request, _reply, done) => {
      const value = parseLatest((request.query as Record<string, unknown>).latest);
      if (value === undefined) return done();
      if (request.routeOptions.config.latestInAction) {
        request.pendingLatest = value;
        return done();
      }
      app.domain.setLatest(value).then(() => done(), done);
    });
    app.addHook('onSend', (request, reply, payload, done) => {
      const value = request.pendingLatest;
      if (value === undefined) return done(null, payload);
      request.pendingLatest = undefined;
      app.domain.setLatest(value).then(
        () => done(null, payload),
        (error: unknown) => {
          // The answer becomes the database's fault answer (503 + Retry-After, …), as when
          // `latest` is stored before the handler: never an answer whose `latest` was lost.
          const fault = faultAnswer(error);
          const status = fault?.status ?? 500;
          if (status >= 500) request.log.error({ err: error }, 'storing latest failed');
          if (fault?.retryAfter !== undefined)
            reply.header('retry-after', String(fault.retryAfter));
          reply.code(status).type('application/json; charset=utf-8');
          done(null, JSON.stringify({ status, error_msg: fault?.api ?? 'Internal server error' }));
        },
      );
    });
  },
  { name: 'simulator-latest', fastify: '5.x', decorators: { fastify: ['domain'] } },
);

/** Takes the request's pending `latest` for the handler to store with its action. */
function takeLatest(request: FastifyRequest): number | undefined {
  const value = request.pendingLatest;
  request.pendingLatest = undefined;
  return value;
}

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
  app.addHook('onRequest', (request, reply, done) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      sendError(reply, 403, NOT_AUTHORIZED);
      return;
    }
    done();
  });

  app.get<{ Querystring: ListQuery }>(
    '/msgs',
    { schema: SCHEMAS.publicMessages },
    async (request) => asJson(await domain.publicTimeline(rowCount(request.query))),
  );

  app.register(userRoutes);
}

/**
 * /msgs/:username and /fllws/:username: each finds the user and acts in one call to the domain
 * (one statement on PostgreSQL). An unknown user is a 404 whatever else is wrong with the
 * request: a request that fails validation (attached, not answered at once) or names no user to
 * follow is answered only after the user is looked up.
 */
async function userRoutes(app: FastifyInstance) {
  const { domain } = app;
  const notFound = (username: string) => new ApiError(404, `User "${username}" not found`);
  const userOr404 = async (username: string) => {
    const user = await domain.findUser(username);
    if (!user) throw notFound(username);
    return user;
  };
  /** Answers a request that failed validation: 404 for an unknown user, else the 400. */
  const refuse = async (username: string, error: Error) => {
    await userOr404(username);
    throw error;
  };
  const options = { attachValidation: true, config: { latestInAction: true } } as const;

  app.get<{ Params: UserParams; Querystring: ListQuery }>(
    '/msgs/:username',
    { schema: SCHEMAS.userMessages, attachValidation: true },
    async (request) => {
      const { username } = request.params;
      if (request.validationError) return refuse(username, request.validationError);
      const rows = await domain.userTimelineByName(username, rowCount(request.query));
      if (!rows) throw notFound(username);
      return asJson(rows);
    },
  );

  app.post<{ Params: UserParams; Body: MessageBody }>(
    '/msgs/:username',
    { schema: SCHEMAS.postMessage, ...options },
    async (request, reply) => {
      const { username } = request.params;
      if (request.validationError) return refuse(username, request.validationError);
      const content = text(request.body.content);
      if (content === '') {
        return refuse(username, new ApiError(400, '"content" must be a non-empty string'));
      }
      const latest = takeLatest(request);
      let id: number | undefined;
      try {
        id = await domain.postAs(username, content, latest);
      } catch (error) {
        // A text the domain refuses: nothing was stored, `latest` included.
        if (error instanceof DomainError) {
          request.pendingLatest = latest;
          await userOr404(username);
        }
        throw error;
      }
      if (id === undefined) throw notFound(username);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: UserParams; Querystring: ListQuery }>(
    '/fllws/:username',
    { schema: SCHEMAS.follows, attachValidation: true },
    async (request) => {
      const { username } = request.params;
      if (request.validationError) return refuse(username, request.validationError);
      const follows = await domain.followedUsernamesByName(username, rowCount(request.query));
      if (!follows) throw notFound(username);
      return { follows };
    },
  );

  app.post<{ Params: UserParams; Body: FollowBody }>(
    '/fllws/:username',
    { schema: SCHEMAS.follow, ...options },
    async (request, reply) => {
      const { username } = request.params;
      if (request.validationError) return refuse(username, request.validationError);
      const follow = text(request.body.follow);
      const unfollow = text(request.body.unfollow);
      if (follow === '' && unfollow === '') {
        const error = new ApiError(400, 'The body must name a user as "follow" or "unfollow"');
        return refuse(username, error);
      }
      const target = follow || unfollow;
      const missing = await domain.followAs(username, target, !follow, takeLatest(request));
      if (missing) throw notFound(missing === 'user' ? username : target);
      return reply.code(204).send();
    },
  );
}
