import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { DatabaseHandle } from './connect.js';
import { isDatabaseSealed, seal, unseal } from './seal.js';
import {
  type AnyDb,
  countAll,
  insertRows,
  maxKey,
  type Row,
  readTable,
  resetSequences,
  SPECS,
  TABLES,
  type TableName,
} from './transfer.js';

export { isDatabaseSealed };

export type MigrationPhase = 'bulk' | 'catch-up' | 'final';

export interface MigrationEvents {
  /** Rows copied so far in a phase, for progress output. */
  rows?(phase: MigrationPhase, table: TableName, rows: number): void;
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
  /** From the start of the seal until the target was verified and ready: writes fail meanwhile. */
  pauseMs: number;
  totalMs: number;
  checked: string[];
}

export class MigrationVerificationError extends Error {}

/** Order-independent checksum of some columns of a table's rows in an id range. */
async function checksum(
  db: AnyDb,
  table: TableName,
  columns: string[],
  range: { after?: number; upTo?: number } = {},
) {
  let sum = 0n;
  let count = 0;
  for await (const rows of readTable(db, table, { ...range, batch: 5000 })) {
    for (const row of rows) {
      const digest = createHash('sha256')
        .update(JSON.stringify(columns.map((c) => row[c])))
        .digest();
      sum = (sum + BigInt(`0x${digest.subarray(0, 16).toString('hex')}`)) % (1n << 128n);
      count++;
    }
  }
  return `${count}:${sum.toString(16)}`;
}

async function flaggedIds(db: AnyDb): Promise<Set<number>> {
  const rows = await db
    .selectFrom('messages')
    .select('message_id')
    .where('flagged', '<>', 0)
    .execute();
  return new Set(rows.map((r) => Number(r.message_id)));
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
 * Copies a live database into an empty one while the source keeps serving: a bulk copy, catch-up
 * passes of rows with ids above the last copied, then a final pass with the source sealed (every
 * write fails fast, none is lost), which also brings over what changes without a new id
 * (follows, unfollows, flags, password upgrades, settings, sessions), advances the sequences and
 * verifies counts and checksums of every table. If anything fails the seal is lifted, so the
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
        await to.db
          .deleteFrom('followers')
          .where('who_id', '=', who)
          .where('whom_id', '=', whom)
          .execute();
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

  // 1. Bulk copy, source serving.
  await timed(
    'bulk',
    async () => (await copyNew('bulk', from.db)) + (await syncFollowers('bulk', true)),
  );

  // 2. Catch-up passes until a pass finds little new.
  for (let pass = 0; pass < maxPasses; pass++) {
    const moved = await timed('catch-up', () => copyNew('catch-up', from.db));
    if (moved < quietRows) break;
  }

  // Messages never change except `flagged`: their other columns up to here can be compared
  // now, outside the pause.
  const verifiedUpTo = high.messages;
  const immutable = ['message_id', 'author_id', 'text', 'pub_date'];
  const [sourceOld, targetOld] = await Promise.all([
    checksum(from.db, 'messages', immutable, { upTo: verifiedUpTo }),
    checksum(to.db, 'messages', immutable, { upTo: verifiedUpTo }),
  ]);
  const checked: string[] = [];
  if (sourceOld !== targetOld && from.dialect !== 'postgres') {
    throw new MigrationVerificationError(
      `messages up to id ${verifiedUpTo} differ before the final pass (${sourceOld} vs ${targetOld})`,
    );
  }
  // What arrived while checking, so the final pass stays short.
  await timed('catch-up', () => copyNew('catch-up', from.db));

  // 3. Final pass: seal the source, copy the rest, make the target equal, verify.
  const pauseStarted = performance.now();
  let sealed = false;
  try {
    await seal(from.db, from.dialect);
    sealed = true;
    await timed('final', async () => {
      let moved = await copyNew('final', from.db);

      if (from.dialect === 'postgres') {
        // Ids from a sequence can commit out of order: re-copy chunks whose counts differ.
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
      }

      // Password hashes upgraded at login since they were copied.
      const targetHashes = new Map<number, string>();
      for await (const rows of readTable(to.db, 'users', { batch: 5000 })) {
        for (const r of rows) targetHashes.set(r.user_id as number, r.pw_hash as string);
      }
      for await (const rows of readTable(from.db, 'users', { batch: 5000 })) {
        for (const r of rows) {
          if (targetHashes.get(r.user_id as number) === r.pw_hash) continue;
          await to.db
            .updateTable('users')
            .set({ pw_hash: r.pw_hash as string })
            .where('user_id', '=', r.user_id as number)
            .execute();
          moved++;
        }
      }

      // Flags set or lifted since the messages were copied.
      const [flaggedSource, flaggedTarget] = await Promise.all([
        flaggedIds(from.db),
        flaggedIds(to.db),
      ]);
      const toFlag = [...flaggedSource].filter((id) => !flaggedTarget.has(id));
      const toUnflag = [...flaggedTarget].filter((id) => !flaggedSource.has(id));
      for (const [ids, flagged] of [
        [toFlag, 1],
        [toUnflag, 0],
      ] as const) {
        for (let i = 0; i < ids.length; i += 500) {
          await to.db
            .updateTable('messages')
            .set({ flagged })
            .where('message_id', 'in', ids.slice(i, i + 500))
            .execute();
        }
        moved += ids.length;
      }

      moved += await syncFollowers('final', false);

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

    // Verification, still inside the pause: the source cannot change any more.
    const [countsFrom, countsTo] = await Promise.all([countAll(from.db), countAll(to.db)]);
    for (const table of TABLES) {
      if (countsFrom[table] !== countsTo[table]) {
        throw new MigrationVerificationError(
          `${table}: ${countsFrom[table]} rows in the source, ${countsTo[table]} in the target`,
        );
      }
    }
    checked.push('row counts of every table');
    const compare = async (
      label: string,
      table: TableName,
      columns: string[],
      range: { after?: number; upTo?: number } = {},
    ) => {
      const [a, b] = await Promise.all([
        checksum(from.db, table, columns, range),
        checksum(to.db, table, columns, range),
      ]);
      if (a !== b)
        throw new MigrationVerificationError(`${label}: checksums differ (${a} vs ${b})`);
      checked.push(label);
    };
    for (const table of ['users', 'followers', 'settings', 'sessions'] as const) {
      await compare(`${table}: checksum of every row`, table, SPECS[table].columns);
    }
    if (from.dialect === 'postgres') {
      await compare('messages: checksum of every row', 'messages', SPECS.messages.columns);
    } else {
      await compare(
        `messages above id ${verifiedUpTo}: checksum`,
        'messages',
        SPECS.messages.columns,
        { after: verifiedUpTo },
      );
      checked.push(`messages up to id ${verifiedUpTo}: checksum (before the pause)`);
      const [a, b] = await Promise.all([flaggedIds(from.db), flaggedIds(to.db)]);
      if (a.size !== b.size || [...a].some((id) => !b.has(id))) {
        throw new MigrationVerificationError('messages: the flagged ids differ');
      }
      checked.push('messages: the set of flagged ids');
    }
    await options.onReady?.();
  } catch (error) {
    if (sealed) {
      await unseal(from.db, from.dialect).catch(() => {});
      events.note?.('the source was unsealed: it serves writes again; discard the target');
    }
    throw error;
  }
  const pauseMs = performance.now() - pauseStarted;
  const counts = await countAll(to.db);
  return { rowsMoved, counts, passes, pauseMs, totalMs: performance.now() - started, checked };
}
