import type { User } from '../db/schema.js';
import {
  type MissingUser,
  type PageQuery,
  type Store,
  type TimelineEntry,
  UniqueViolation,
} from '../db/store.js';
import { DomainError, invalid, notFound } from './errors.js';
import { hashPassword, verifyPassword } from './passwords.js';
import {
  messageError,
  plausibleUsername,
  type Registration,
  registrationError,
  TEXTS,
  usernameError,
} from './validation.js';

export type { MissingUser, TimelineEntry, User };

/** Events the domain reports, for metrics and logs; the domain itself knows nothing of either. */
export interface DomainEvents {
  registered?(user: { userId: number; username: string }): void;
  login?(ok: boolean): void;
  messagePosted?(): void;
  followed?(): void;
  unfollowed?(): void;
  flagged?(count: number): void;
  latestChanged?(value: number): void;
}

export interface Page<T> {
  items: T[];
  /** The cursor of the next (older) page, or undefined when this is the last one. */
  next: number | undefined;
}

export const LATEST = 'latest';
export const PAGE_SIZE = 30;

const now = () => Math.floor(Date.now() / 1000);

/**
 * MiniTwit's behaviour, shared by the web app and the simulator API: both are thin adapters
 * that turn requests into these calls and the results into pages or JSON.
 */
export class MiniTwit {
  /**
   * @param reservedUsernames the path segments a username may not be, because a fixed page of a
   *   front door takes that address; asked at each registration, so routes added later count.
   */
  constructor(
    readonly store: Store,
    private readonly events: DomainEvents = {},
    private readonly reservedUsernames: () => ReadonlySet<string> = () => new Set(),
  ) {}

  // ---- accounts ----

  /** Registers a user, or throws DomainError('invalid', <the first rule broken>). */
  async register(registration: Registration): Promise<number> {
    const problem = registrationError(registration, this.reservedUsernames());
    if (problem) throw invalid(problem);
    if ((await this.store.findUserIdByName(registration.username)) !== undefined) {
      throw invalid(TEXTS.usernameTaken);
    }
    const pwHash = await hashPassword(registration.password);
    try {
      const userId = await this.store.createUser({
        username: registration.username,
        email: registration.email,
        pwHash,
      });
      this.events.registered?.({ userId, username: registration.username });
      return userId;
    } catch (error) {
      // Two registrations of one name at once: the unique index decides.
      if (error instanceof UniqueViolation) throw invalid(TEXTS.usernameTaken);
      throw error;
    }
  }

  /**
   * Checks a username and password. Legacy Werkzeug hashes that match are replaced by argon2id
   * on the spot, so every user moves to the modern format at their next login.
   */
  async authenticate(username: string, password: string): Promise<User> {
    const user = plausibleUsername(username)
      ? await this.store.findUserByName(username)
      : undefined;
    if (!user) {
      this.events.login?.(false);
      throw new DomainError('unauthorized', TEXTS.invalidUsername);
    }
    const check = await verifyPassword(password, user.pw_hash);
    if (!check.ok) {
      this.events.login?.(false);
      throw new DomainError('unauthorized', TEXTS.invalidPassword);
    }
    if (check.needsRehash) {
      user.pw_hash = await hashPassword(password);
      await this.store.setPasswordHash(user.user_id, user.pw_hash);
    }
    this.events.login?.(true);
    return user;
  }

  /**
   * The username rule `name` breaks today (usernameError with the reserved names), or
   * undefined. For names already stored (legacy imports, earlier versions): see check-names.
   */
  usernameProblem(name: string): string | undefined {
    return usernameError(name, this.reservedUsernames());
  }

  async findUser(username: string): Promise<User | undefined> {
    return plausibleUsername(username) ? this.store.findUserByName(username) : undefined;
  }

  async requireUser(username: string): Promise<User> {
    const user = await this.findUser(username);
    if (!user) throw notFound(`User "${username}" not found`);
    return user;
  }

  // ---- messages ----

  /** Stores a message by `authorId`, dated now. */
  async post(authorId: number, text: string): Promise<number> {
    const problem = messageError(text);
    if (problem) throw invalid(problem);
    const id = await this.store.createMessage(authorId, text, now());
    this.events.messagePosted?.();
    return id;
  }

  /**
   * The simulator's tweet: stores `latest` (when given), then a message by the user named
   * `username`, dated now, in as few statements as the database allows. Returns the message id,
   * or undefined when there is no such user (`latest` is stored all the same).
   * @throws DomainError('invalid') when the text breaks a rule (nothing is stored then).
   */
  async postAs(username: string, text: string, latest?: number): Promise<number | undefined> {
    const problem = messageError(text);
    if (problem) throw invalid(problem);
    let id: number | undefined;
    if (plausibleUsername(username)) {
      id = await this.store.postAs(username, text, now(), latest);
    } else if (latest !== undefined) {
      await this.store.storeLatest(latest);
    }
    if (latest !== undefined) this.events.latestChanged?.(latest);
    if (id !== undefined) this.events.messagePosted?.();
    return id;
  }

  // ---- follows ----

  /**
   * The simulator's follow (or unfollow): stores `latest` (when given), then the action between
   * the users named `who` and `whom`. Returns which user is missing ('user' first), or
   * undefined when it was done (`latest` is stored either way).
   */
  async followAs(
    who: string,
    whom: string,
    unfollow: boolean,
    latest?: number,
  ): Promise<MissingUser | undefined> {
    let missing: MissingUser | undefined;
    if (!plausibleUsername(who)) missing = 'user';
    else if (!plausibleUsername(whom)) missing = 'target';
    if (missing) {
      if (latest !== undefined) await this.store.storeLatest(latest);
    } else {
      missing = await this.store.followAs(who, whom, unfollow, latest);
    }
    if (latest !== undefined) this.events.latestChanged?.(latest);
    if (!missing) (unfollow ? this.events.unfollowed : this.events.followed)?.();
    return missing;
  }

  async follow(whoId: number, whomId: number): Promise<void> {
    await this.store.follow(whoId, whomId);
    this.events.followed?.();
  }

  async unfollow(whoId: number, whomId: number): Promise<void> {
    await this.store.unfollow(whoId, whomId);
    this.events.unfollowed?.();
  }

  isFollowing(whoId: number, whomId: number): Promise<boolean> {
    return this.store.isFollowing(whoId, whomId);
  }

  followedUsernames(whoId: number, limit: number): Promise<string[]> {
    return this.store.followedUsernames(whoId, limit);
  }

  // ---- timelines ----

  /** The newest `limit` messages of the user named `username`, or undefined: no such user. */
  async userTimelineByName(username: string, limit: number): Promise<TimelineEntry[] | undefined> {
    return plausibleUsername(username) ? this.store.userTimelineByName(username, limit) : undefined;
  }

  /** Whom the user named `username` follows (at most `limit`), or undefined: no such user. */
  async followedUsernamesByName(username: string, limit: number): Promise<string[] | undefined> {
    return plausibleUsername(username)
      ? this.store.followedUsernamesByName(username, limit)
      : undefined;
  }

  publicTimeline(limit: number, before?: number): Promise<TimelineEntry[]> {
    return this.store.publicTimeline({ limit, before });
  }

  userTimeline(userId: number, limit: number, before?: number): Promise<TimelineEntry[]> {
    return this.store.userTimeline(userId, { limit, before });
  }

  homeTimeline(userId: number, limit: number, before?: number): Promise<TimelineEntry[]> {
    return this.store.homeTimeline(userId, { limit, before });
  }

  /** Pages of PAGE_SIZE for the web, each with the cursor of the next (older) page. */
  publicPage(before?: number): Promise<Page<TimelineEntry>> {
    return this.paged((p) => this.store.publicTimeline(p), before);
  }

  userPage(userId: number, before?: number): Promise<Page<TimelineEntry>> {
    return this.paged((p) => this.store.userTimeline(userId, p), before);
  }

  homePage(userId: number, before?: number): Promise<Page<TimelineEntry>> {
    return this.paged((p) => this.store.homeTimeline(userId, p), before);
  }

  private async paged(
    timeline: (page: PageQuery) => Promise<TimelineEntry[]>,
    before: number | undefined,
  ): Promise<Page<TimelineEntry>> {
    const rows = await timeline({ limit: PAGE_SIZE + 1, before });
    const items = rows.slice(0, PAGE_SIZE);
    return { items, next: rows.length > PAGE_SIZE ? items.at(-1)?.messageId : undefined };
  }

  // ---- simulator state ----

  /** The id of the last simulator action the API saw, or -1 before the first. */
  async latest(): Promise<number> {
    return (await this.store.getSetting(LATEST)) ?? -1;
  }

  async setLatest(value: number): Promise<void> {
    await this.store.storeLatest(value);
    this.events.latestChanged?.(value);
  }

  // ---- moderation ----

  listMessages(options: { flaggedOnly?: boolean } = {}) {
    return this.store.allMessages(options);
  }

  async setFlagged(messageIds: number[], flagged: boolean): Promise<number[]> {
    const changed = await this.store.setFlagged(messageIds, flagged ? 1 : 0);
    if (flagged) this.events.flagged?.(changed.length);
    return changed;
  }
}
