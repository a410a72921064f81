import type { User } from '../db/schema.js';
import { type BackfillState, SearchStore, type UserHit } from '../db/search.js';
import {
  COUNT_CAP,
  type MissingUser,
  type PageQuery,
  type ProfileCounts,
  type Store,
  type TimelineEntry,
  type TimelineScope,
  UniqueViolation,
  type UserEntry,
} from '../db/store.js';
import { DomainError, invalid, notFound } from './errors.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { SEARCH_MAX_LENGTH, searchWords } from './search.js';
import {
  messageError,
  plausibleUsername,
  type Registration,
  registrationError,
  TEXTS,
  usernameError,
} from './validation.js';

export type { MissingUser, ProfileCounts, TimelineEntry, TimelineScope, User, UserEntry };
/** Profile counts stop at this many (the store's bound): show it as `10,000+`. */
export { COUNT_CAP };

/** Events the domain reports, for metrics and logs; the domain itself knows nothing of either. */
export interface DomainEvents {
  registered?(user: { userId: number; username: string }): void;
  login?(ok: boolean): void;
  messagePosted?(): void;
  messageDeleted?(): void;
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

/** A page that can be left both ways: to older entries (`next`) and to newer ones (`newer`). */
export interface TwoWayPage<T> extends Page<T> {
  /** The cursor of the page just newer than this one (`?after=`), undefined on the newest. */
  newer: number | undefined;
}

/** Where a page starts: below `before` (older), above `after` (newer), or at the newest. */
export interface PageCursor {
  before?: number | undefined;
  after?: number | undefined;
}

/** How many users a follow list shows per page. */
export const USERS_PAGE_SIZE = 50;

/** What a search found: users by name (first page only) and a page of messages. */
export interface SearchResult {
  /** The words searched for (empty: nothing to search). */
  words: string[];
  users: UserHit[];
  messages: Page<TimelineEntry>;
  /** False while the background indexer is still indexing older messages. */
  complete: boolean;
}

/** Users a search shows by name, at most. */
export const SEARCH_USERS = 10;

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
   * The message `messageId` for its delete page: the message when `userId` wrote it and it
   * stands. Throws DomainError 'not_found' when there is no such message (or it is deleted or
   * hidden by a moderator and not the user's), 'forbidden' when someone else wrote it.
   */
  async messageToDelete(
    userId: number,
    messageId: number,
  ): Promise<TimelineEntry & { deleted: boolean }> {
    const message = await this.store.findMessage(messageId);
    if (
      !message ||
      (message.authorId !== userId && (message.deletedAt !== null || message.flagged !== 0))
    ) {
      throw notFound('There is no such message.');
    }
    if (message.authorId !== userId) {
      throw new DomainError('forbidden', 'You can only delete your own messages.');
    }
    const { flagged: _flagged, deletedAt, ...entry } = message;
    return { ...entry, deleted: deletedAt !== null };
  }

  /**
   * Deletes message `messageId` for its author `userId` (a soft delete: the row is kept with
   * `deleted_at` set, and never shown or counted again). Deleting one's own message twice is
   * no error: returns false the second time, true when this call deleted it. Throws DomainError
   * 'not_found' for no such message, 'forbidden' for someone else's.
   */
  async deleteMessage(userId: number, messageId: number): Promise<boolean> {
    if (await this.store.softDeleteMessage(userId, messageId, now())) {
      this.events.messageDeleted?.();
      return true;
    }
    // Nothing updated: someone else's or no such message (this throws), or ours, deleted already.
    await this.messageToDelete(userId, messageId);
    return false;
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

  /**
   * A page of PAGE_SIZE messages of `scope`, newest first, that links both ways: the page older
   * than `cursor.before`, newer than `cursor.after`, or the newest. Cursors are message ids, so
   * messages posted meanwhile never shift a page: they only appear on the newer side.
   */
  async timelinePage(
    scope: TimelineScope,
    cursor: PageCursor = {},
  ): Promise<TwoWayPage<TimelineEntry>> {
    const older = (query: PageQuery) =>
      scope.kind === 'public'
        ? this.store.publicTimeline(query)
        : scope.kind === 'user'
          ? this.store.userTimeline(scope.authorId, query)
          : this.store.homeTimeline(scope.userId, query);
    if (cursor.after !== undefined) {
      const rows = await this.store.timelineAfter(scope, cursor.after, PAGE_SIZE + 1);
      const items = rows.slice(0, PAGE_SIZE).reverse();
      const oldest = items.at(-1)?.messageId ?? cursor.after + 1;
      const below = await older({ limit: 1, before: oldest });
      return {
        items,
        next: below.length > 0 ? oldest : undefined,
        newer: rows.length > PAGE_SIZE ? items[0]?.messageId : undefined,
      };
    }
    const rows = await older({ limit: PAGE_SIZE + 1, before: cursor.before });
    const items = rows.slice(0, PAGE_SIZE);
    // Newer messages exist above the first shown (or, on an empty page, from the cursor up).
    const from =
      items[0]?.messageId ?? (cursor.before === undefined ? undefined : cursor.before - 1);
    const above =
      cursor.before === undefined || from === undefined
        ? []
        : await this.store.timelineAfter(scope, from, 1);
    return {
      items,
      next: rows.length > PAGE_SIZE ? items.at(-1)?.messageId : undefined,
      newer: above.length > 0 ? from : undefined,
    };
  }

  /** A user's message, following and follower counts (visible messages only). */
  profileCounts(userId: number): Promise<ProfileCounts> {
    return this.store.profileCounts(userId);
  }

  /**
   * A page of USERS_PAGE_SIZE users whom `userId` follows ('following') or who follow them
   * ('followers'), by user id, with the cursors of the pages after (`next`) and before
   * (`newer`, the way back) when there are any.
   */
  async followPage(
    userId: number,
    side: 'following' | 'followers',
    cursor: PageCursor = {},
  ): Promise<TwoWayPage<UserEntry>> {
    const rows = await this.store.followPage(userId, side, {
      limit: USERS_PAGE_SIZE + 1,
      ...cursor,
    });
    const more = rows.length > USERS_PAGE_SIZE;
    // Going back (before) the extra row is the earliest; otherwise the last.
    const items =
      cursor.before !== undefined ? rows.slice(more ? 1 : 0) : rows.slice(0, USERS_PAGE_SIZE);
    const first = items[0]?.userId;
    const last = items.at(-1)?.userId;
    const hasBefore =
      cursor.before !== undefined
        ? more
        : first !== undefined &&
          (await this.store.followPage(userId, side, { limit: 1, before: first })).length > 0;
    const hasAfter =
      cursor.before === undefined
        ? more
        : last !== undefined &&
          (await this.store.followPage(userId, side, { limit: 1, after: last })).length > 0;
    return {
      items,
      next: hasAfter ? last : undefined,
      newer: hasBefore ? first : undefined,
    };
  }

  /** Up to `limit` recently active users `userId` does not follow yet (not themselves). */
  suggestedUsers(userId: number, limit = 5): Promise<UserEntry[]> {
    return this.store.recentAuthors(userId, limit);
  }

  // ---- search ----

  /** The search side of the store (src/db/search.ts). */
  get searchIndex(): SearchStore {
    this.searchStore ??= new SearchStore(this.store.db, this.store.dialect);
    return this.searchStore;
  }
  private searchStore: SearchStore | undefined;

  /**
   * Searches users by name and visible messages by words (see searchWords: any text is a valid
   * query). Messages come newest first, PAGE_SIZE per page, `before` the cursor of the next
   * page; users only on the first page. Throws DomainError('invalid') when `query` is longer
   * than SEARCH_MAX_LENGTH characters.
   */
  async search(query: string, before?: number): Promise<SearchResult> {
    if ([...query].length > SEARCH_MAX_LENGTH) {
      throw invalid(`A search can be at most ${SEARCH_MAX_LENGTH} characters long.`);
    }
    const words = searchWords(query);
    const index = this.searchIndex;
    const state: BackfillState = await index.backfillState();
    if (words.length === 0) {
      return { words, users: [], messages: { items: [], next: undefined }, complete: state.done };
    }
    const [users, messages] = await Promise.all([
      before === undefined ? index.users(words, SEARCH_USERS) : Promise.resolve([]),
      this.paged((page) => index.messages(words, page), before),
    ]);
    return { words, users, messages, complete: state.done };
  }

  /** A page of PAGE_SIZE from `list`, with the cursor of the next (older) page. */
  private async paged(
    list: (page: PageQuery) => Promise<TimelineEntry[]>,
    before: number | undefined,
  ): Promise<Page<TimelineEntry>> {
    const rows = await list({ limit: PAGE_SIZE + 1, before });
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
