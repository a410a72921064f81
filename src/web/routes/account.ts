import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { TEXTS } from '../../domain/validation.js';
import { isSameSiteNavigation } from '../cross-origin.js';
import { field, redirect } from '../http.js';
import { safeReturnPath } from '../return-to.js';

const REFERENCE = new Set<string>(Object.values(TEXTS));

/** Sign-up, sign-in and sign-out. */
export function accountRoutes(app: FastifyInstance) {
  const { domain, webSession: session } = app;

  // `?next=` (a form field on the POST) is where a sign-in returns: a path of this site only
  // (safeReturnPath), else '/' as in the reference.
  const nextOf = (value: unknown) => safeReturnPath(typeof value === 'string' ? value : undefined);

  app.get('/login', async (request, reply) => {
    const next = nextOf((request.query as Record<string, unknown>).next);
    if (request.user) return redirect(reply, next ?? '/');
    return reply.page('login', { title: 'Sign In', next });
  });

  app.post('/login', app.formLimits.login, async (request, reply) => {
    const next = nextOf((request.body as Record<string, unknown> | null | undefined)?.next);
    if (request.user) return redirect(reply, next ?? '/');
    const username = field(request.body, 'username');
    const password = field(request.body, 'password');
    const show = (error: string, status: number) =>
      reply.page('login', { title: 'Sign In', error, username, next }, status);
    try {
      const user = await domain.authenticate(username, password);
      await session.signIn(request, reply, user);
    } catch (error) {
      if (error instanceof DomainError) return show(error.message, 200);
      throw error;
    }
    session.flash(request, reply, 'You were logged in');
    return redirect(reply, next ?? '/');
  });

  app.get('/register', async (request, reply) => {
    if (request.user) return redirect(reply, '/');
    return reply.page('register', { title: 'Sign Up' });
  });

  app.post('/register', app.formLimits.register, async (request, reply) => {
    if (request.user) return redirect(reply, '/');
    const username = field(request.body, 'username');
    const email = field(request.body, 'email');
    const show = (error: string, status: number) =>
      reply.page('register', { title: 'Sign Up', error, username, email }, status);
    try {
      await domain.register({
        username,
        email,
        password: field(request.body, 'password'),
        password2: field(request.body, 'password2'),
      });
    } catch (error) {
      // The reference's own checks re-show the form with 200, as its tests expect; breaking
      // one of our input limits is a 400.
      if (error instanceof DomainError)
        return show(error.message, REFERENCE.has(error.message) ? 200 : 400);
      throw error;
    }
    session.flash(request, reply, 'You were successfully registered and can login now');
    return redirect(reply, '/login');
  });

  const logout = async (request: FastifyRequest, reply: FastifyReply) => {
    await session.signOut(request, reply);
    session.flash(request, reply, 'You were logged out');
    return redirect(reply, '/public');
  };

  // The reference's GET link keeps working from our own pages; a link on another site only
  // gets a confirmation button, so it cannot sign anyone out (see follows.ts).
  app.get('/logout', async (request, reply) => {
    if (!request.user || isSameSiteNavigation(request)) return logout(request, reply);
    return reply.page('confirm', {
      title: 'Sign out?',
      question: 'A link from another site asked to sign you out. Do you want to?',
      action: '/logout',
      button: 'Sign out',
      back: '/',
    });
  });

  // The confirmation's button. Like every POST, refused when a browser sends it from another
  // origin (cross-origin.ts).
  app.post('/logout', logout);
}
