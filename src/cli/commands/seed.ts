import { loadConfig } from '../../config/config.js';
import {
  finishBulkLoad,
  maxFollows,
  prepareForBulkLoad,
  SEED_PASSWORD,
  seedDatabase,
} from '../../dataops/bulk.js';
import { openDatabase } from '../../db/connect.js';
import { migrateToLatest } from '../../db/migrations.js';
import { hashPassword } from '../../domain/passwords.js';
import type { Command } from '../command.js';

function count(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const raw = String(value).replace(/_/g, '');
  if (!/^\d{1,10}$/.test(raw)) throw new Error(`--${name} must be a whole number, got "${value}"`);
  return Number(raw);
}

export const seedCommand: Command = {
  name: 'seed',
  summary: 'bulk-load generated users, messages and follows into an empty database (benchmarks)',
  usage:
    'minitwit seed [--database URL] [--users N] [--messages N] [--follows N] [--seed N]\n\n' +
    'Users are seed0..seed<N-1>, all with the password "seed-password"; seed0 follows exactly\n' +
    '100 of the busiest authors. Activity is skewed: a few users write most messages.',
  options: {
    users: { type: 'string' },
    messages: { type: 'string' },
    follows: { type: 'string' },
    seed: { type: 'string' },
  },
  async run({ values, out }) {
    const users = count(values.users, 'users', 1000);
    const messages = count(values.messages, 'messages', 10_000);
    const follows = count(
      values.follows,
      'follows',
      Math.min(users * 20, 2_000_000, maxFollows(users)),
    );
    const seed = count(values.seed, 'seed', 20_260_101);
    const url = (values.database as string | undefined) || loadConfig().databaseUrl;
    // One connection, so that session settings of the bulk load apply to every insert.
    const handle = openDatabase(url, { poolMax: 1 });
    const started = performance.now();
    let lastReport = 0;
    try {
      await migrateToLatest(handle.db, handle.dialect);
      await prepareForBulkLoad(handle.db, handle.dialect);
      await seedDatabase(handle.db, handle.dialect, {
        users,
        messages,
        follows,
        seed,
        pwHash: await hashPassword(SEED_PASSWORD),
        onProgress: ({ table, done, total }) => {
          const t = performance.now();
          if (done === total || t - lastReport > 5000) {
            lastReport = t;
            out(`${table}: ${done}/${total} (${((t - started) / 1000).toFixed(1)} s)`);
          }
        },
      });
      await finishBulkLoad(handle.db, handle.dialect);
    } finally {
      await handle.close();
    }
    out(
      `seeded ${users} users, ${messages} messages, ${follows} follows into ${handle.safeUrl} ` +
        `in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return 0;
  },
};
