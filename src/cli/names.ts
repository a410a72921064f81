import { loadConfig } from '../config/config.js';
import { createLogger } from '../observability/logger.js';

/** A stored username that registration would refuse today. */
export interface StoredNameProblem {
  userId: number;
  username: string;
  /** The rule it breaks, as registration would say it. */
  problem: string;
}

/** What MiniTwit does with such names (printed by check-names and import-legacy). */
export const STORED_NAME_RULE =
  'These users keep their names as stored: they sign in as before, and the simulator API serves ' +
  'a name that only collides with a page (/msgs/<name>, /fllws/<name>). The web cannot show ' +
  'their page at /<name>: a page of MiniTwit (or the URL syntax) takes that address. To give ' +
  'one a page, rename it (UPDATE users SET username = <new> WHERE user_id = <id>) and tell its owner.';

/**
 * Every user in the database at `url` whose name registration would refuse today, by id: the
 * username rules (src/domain/validation.ts) with the names both doors' fixed routes reserve, as
 * the app that would serve this database derives them from its route tables. Reads only.
 */
export async function storedNameProblems(url: string): Promise<StoredNameProblem[]> {
  const config = loadConfig({
    DATABASE_URL: url,
    MIGRATE_ON_START: 'false',
    METRICS_ENABLED: 'false',
  });
  // Loaded on use: the other commands (a cluster primary among them) need not load the app.
  const { createApp } = await import('../app.js');
  const app = await createApp(config, { logger: createLogger({ level: 'silent' }) });
  try {
    await app.reservedUsernames();
    const problems: StoredNameProblem[] = [];
    for (let after = 0; ; ) {
      const page = await app.store.usernamesAfter(after, 1000);
      for (const user of page) {
        const problem = app.domain.usernameProblem(user.username);
        if (problem) problems.push({ userId: user.user_id, username: user.username, problem });
      }
      const last = page.at(-1);
      if (!last) return problems;
      after = last.user_id;
    }
  } finally {
    await app.close();
  }
}

/** The report lines for `problems`: one per user (id, name as JSON, rule), then the rule. */
export function describeNameProblems(problems: StoredNameProblem[]): string[] {
  return [
    ...problems.map((p) => `  user ${p.userId} ${JSON.stringify(p.username)}: ${p.problem}`),
    STORED_NAME_RULE,
  ];
}
