import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { type LoadFileOptions, loadInto, withDatabase } from './load.js';
import { BATCH_ROWS, type Row, type RowSource, type Summary } from './transfer.js';

/** The reference MiniTwit's tables (contract §1, §5): no keys besides the ids, loose types. */
interface LegacyDatabase {
  user: { user_id: number; username: unknown; email: unknown; pw_hash: unknown };
  follower: { who_id: unknown; whom_id: unknown };
  message: {
    message_id: number;
    author_id: unknown;
    text: unknown;
    pub_date: unknown;
    flagged: unknown;
  };
}

/** What the import found and what it did about it. */
export interface LegacyReport {
  users: number;
  /** Later rows with a username already seen (the reference has no unique constraint). */
  duplicateUsers: string[];
  messages: number;
  /** Messages whose author does not exist: not imported. */
  orphanMessages: number;
  /** `flagged` NULL (the reference shows only flagged = 0): imported as hidden (1). */
  nullFlagged: number;
  /** Follower rows in the file, and distinct pairs imported. */
  followerRows: number;
  follows: number;
  /** Follow pairs naming a user that does not exist: not imported. */
  orphanFollows: number;
  /** Text fields SQLite had stored as numbers, imported as their text (`007` became 7: see docs). */
  numericText: number;
  latest: number | undefined;
}

/** SQLite's numeric affinity turned some texts into numbers; bring them back as text. */
function asText(value: unknown, report: LegacyReport): string {
  if (typeof value === 'number' || typeof value === 'bigint') {
    report.numericText++;
    return String(value);
  }
  if (value === null || value === undefined) return '';
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

function asInteger(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Opens a reference `minitwit.db` read-only and presents it as MiniTwit rows: usernames and texts
 * as text, duplicate follows collapsed, `flagged` NULL kept hidden, Werkzeug hashes unchanged
 * (verified and upgraded to argon2id at the user's next login). The report fills in as the
 * source is read.
 */
export function readLegacy(path: string, latest?: number) {
  const raw = new SQLite(path, { readonly: true, fileMustExist: true });
  const db = new Kysely<LegacyDatabase>({ dialect: new SqliteDialect({ database: raw }) });
  const report: LegacyReport = {
    users: 0,
    duplicateUsers: [],
    messages: 0,
    orphanMessages: 0,
    nullFlagged: 0,
    followerRows: 0,
    follows: 0,
    orphanFollows: 0,
    numericText: 0,
    latest,
  };

  async function* source(): RowSource {
    const names = new Set<string>();
    const userIds = new Set<number>();
    let after = -Infinity;
    for (;;) {
      const rows = await db
        .selectFrom('user')
        .selectAll()
        .where('user_id', '>', after)
        .orderBy('user_id')
        .limit(BATCH_ROWS)
        .execute();
      const out: Row[] = [];
      for (const r of rows) {
        const username = asText(r.username, report);
        if (names.has(username)) {
          report.duplicateUsers.push(username);
          continue;
        }
        names.add(username);
        userIds.add(r.user_id);
        out.push({
          user_id: r.user_id,
          username,
          email: asText(r.email, report),
          pw_hash: asText(r.pw_hash, report),
        });
      }
      report.users += out.length;
      if (out.length > 0) yield { table: 'users', rows: out };
      if (rows.length < BATCH_ROWS) break;
      after = rows.at(-1)?.user_id ?? after;
    }

    after = -Infinity;
    for (;;) {
      const rows = await db
        .selectFrom('message')
        .selectAll()
        .where('message_id', '>', after)
        .orderBy('message_id')
        .limit(BATCH_ROWS)
        .execute();
      const out: Row[] = [];
      for (const r of rows) {
        const author = asInteger(r.author_id);
        if (author === undefined || !userIds.has(author)) {
          report.orphanMessages++;
          continue;
        }
        let flagged = asInteger(r.flagged);
        if (flagged === undefined) {
          report.nullFlagged++;
          flagged = 1;
        }
        out.push({
          message_id: r.message_id,
          author_id: author,
          text: asText(r.text, report),
          pub_date: asInteger(r.pub_date) ?? 0,
          flagged: flagged === 0 ? 0 : 1,
        });
      }
      report.messages += out.length;
      if (out.length > 0) yield { table: 'messages', rows: out };
      if (rows.length < BATCH_ROWS) break;
      after = rows.at(-1)?.message_id ?? after;
    }

    // Duplicates are collapsed by the database, in (who, whom) order, a batch at a time.
    const count = await db
      .selectFrom('follower')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    report.followerRows = Number(count.n);
    let last: { who: unknown; whom: unknown } | undefined;
    for (;;) {
      let query = db
        .selectFrom('follower')
        .select(['who_id', 'whom_id'])
        .distinct()
        .orderBy('who_id')
        .orderBy('whom_id')
        .limit(BATCH_ROWS);
      if (last !== undefined) {
        const prev = last;
        // Keyset paging over the distinct pairs: no OFFSET, so large files stay linear.
        query = query.where((eb) =>
          eb.or([
            eb('who_id', '>', prev.who),
            eb.and([eb('who_id', '=', prev.who), eb('whom_id', '>', prev.whom)]),
          ]),
        );
      }
      const rows = await query.execute();
      const tail = rows.at(-1);
      if (tail) last = { who: tail.who_id, whom: tail.whom_id };
      const out: Row[] = [];
      for (const r of rows) {
        const who = asInteger(r.who_id);
        const whom = asInteger(r.whom_id);
        if (who === undefined || whom === undefined || !userIds.has(who) || !userIds.has(whom)) {
          report.orphanFollows++;
          continue;
        }
        out.push({ who_id: who, whom_id: whom });
      }
      report.follows += out.length;
      if (out.length > 0) yield { table: 'followers', rows: out };
      if (rows.length < BATCH_ROWS) break;
    }

    if (latest !== undefined)
      yield { table: 'settings', rows: [{ name: 'latest', value: latest }] };
  }

  /** Rows in the file's three tables (before duplicates are dropped): a total for progress. */
  const rows = () =>
    (
      raw
        .prepare(
          'select (select count(*) from user) + (select count(*) from message) + (select count(*) from follower) as n',
        )
        .get() as { n: number }
    ).n;
  return { source: source(), report, rows, close: () => db.destroy() };
}

/**
 * The simulator's `latest` to import: `given` (the operator's text) or else the text of the
 * reference's `latest_processed_sim_action_id.txt` beside `dbFile`; undefined when neither
 * exists. Throws when the text is not a whole number.
 */
export function legacyLatest(dbFile: string, given?: string): number | undefined {
  const raw = given ?? readLatestFile(dbFile);
  if (raw === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(raw.trim()))
    throw new Error(`latest must be a whole number, got "${raw}"`);
  return Number(raw.trim());
}

function readLatestFile(dbFile: string): string | undefined {
  const path = join(dirname(dbFile), 'latest_processed_sim_action_id.txt');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

export interface LegacyImportOptions extends LoadFileOptions {
  /** `latest` as the operator gave it (text); default: the file beside `file` (legacyLatest). */
  latest?: string;
}

export interface LegacyImportResult {
  /** The target's URL without its password. */
  target: string;
  loaded: Summary;
  /** What was found in the file and what was done about it (skipped rows, repaired values). */
  report: LegacyReport;
  /** The `latest` imported, when one was given or found. */
  latest: number | undefined;
}

/**
 * Imports the reference MiniTwit's own SQLite file into an empty database of either kind: the
 * function behind `minitwit import-legacy`. Throws when the file does not exist, `latest` is not
 * a whole number, or as `loadInto`.
 */
export async function importLegacy(options: LegacyImportOptions): Promise<LegacyImportResult> {
  const { file } = options;
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  const latest = legacyLatest(file, options.latest);
  const legacy = readLegacy(file, latest);
  try {
    return await withDatabase(options.url, async (target) => {
      const loaded = await loadInto(target, legacy.source, { ...options, total: legacy.rows() });
      return { target: target.safeUrl, loaded, report: legacy.report, latest };
    });
  } finally {
    await legacy.close();
  }
}
