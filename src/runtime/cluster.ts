import cluster, { type Worker } from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.js';
import { openDatabase } from '../db/connect.js';
import { migrateToLatest } from '../db/migrations.js';
import type { Logger } from '../observability/logger.js';

/** A worker that dies this soon after starting is not restarted in a loop faster than this. */
const RESTART_BACKOFF_MS = 1000;

/**
 * The primary of `WORKERS` > 1: migrates once, forks the workers (which share the ports through
 * node:cluster), replaces a worker that dies, and on SIGTERM/SIGINT passes the signal to every
 * worker and waits until all of them have drained and exited. Resolves to the exit code.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<number> {
  if (config.migrateOnStart) {
    const database = openDatabase(config.databaseUrl, { poolMax: 1 });
    try {
      const applied = await migrateToLatest(database.db, database.dialect, database.where);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    } finally {
      await database.close();
    }
  }

  let stopping = false;
  let failed = false;
  const started = new Map<Worker, number>();
  const fork = () => {
    // The primary migrated already: workers need not race each other for it.
    const worker = cluster.fork({ MIGRATE_ON_START: 'false', MINITWIT_WORKER: '1' });
    started.set(worker, Date.now());
  };

  const allExited = new Promise<void>((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      const ranMs = Date.now() - (started.get(worker) ?? 0);
      started.delete(worker);
      if (stopping) {
        if (code !== 0) failed = true;
        if (started.size === 0) resolve();
        return;
      }
      logger.error({ pid: worker.process.pid, code, signal }, 'worker died: starting another');
      void sleep(Math.max(0, RESTART_BACKOFF_MS - ranMs)).then(() => {
        if (!stopping) fork();
        else if (started.size === 0) resolve();
      });
    });
  });

  for (let i = 0; i < config.workers; i++) fork();
  logger.info({ workers: config.workers }, 'cluster primary started');

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: started.size }, 'stopping workers');
      for (const worker of started.keys()) worker.process.kill('SIGTERM');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  if (started.size > 0) await allExited;
  logger.info({ failed }, 'all workers stopped');
  return failed ? 1 : 0;
}
