import { maxFollows } from '../../dataops/bulk.js';
import type { PhaseProgress } from '../../dataops/reporting.js';
import { seedEmptyDatabase } from '../../dataops/seed.js';
import { defineCommand } from '../command.js';

/** A size option: a whole number (underscores allowed, as in 10_000), `fallback` when absent. */
function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const raw = value.replace(/_/g, '');
  if (!/^\d{1,10}$/.test(raw)) {
    throw new Error(`--${name} must be a whole number from 0 to 9999999999, got "${value}"`);
  }
  return Number(raw);
}

export const seedCommand = defineCommand({
  name: 'seed',
  summary: 'bulk-load generated users, messages and follows into an empty database (benchmarks)',
  createsDatabase: true,
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
  async run({ values, databaseUrl, out, progress }) {
    const users = count(values.users, 'users', 1000);
    const messages = count(values.messages, 'messages', 10_000);
    const follows = count(
      values.follows,
      'follows',
      Math.min(users * 20, 2_000_000, maxFollows(users)),
    );
    const seed = count(values.seed, 'seed', 20_260_101);
    const started = performance.now();
    const display = progress();
    let phase: { table: string; progress: PhaseProgress } | undefined;
    const { target } = await seedEmptyDatabase({
      url: databaseUrl(),
      users,
      messages,
      follows,
      seed,
      // One phase per table: users, messages, followers.
      onProgress: ({ table, done, total }) => {
        if (phase?.table !== table) phase = { table, progress: display.phase(table, { total }) };
        phase.progress.set(done);
        if (done >= total) phase.progress.finish();
      },
    });
    out(
      `seeded ${users} users, ${messages} messages, ${follows} follows into ${target} ` +
        `in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return 0;
  },
});
