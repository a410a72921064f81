import { createHash, randomBytes } from 'node:crypto';
import type { User } from '../db/schema.js';
import type { Store } from '../db/store.js';

/**
 * Who a request is signed in as: what the pages need of a user, and never the password hash,
 * so no template, log line or error report can show it.
 */
export type SessionUser = Pick<User, 'user_id' | 'username' | 'email'>;

/** Just the `SessionUser` fields of `user` (which may be a whole row, password hash included). */
export function toSessionUser(user: SessionUser): SessionUser {
  return { user_id: user.user_id, username: user.username, email: user.email };
}

/** How long a sign-in lasts without signing in again. */
export const SESSION_SECONDS = 14 * 24 * 3600;

const seconds = () => Math.floor(Date.now() / 1000);
/** The database keeps only a digest, so a leaked table cannot be replayed as cookies. */
const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * Server-side sessions: the browser holds a random token, the database its digest and the
 * user. Signing in makes a new token (no fixation); signing out deletes the row, so a copied
 * cookie stops working at once, on every replica.
 */
export class Sessions {
  private lastPurge = 0;

  constructor(private readonly store: Store) {}

  async start(userId: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = seconds();
    await this.store.createSession(digest(token), userId, now, now + SESSION_SECONDS);
    await this.purgeExpired(now);
    return token;
  }

  /** The user a live session token belongs to; undefined when unknown or expired. */
  async user(token: string): Promise<SessionUser | undefined> {
    return this.store.findSessionUser(digest(token), seconds());
  }

  async end(token: string): Promise<void> {
    await this.store.deleteSession(digest(token));
  }

  /** At most once an hour, on a sign-in, drop sessions that have expired. */
  private async purgeExpired(now: number) {
    if (now - this.lastPurge < 3600) return;
    this.lastPurge = now;
    await this.store.deleteExpiredSessions(now);
  }
}
