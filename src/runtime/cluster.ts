import cluster, { type Worker } from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.js';
import { openDatabase } from '../db/connect.js';
import { migrateToLatest } from '../db/migrations.js';
import type { Logger } from '../observability/logger.js';
import { exitNow, isReadyMessage, signalExitCode, watchStopRequests } from './stop.js';

/** A worker that dies this soon after starting is not restarted in a loop faster than this. */
const RESTART_BACKOFF_MS = 1000;

/**
 * The primary of `WORKERS` > 1: migrates once, forks the workers (which share the ports through
 * node:cluster), replaces a worker that dies, and on SIGTERM/SIGINT passes SIGTERM to every
 * worker and waits until all of them have drained and exited; the same signal twice kills them
 * at once. When a worker of the first set exits before its ports listen (a busy port, a bad
 * setting), the others are stopped and the primary gives up: restarting would fail the same
 * way. Resolves to the exit code; `err` gets the line that says why it failed.
 *
 * The workers accept connections themselves (SCHED_NONE), from the listening socket the
 * primary shares with them. With node's default on Linux (SCHED_RR) the primary accepts each
 * connection and passes it to a worker; one passed to a worker as it was killed stayed open in
 * the primary with nobody to answer it, and its client waited until its own timeout. Now the
 * kernel resets the connections a killed worker had accepted, and the other workers accept the
 * rest.
 */
export async function runPrimary(
  config: Config,
  logger: Logger,
  err: (line: string) => void = () => {},
): Promise<number> {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const workers = new Map<Worker, { startedAt: number; ready: boolean; first: boolean }>();
  const stop = watchStopRequests(logger, (signal) => {
    for (const worker of workers.keys()) worker.process.kill('SIGKILL');
    void exitNow(logger, signalExitCode(signal));
  });

  if (config.migrateOnStart) {
    const migrating = (async () => {
      const database = openDatabase(config.databaseUrl, { poolMax: 1 });
      try {
        const applied = await migrateToLatest(database.db, database.dialect, database.where);
        if (applied.length > 0) logger.info({ applied }, 'migrations applied');
      } finally {
        await database.close();
      }
    })();
    // A stop request lets the migration finish, for at most the grace period.
    const abandoned = stop.requested.then(() => sleep(config.shutdownGraceMs));
    migrating.catch(() => {}); // once abandoned, its failure no longer matters
    await Promise.race([migrating, abandoned]);
  }
  if (stop.reason !== undefined) {
    logger.info({ reason: stop.reason }, 'stop requested during start-up: not starting workers');
    return 0;
  }

  let stopping = false;
  let failed = false;
  let giveUp!: (why: string) => void;
  const gaveUp = new Promise<string>((done) => {
    giveUp = done;
  });
  const fork = (first: boolean) => {
    // The primary migrated already: workers need not race each other for it.
    const worker = cluster.fork({ MIGRATE_ON_START: 'false', MINITWIT_WORKER: '1' });
    workers.set(worker, { startedAt: Date.now(), ready: false, first });
    worker.on('message', (message: unknown) => {
      const state = workers.get(worker);
      if (state && isReadyMessage(message)) {
        state.ready = true;
        logger.info({ pid: worker.process.pid }, 'worker ready');
      }
    });
  };

  const allExited = new Promise<void>((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      const state = workers.get(worker);
      workers.delete(worker);
      const asked = signal === 'SIGTERM' || signal === 'SIGINT';
      if (stopping) {
        // Ended by a stop signal before it had installed its handlers: stopped as asked.
        if (code !== 0 && !asked) failed = true;
        if (workers.size === 0) resolve();
        return;
      }
      // A worker of the first set that exits by itself with an error before listening could not
      // start. One that exits 0 or by a stop signal was asked to stop (Ctrl-C reaches the
      // workers too, maybe before the primary): not a failure.
      if (state?.first && !state.ready && code !== 0 && !asked) {
        logger.error({ pid: worker.process.pid, code, signal }, 'a worker could not start');
        giveUp(`a worker could not start (exit code ${code ?? signal}): see its message above`);
        return;
      }
      logger.error({ pid: worker.process.pid, code, signal }, 'worker died: starting another');
      const ranMs = Date.now() - (state?.startedAt ?? 0);
      void sleep(Math.max(0, RESTART_BACKOFF_MS - ranMs)).then(() => {
        if (!stopping) fork(false);
        else if (workers.size === 0) resolve();
      });
    });
  });

  for (let i = 0; i < config.workers; i++) fork(true);
  logger.info({ workers: config.workers }, 'cluster primary started');

  const failure = await Promise.race([stop.requested.then(() => undefined), gaveUp]);
  stopping = true;
  logger.info({ reason: failure ?? stop.reason, workers: workers.size }, 'stopping workers');
  for (const worker of workers.keys()) worker.process.kill('SIGTERM');
  if (workers.size > 0) await allExited;
  if (failure !== undefined) {
    err(`minitwit serve: ${failure}`);
    return 1;
  }
  logger.info({ failed }, 'all workers stopped');
  return failed ? 1 : 0;
}
