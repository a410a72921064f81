import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** A registered account. `pw_hash` is an argon2id PHC string or a legacy Werkzeug hash. */
export interface UsersTable {
  user_id: Generated<number>;
  username: string;
  email: string;
  pw_hash: string;
}

/**
 * A posted message. `pub_date` is Unix time in whole seconds, set by the server.
 * `flagged` is 0 for visible messages and 1 for messages a moderator has hidden.
 * Only messages with `flagged` 0 and `deleted_at` null are shown.
 */
export interface MessagesTable {
  message_id: Generated<number>;
  author_id: number;
  text: string;
  pub_date: number;
  flagged: ColumnType<number, number | undefined, number>;
  /**
   * When the author deleted the message (Unix seconds), or null while it stands. A deleted
   * message is kept (backups, exports and copies carry it) but never shown or counted.
   */
  deleted_at: ColumnType<number | null, number | null | undefined, number | null>;
}

/** `who_id` follows `whom_id`; the pair is the primary key, so following twice is one row. */
export interface FollowersTable {
  who_id: number;
  whom_id: number;
}

/** Small named integers shared by every replica, such as the simulator's `latest`. */
export interface SettingsTable {
  name: string;
  value: number;
}

/** A signed-in browser. `id` is the SHA-256 of the token in the cookie, never the token itself. */
export interface SessionsTable {
  id: string;
  user_id: number;
  created_at: number;
  expires_at: number;
}

export interface Database {
  users: UsersTable;
  messages: MessagesTable;
  followers: FollowersTable;
  settings: SettingsTable;
  sessions: SessionsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Message = Selectable<MessagesTable>;
