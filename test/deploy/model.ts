import { openDatabase } from '../../src/db/connect.js';
import { Store } from '../../src/db/store.js';
import type { Action } from '../../src/sim/scenario.js';

/** What a run of scenario actions leaves in the database, computed without the server. */
export class ExpectedState {
  readonly users = new Set<string>();
  messages = 0;
  /** Messages by author. */
  readonly messagesBy = new Map<string, number>();
  readonly follows = new Set<string>();
  latest = -1;

  /** Applies one action the server acknowledged with `status` (a 400 register changes nothing). */
  apply(action: Action, status: number, namespace = '') {
    const user = `${namespace}${action.user}`;
    switch (action.command) {
      case 'register':
        if (status === 204) this.users.add(user);
        break;
      case 'tweet':
        this.messages++;
        this.messagesBy.set(user, (this.messagesBy.get(user) ?? 0) + 1);
        break;
      case 'follow':
        this.follows.add(`${user}\t${namespace}${action.arg}`);
        break;
      case 'unfollow':
        this.follows.delete(`${user}\t${namespace}${action.arg}`);
        break;
    }
    this.latest = action.id;
  }

  /** Whom each user follows, sorted. */
  followsOf(user: string): string[] {
    return [...this.follows]
      .filter((pair) => pair.startsWith(`${user}\t`))
      .map((pair) => pair.slice(user.length + 1))
      .sort();
  }

  counts() {
    return { users: this.users.size, messages: this.messages, followers: this.follows.size };
  }
}

/** Row counts of users, messages and followers, read through the store. */
export async function databaseCounts(databaseUrl: string) {
  const database = openDatabase(databaseUrl, { poolMax: 1 });
  try {
    return await new Store(database.db, database.dialect).counts();
  } finally {
    await database.close();
  }
}
