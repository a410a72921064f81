import { sql } from 'kysely';
import type { DatabaseHandle } from '../db/connect.js';
import { isDatabaseSealed } from '../db/errors.js';
import { installChangeLog, type ReplayState, removeChangeLog, replayChanges } from './changelog.js';
import { seal, unseal } from './seal.js';
import {
  type AnyDb,
  countAll,
  deleteFollow,
  insertRows,
  maxKey,
  type Row,
  readTable,
  resetSequences,
  SPECS,
  TABLES,
  TableChecksum,
  type TableName,
  withSnapshot,
} from './transfer.js';

export { isDatabaseSealed };

export type MigrationPhase = 'bulk' | 'catch-up' | 'final';

export interface MigrationEvents {
  /** Rows copied so far in a phase, for progress output. */
  rows?(phase: MigrationPhase, table: TableName, rows: number): void;
  /** Rows of the source compared in the full verification after the switch, for progress. */
  verified?(table: TableName, rows: number): void;
  /** A finished pass: how many rows it moved and how long it took. */
  pass?(phase: MigrationPhase, rows: number, ms: number): void | Promise<void>;
  /** Free-form lines for the operator. */
  note?(line: string): void;
}

export interface LiveMigrationOptions {
  from: DatabaseHandle;
  to: DatabaseHandle;
  events?: MigrationEvents;
  /** Stop catching up once a pass moves fewer rows than this. */
  quietRows?: number;
  /** Never more than this many catch-up passes. */
  maxPasses?: number;
  /** Called as soon as the target is complete, verified and ready: the moment traffic can move. */
  onReady?(): void | Promise<void>;
}

export interface LiveMigrationResult {
  /** Rows written to the target in total (every pass, updates and deletes included). */
  rowsMoved: number;
  counts: Record<TableName, number>;
  passes: { phase: MigrationPhase; rows: number; ms: number }[];
  /** From the start of the seal until the target was complete and ready: writes fail meanwhile. */
  pauseMs: number;
  totalMs: number;
  checked: string[];
}

export class MigrationVerificationError extends Error {}

/** Row count and checksum (as TableChecksum computes it) of a table's rows in an id range. */
async function checksum(
  db: AnyDb,
  table: TableName,
  range: { after?: number; upTo?: number } = {},
  onRows?: (rows: number) => void,
): Promise<string> {
  const sum = new TableChecksum(table);
  for await (const rows of readTable(db, table, { ...range, batch: 5000 })) {
    for (const row of rows) sum.add(row);
    onRows?.(rows.length);
  }
  return `${sum.count}:${sum.hex}`;
}

/** Per 10,000-id chunk row counts: where a PostgreSQL source committed ids out of order. */
async function chunkCounts(db: AnyDb, table: 'users' | 'messages'): Promise<Map<number, number>> {
  const column = SPECS[table].key[0] as string;
  const rows = await db
    .selectFrom(table)
    .select([sql<number>`${sql.ref(column)} / 10000`.as('chunk'), (eb) => eb.fn.countAll().as('n')])
    .groupBy(sql`${sql.ref(column)} / 10000`)
    .execute();
  return new Map(rows.map((r) => [Number(r.chunk), Number(r.n)]));
}

/**
 * Copies a live database into an empty one while the source keeps serving. A change log
 * (triggers) is installed on the source first; then a bulk copy; catch-up passes copy rows with
 * ids above the last copied and replay the logged changes (follows, unfollows, flags, password
 * upgrades); the final pass runs with the source sealed (every write fails fast, none is lost),
 * copies the rest, replays the last changes, replaces settings and sessions, advances the
 * sequences and checks row counts. Then the target is ready (`onReady`), and every table is
 * compared in full, by count and checksum, between the sealed source and a snapshot of the
 * target taken at the switch. If anything fails before the switch the seal is lifted, so the
 * source serves writes again and the target can be thrown away.
 */
export async function migrateLive(options: LiveMigrationOptions): Promise<LiveMigrationResult> {
  const { from, to } = options;
  const events = options.events ?? {};
  const quietRows = options.quietRows ?? 1000;
  const maxPasses = options.maxPasses ?? 20;
  const started = performance.now();
  const passes: LiveMigrationResult['passes'] = [];
  let rowsMoved = 0;
  const high = { users: 0, messages: 0 };
  const copiedUsers = new Set<number>();

  /** Users and messages with ids above the high-water marks; returns rows moved. */
  const copyNew = async (phase: MigrationPhase, source: AnyDb): Promise<number> => {
    let moved = 0;
    // Taken before the users, so every message up to it has an author among the users copied.
    const messagesUpTo = await maxKey(source, 'messages');
    for await (const rows of readTable(source, 'users', { after: high.users })) {
      await insertRows(to.db, 'users', rows);
      for (const r of rows) copiedUsers.add(r.user_id as number);
      high.users = rows.at(-1)?.user_id as number;
      moved += rows.length;
      events.rows?.(phase, 'users', rows.length);
    }
    for await (const rows of readTable(source, 'messages', {
      after: high.messages,
      upTo: messagesUpTo,
    })) {
      // A PostgreSQL author committed late is picked up by the final pass's reconciliation.
      const ready = rows.filter((r) => copiedUsers.has(r.author_id as number));
      await insertRows(to.db, 'messages', ready);
      high.messages = rows.at(-1)?.message_id as number;
      moved += ready.length;
      events.rows?.(phase, 'messages', rows.length);
    }
    return moved;
  };

  /** Makes the target's followers equal to the source's (inserts and deletes). */
  const syncFollowers = async (phase: MigrationPhase, partial: boolean): Promise<number> => {
    const existing = new Set<string>();
    for await (const rows of readTable(to.db, 'followers', { batch: 5000 })) {
      for (const r of rows) existing.add(`${r.who_id},${r.whom_id}`);
    }
    let moved = 0;
    const pending: Row[] = [];
    const flush = async () => {
      await insertRows(to.db, 'followers', pending.splice(0));
    };
    for await (const rows of readTable(from.db, 'followers', { batch: 5000 })) {
      for (const r of rows) {
        const key = `${r.who_id},${r.whom_id}`;
        if (existing.delete(key)) continue;
        if (!copiedUsers.has(r.who_id as number) || !copiedUsers.has(r.whom_id as number)) continue;
        pending.push(r);
      }
      moved += pending.length;
      events.rows?.(phase, 'followers', rows.length);
      await flush();
    }
    if (!partial) {
      for (const key of existing) {
        const [who, whom] = key.split(',').map(Number) as [number, number];
        await deleteFollow(to.db, who, whom);
        moved++;
      }
    }
    return moved;
  };

  const timed = async (phase: MigrationPhase, work: () => Promise<number>) => {
    const t = performance.now();
    const rows = await work();
    const ms = performance.now() - t;
    passes.push({ phase, rows, ms });
    rowsMoved += rows;
    await events.pass?.(phase, rows, ms);
    return rows;
  };

  const replay: ReplayState = { seq: 0, deferred: new Set() };
  const checked: string[] = [];
  let sealed = false;
  let logInstalled = false;
  let ready = false;
  let pauseMs = 0;
  try {
    // 0. Record what changes without a new id from now on.
    await installChangeLog(from.db, from.dialect);
    logInstalled = true;

    // 1. Bulk copy, source serving.
    await timed(
      'bulk',
      async () => (await copyNew('bulk', from.db)) + (await syncFollowers('bulk', true)),
    );

    // 2. Catch-up passes until a pass finds little new.
    for (let pass = 0; pass < maxPasses; pass++) {
      const moved = await timed(
        'catch-up',
        async () =>
          (await copyNew('catch-up', from.db)) +
          (await replayChanges(from.db, to.db, replay, copiedUsers)),
      );
      if (moved < quietRows) break;
    }

    // 3. Final pass: seal the source, copy the rest, replay the last changes.
    const pauseStarted = performance.now();
    await seal(from.db, from.dialect);
    sealed = true;
    await timed('final', async () => {
      let moved = await copyNew('final', from.db);

      if (from.dialect === 'postgres') {
        // Ids from a sequence, and so the log's, can commit out of order: re-copy chunks whose
        // counts differ, and replay the whole log.
        for (const table of ['users', 'messages'] as const) {
          const [a, b] = await Promise.all([
            chunkCounts(from.db, table),
            chunkCounts(to.db, table),
          ]);
          for (const [chunk, n] of a) {
            if (b.get(chunk) === n) continue;
            for await (const rows of readTable(from.db, table, {
              after: chunk * 10000 - 1,
              upTo: chunk * 10000 + 9999,
            })) {
              await insertRows(to.db, table, rows, 'ignore');
              if (table === 'users') for (const r of rows) copiedUsers.add(r.user_id as number);
              moved += rows.length;
            }
          }
        }
        replay.seq = 0;
      }
      moved += await replayChanges(from.db, to.db, replay, copiedUsers);
      if (replay.deferred.size > 0) {
        throw new MigrationVerificationError(
          `${replay.deferred.size} follows name users missing from the target`,
        );
      }

      // Settings (latest) and sessions: small, replaced whole.
      await to.db.deleteFrom('settings').execute();
      await to.db.deleteFrom('sessions').execute();
      for (const table of ['settings', 'sessions'] as const) {
        for await (const rows of readTable(from.db, table, { batch: 5000 })) {
          await insertRows(to.db, table, rows);
          moved += rows.length;
        }
      }
      await resetSequences(to.db, to.dialect);
      return moved;
    });

    // Quick checks inside the pause: row counts of every table, small tables in full.
    const [countsFrom, countsTo] = await Promise.all([countAll(from.db), countAll(to.db)]);
    for (const table of TABLES) {
      if (countsFrom[table] !== countsTo[table]) {
        throw new MigrationVerificationError(
          `${table}: ${countsFrom[table]} rows in the source, ${countsTo[table]} in the target`,
        );
      }
    }
    checked.push('before the switch: row counts of every table');
    for (const table of ['settings', 'sessions'] as const) {
      const [a, b] = await Promise.all([checksum(from.db, table), checksum(to.db, table)]);
      if (a !== b) throw new MigrationVerificationError(`${table}: checksums differ`);
      checked.push(`before the switch: ${table} checksum`);
    }

    // 4. Ready. The target's state at this moment is pinned in a snapshot, then every table is
    // compared in full with the (sealed, unchanging) source while the target already serves.
    await withSnapshot(to.db, to.dialect, async (snapshot) => {
      await snapshot.selectFrom('settings').select('name').limit(1).execute();
      pauseMs = performance.now() - pauseStarted;
      ready = true;
      await options.onReady?.();
      for (const table of TABLES) {
        const [a, b] = await Promise.all([
          checksum(from.db, table, {}, (n) => events.verified?.(table, n)),
          checksum(snapshot, table),
        ]);
        if (a !== b) {
          throw new MigrationVerificationError(
            `after the switch: ${table} differs from the source (${a} vs ${b}); the source is sealed and unchanged, compare and repair before going on`,
          );
        }
        checked.push(`${table}: count and checksum of every row`);
      }
    });
  } catch (error) {
    if (!ready) {
      if (sealed) {
        await unseal(from.db, from.dialect).catch(() => {});
        events.note?.('the source was unsealed: it serves writes again; discard the target');
      }
    }
    if (logInstalled) await removeChangeLog(from.db, from.dialect).catch(() => {});
    throw error;
  }
  await removeChangeLog(from.db, from.dialect);
  const counts = await countAll(to.db);
  return { rowsMoved, counts, passes, pauseMs, totalMs: performance.now() - started, checked };
}
