import { constants } from 'node:os';
import type { Logger } from '../observability/logger.js';

/** The message a cluster worker sends its primary once all its ports listen. */
export const READY_MESSAGE = { minitwit: 'ready' } as const;

export const isReadyMessage = (message: unknown) =>
  typeof message === 'object' &&
  message !== null &&
  (message as { minitwit?: unknown }).minitwit === READY_MESSAGE.minitwit;

/** The exit code of a process ended by `signal` (128 + its number, as a shell reports it). */
export const signalExitCode = (signal: NodeJS.Signals) => 128 + (constants.signals[signal] ?? 0);

export interface StopRequests {
  /** Settles with the reason of the first stop request (a signal's name, or the primary's). */
  readonly requested: Promise<string>;
  /** The first request's reason once one came, else undefined. */
  readonly reason: string | undefined;
  /** Stops listening for requests (the process is about to exit). */
  dispose(): void;
}

/**
 * Listens, from now on, for what asks this process to stop: SIGTERM and SIGINT, and in a
 * cluster worker the loss of its primary. The first request settles `requested` (the caller
 * drains); the same signal a second time calls `force(signal)`: the operator does not want to
 * wait (Ctrl-C pressed twice). Only a repeat of the same signal forces: on Ctrl-C a cluster
 * worker gets both the terminal's SIGINT and its primary's SIGTERM, and must still drain.
 * Install before any slow start-up step, so that a signal is never just swallowed.
 */
export function watchStopRequests(
  logger: Logger,
  force: (signal: NodeJS.Signals) => void,
): StopRequests {
  let reason: string | undefined;
  const seen = new Set<NodeJS.Signals>();
  let resolve!: (reason: string) => void;
  const requested = new Promise<string>((done) => {
    resolve = done;
  });
  const request = (why: string) => {
    if (reason !== undefined) return;
    reason = why;
    resolve(why);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (seen.has(signal)) {
      logger.warn({ signal }, `${signal} again: exiting now, without waiting for requests`);
      force(signal);
      return;
    }
    seen.add(signal);
    request(signal);
  };
  const onDisconnect = () => request('primary gone');
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (process.send) process.on('disconnect', onDisconnect);
  return {
    requested,
    get reason() {
      return reason;
    },
    dispose() {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('disconnect', onDisconnect);
    },
  };
}

/**
 * Writes out what `logger` still buffers, then ends the process with `code` at once: no timer
 * or stray handle (a cluster worker's channel to its primary, say) keeps a stopped process
 * alive. Waits for the log at most `maxWaitMs`.
 */
export async function exitNow(logger: Logger, code: number, maxWaitMs = 1000): Promise<never> {
  await new Promise<void>((done) => {
    const timer = setTimeout(done, maxWaitMs);
    try {
      logger.flush(() => {
        clearTimeout(timer);
        done();
      });
    } catch {
      clearTimeout(timer);
      done();
    }
  });
  process.exit(code);
}
