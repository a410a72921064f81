import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  SESSION_SECONDS,
  type Sessions,
  type SessionUser,
  toSessionUser,
} from '../domain/sessions.js';

export const SESSION_COOKIE = 'mt_session';
export const FLASH_COOKIE = 'mt_flash';
export const CSRF_COOKIE = 'mt_csrf';
export const CSRF_FIELD = '_csrf';

declare module 'fastify' {
  interface FastifyInstance {
    /** Sign-in, sign-out, flash messages and CSRF tokens of the web door. */
    webSession: WebSession;
  }
  interface FastifyRequest {
    /** The signed-in user (never with the password hash), or null. */
    user: SessionUser | null;
    /** The session token from the cookie, when it names a live session. */
    sessionToken: string | null;
  }
}

/** Cookie attributes: never readable from scripts, not sent on cross-site subrequests. */
function cookieOptions(request: FastifyRequest, maxAge?: number) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: request.protocol === 'https',
    ...(maxAge === undefined ? {} : { maxAge }),
  };
}

export class WebSession {
  constructor(
    private readonly sessions: Sessions,
    private readonly secret: string,
  ) {}

  /**
   * Sets `request.user` and `request.sessionToken` from the session cookie when it names a live
   * session; an expired, ended or forged cookie is cleared instead.
   */
  async identify(request: FastifyRequest, reply: FastifyReply) {
    const raw = request.cookies[SESSION_COOKIE];
    if (!raw) return;
    const unsigned = request.unsignCookie(raw);
    const user =
      unsigned.valid && unsigned.value ? await this.sessions.user(unsigned.value) : undefined;
    if (user) {
      request.user = toSessionUser(user);
      request.sessionToken = unsigned.value;
    } else {
      // Expired, signed out elsewhere, or forged: forget it.
      reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
    }
  }

  /**
   * Signs `user` in with a brand-new session and a brand-new CSRF secret. `user` may be a whole
   * row: `request.user` keeps only the SessionUser fields.
   */
  async signIn(request: FastifyRequest, reply: FastifyReply, user: SessionUser) {
    if (request.sessionToken) await this.sessions.end(request.sessionToken);
    const token = await this.sessions.start(user.user_id);
    reply.setCookie(SESSION_COOKIE, token, {
      ...cookieOptions(request, SESSION_SECONDS),
      signed: true,
    });
    this.rotateCsrf(request, reply);
    request.user = toSessionUser(user);
    request.sessionToken = token;
  }

  async signOut(request: FastifyRequest, reply: FastifyReply) {
    if (request.sessionToken) await this.sessions.end(request.sessionToken);
    reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
    this.rotateCsrf(request, reply);
    request.user = null;
    request.sessionToken = null;
  }

  // ---- flash messages: a signed cookie read and cleared by the next rendered page ----

  flash(request: FastifyRequest, reply: FastifyReply, message: string) {
    const messages = [...this.pendingFlashes(request), message];
    const value = Buffer.from(JSON.stringify(messages)).toString('base64url');
    reply.setCookie(FLASH_COOKIE, value, { ...cookieOptions(request), signed: true });
  }

  takeFlashes(request: FastifyRequest, reply: FastifyReply): string[] {
    const messages = this.pendingFlashes(request);
    if (request.cookies[FLASH_COOKIE] !== undefined) {
      reply.clearCookie(FLASH_COOKIE, cookieOptions(request));
    }
    return messages;
  }

  private pendingFlashes(request: FastifyRequest): string[] {
    const raw = request.cookies[FLASH_COOKIE];
    if (!raw) return [];
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || !unsigned.value) return [];
    try {
      const parsed: unknown = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString());
      return Array.isArray(parsed) ? parsed.filter((m): m is string => typeof m === 'string') : [];
    } catch {
      return [];
    }
  }

  // ---- CSRF: a random secret in an HttpOnly cookie, and its HMAC in every form ----

  private mac(nonce: string) {
    return createHmac('sha256', this.secret).update(`csrf:${nonce}`).digest('base64url');
  }

  /** The token to put in forms, creating the browser's CSRF secret when it has none yet. */
  csrfToken(request: FastifyRequest, reply: FastifyReply): string {
    let nonce = request.cookies[CSRF_COOKIE];
    if (!nonce || !/^[A-Za-z0-9_-]{20,64}$/.test(nonce)) {
      nonce = this.rotateCsrf(request, reply);
    }
    return this.mac(nonce);
  }

  private rotateCsrf(request: FastifyRequest, reply: FastifyReply): string {
    const nonce = randomBytes(24).toString('base64url');
    reply.setCookie(CSRF_COOKIE, nonce, cookieOptions(request));
    // Later reads in this request see the new secret.
    request.cookies[CSRF_COOKIE] = nonce;
    return nonce;
  }

  /** True when `token` is the HMAC of this browser's CSRF secret. */
  csrfValid(request: FastifyRequest, token: unknown): boolean {
    const nonce = request.cookies[CSRF_COOKIE];
    if (!nonce || typeof token !== 'string') return false;
    const expected = Buffer.from(this.mac(nonce));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

export interface WebSessionOptions {
  sessions: Sessions;
  /** The secret that signs new cookies and the CSRF tokens. */
  secret: string;
}

/**
 * The web door's sessions: decorates the instance with `webSession` and every request with
 * `user` and `sessionToken`, found from the session cookie before anything else runs. Needs
 * @fastify/cookie registered first.
 */
export const webSessions = fp<WebSessionOptions>(
  async (app, options) => {
    const session = new WebSession(options.sessions, options.secret);
    app.decorate('webSession', session);
    app.decorateRequest('user', null);
    app.decorateRequest('sessionToken', null);
    app.addHook('onRequest', async (request, reply) => session.identify(request, reply));
  },
  { name: 'minitwit-web-sessions', dependencies: ['@fastify/cookie'] },
);

/**
 * Whether a GET was started by this site or by the user (typed, bookmarked), as opposed to a
 * link or redirect on another site. Browsers send Sec-Fetch-Site; Referer is the fallback for
 * old ones. Clients that send neither are not browsers and cannot carry a victim's cookie.
 */
export function isSameSiteNavigation(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  const referer = request.headers.referer;
  if (!referer) return true;
  try {
    return new URL(referer).host === request.headers.host;
  } catch {
    return false;
  }
}
