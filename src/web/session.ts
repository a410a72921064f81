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
/** The message a signed-out user tried to post, kept for the composer (see keepDraft). */
export const DRAFT_COOKIE = 'mt_draft';
/**
 * UTF-8 bytes of a draft per cookie: base64url makes 4/3 of it, plus the signature, well under
 * a browser's 4 kB per cookie. Two cookies hold any 1,000-character message.
 */
const DRAFT_BYTES_PER_COOKIE = 2800;
const DRAFT_COOKIES = 2;

/**
 * At most this many flash messages wait for the next page: the newest. Redirects that never
 * reach a rendered page (a script following many links) would otherwise pile messages up until
 * the cookie passed the browser's 4 kB limit.
 */
export const MAX_FLASHES = 3;
/**
 * A flash message longer than this many characters (code points) is cut; none is today: the
 * longest names a 64-character user.
 */
export const MAX_FLASH_LENGTH = 200;

declare module 'fastify' {
  interface FastifyInstance {
    /** Sign-in, sign-out and flash messages of the web door. */
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
  constructor(private readonly sessions: Sessions) {}

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
   * Signs `user` in with a brand-new session. `user` may be a whole row: `request.user` keeps
   * only the SessionUser fields.
   */
  async signIn(request: FastifyRequest, reply: FastifyReply, user: SessionUser) {
    if (request.sessionToken) await this.sessions.end(request.sessionToken);
    const token = await this.sessions.start(user.user_id);
    reply.setCookie(SESSION_COOKIE, token, {
      ...cookieOptions(request, SESSION_SECONDS),
      signed: true,
    });
    request.user = toSessionUser(user);
    request.sessionToken = token;
  }

  async signOut(request: FastifyRequest, reply: FastifyReply) {
    if (request.sessionToken) await this.sessions.end(request.sessionToken);
    reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
    request.user = null;
    request.sessionToken = null;
  }

  // ---- flash messages: a signed cookie read and cleared by the next rendered page ----

  /**
   * Adds `message` for the next rendered page. Only the newest {@link MAX_FLASHES} messages are
   * kept, each at most {@link MAX_FLASH_LENGTH} characters, so the cookie stays well under 1 kB
   * however many redirects come before a page.
   */
  flash(request: FastifyRequest, reply: FastifyReply, message: string) {
    const messages = newest([...this.pendingFlashes(request), message]);
    const value = Buffer.from(JSON.stringify(messages)).toString('base64url');
    reply.setCookie(FLASH_COOKIE, value, { ...cookieOptions(request), signed: true });
  }

  /** The pending messages (at most {@link MAX_FLASHES}, oldest first), now cleared. */
  takeFlashes(request: FastifyRequest, reply: FastifyReply): string[] {
    const messages = this.pendingFlashes(request);
    if (request.cookies[FLASH_COOKIE] !== undefined) {
      reply.clearCookie(FLASH_COOKIE, cookieOptions(request));
    }
    return messages;
  }

  // ---- the draft: a message posted after the session ended, given back after sign-in ----

  /**
   * Keeps `text` (at most 1,000 characters: longer is cut) in signed cookies for the composer
   * of the next home page (see takeDraft), so a message typed while the session ran out is not
   * lost. An empty text keeps nothing.
   */
  keepDraft(request: FastifyRequest, reply: FastifyReply, text: string) {
    const bytes = Buffer.from(Array.from(text).slice(0, 1000).join(''));
    if (bytes.length === 0) return;
    for (let i = 0; i < DRAFT_COOKIES; i++) {
      const part = bytes.subarray(i * DRAFT_BYTES_PER_COOKIE, (i + 1) * DRAFT_BYTES_PER_COOKIE);
      const name = `${DRAFT_COOKIE}${i}`;
      if (part.length > 0) {
        reply.setCookie(name, part.toString('base64url'), {
          ...cookieOptions(request, 24 * 3600),
          signed: true,
        });
      } else if (request.cookies[name] !== undefined) {
        reply.clearCookie(name, cookieOptions(request));
      }
    }
  }

  /** The kept draft ('' when none or when tampered with), now cleared. */
  takeDraft(request: FastifyRequest, reply: FastifyReply): string {
    const parts: Buffer[] = [];
    let valid = true;
    for (let i = 0; i < DRAFT_COOKIES; i++) {
      const name = `${DRAFT_COOKIE}${i}`;
      const raw = request.cookies[name];
      if (raw === undefined) continue;
      reply.clearCookie(name, cookieOptions(request));
      const unsigned = request.unsignCookie(raw);
      if (!unsigned.valid || !unsigned.value) valid = false;
      else parts.push(Buffer.from(unsigned.value, 'base64url'));
    }
    return valid ? Array.from(Buffer.concat(parts).toString()).slice(0, 1000).join('') : '';
  }

  private pendingFlashes(request: FastifyRequest): string[] {
    const raw = request.cookies[FLASH_COOKIE];
    if (!raw) return [];
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || !unsigned.value) return [];
    try {
      const parsed: unknown = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString());
      // A cookie written before the cap (or by hand) is capped on the way out too.
      return Array.isArray(parsed)
        ? newest(parsed.filter((m): m is string => typeof m === 'string'))
        : [];
    } catch {
      return [];
    }
  }
}

/** The newest MAX_FLASHES messages, each cut to MAX_FLASH_LENGTH code points. */
function newest(messages: string[]): string[] {
  return messages.slice(-MAX_FLASHES).map((m) => {
    const chars = Array.from(m);
    return chars.length > MAX_FLASH_LENGTH
      ? `${chars.slice(0, MAX_FLASH_LENGTH - 1).join('')}…`
      : m;
  });
}

export interface WebSessionOptions {
  sessions: Sessions;
}

/**
 * The web door's sessions: decorates the instance with `webSession` and every request with
 * `user` and `sessionToken`, found from the session cookie before anything else runs. Needs
 * @fastify/cookie registered first.
 */
export const webSessions = fp<WebSessionOptions>(
  async (app, options) => {
    const session = new WebSession(options.sessions);
    app.decorate('webSession', session);
    app.decorateRequest('user', null);
    app.decorateRequest('sessionToken', null);
    app.addHook('onRequest', async (request, reply) => session.identify(request, reply));
  },
  { name: 'minitwit-web-sessions', dependencies: ['@fastify/cookie'] },
);
