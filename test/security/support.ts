import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { App } from '../../src/app.js';

/** Counts attack cases per category and prints them, so the note can quote real numbers. */
export class Tally {
  readonly counts = new Map<string, number>();

  add(category: string, n = 1) {
    this.counts.set(category, (this.counts.get(category) ?? 0) + n);
  }

  get total() {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  /** Prints the counts: as a test diagnostic when given a test context, else on stdout. */
  report(t: TestContext | undefined, suite: string) {
    const parts = [...this.counts].map(([k, v]) => `${k}=${v}`).join(' ');
    const line = `attack cases [${suite}]: total=${this.total} ${parts}`;
    if (t && typeof t.diagnostic === 'function') t.diagnostic(line);
    else process.stdout.write(`${line}\n`);
  }
}

/** Every row of the data tables, ordered, for before/after comparisons. */
export async function snapshot(app: App) {
  const db = app.database.db;
  const [users, messages, followers] = await Promise.all([
    db.selectFrom('users').selectAll().orderBy('user_id').execute(),
    db.selectFrom('messages').selectAll().orderBy('message_id').execute(),
    db.selectFrom('followers').selectAll().orderBy('who_id').orderBy('whom_id').execute(),
  ]);
  return { users, messages, followers };
}

export type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/** The rows of `before` as they are in `after`: every one must still be there, unchanged. */
export function originalRows(before: Snapshot, after: Snapshot): Snapshot {
  const users = new Map(after.users.map((u) => [u.user_id, u]));
  const messages = new Map(after.messages.map((m) => [m.message_id, m]));
  const follows = new Set(after.followers.map((f) => `${f.who_id}>${f.whom_id}`));
  return {
    users: before.users.map((u) => users.get(u.user_id) ?? { ...u, username: '<<deleted>>' }),
    messages: before.messages.map(
      (m) => messages.get(m.message_id) ?? { ...m, text: '<<deleted>>' },
    ),
    followers: before.followers.filter((f) => follows.has(`${f.who_id}>${f.whom_id}`)),
  };
}

/** A small, fast, seeded PRNG (mulberry32), so every fuzz run is the same run. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (max: number) => Math.floor(next() * max),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  };
}

export { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';

/** A fresh Chromium profile directory and a way to remove it. */
export function userDataDir() {
  const dir = mkdtempSync(join(tmpdir(), 'minitwit-sec-chromium-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Lines of the server log that contain `needle`. */
export const logsContaining = (logs: string[], needle: string) =>
  logs.filter((line) => line.includes(needle));
