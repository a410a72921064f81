import { databaseCondition } from '../db/errors.js';

/** What FailureLog needs of a logger (pino's, or a request's child of it). */
export interface ErrorLogger {
  error(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** A failure: where it happened, of which kind, and the error. */
export interface Failure {
  /** The front door (`web`, `api`) or `database` for a connection's own errors. */
  door: string;
  error: unknown;
  /** The log message, e.g. "request failed". */
  message: string;
}

export interface FailureLogOptions {
  /** A kind of failure logs its stack at most once per this many ms (default REPEAT_INTERVAL_MS). */
  intervalMs?: number;
  /** Told of every failure, logged or not (metrics count them all). */
  onFailure?: (door: string, kind: string) => void;
}

/** By default a kind of failure logs its stack once per 10 s; the rest are counted. */
export const REPEAT_INTERVAL_MS = 10_000;
/** Kinds tracked at once; beyond this, new kinds share one entry (a flood of distinct errors). */
const MAX_KINDS = 200;

/**
 * The kind of a failure: its database condition (busy, unavailable, full, corrupt, sealed, …),
 * else `internal`.
 */
export function failureKind(error: unknown): string {
  return databaseCondition(error) ?? 'internal';
}

/** What makes two failures "the same": the condition, or the error's class, code and message. */
function signature(error: unknown): string {
  const condition = databaseCondition(error);
  if (condition) return condition;
  if (!(error instanceof Error)) return `internal:${String(error).slice(0, 200)}`;
  const code = (error as { code?: unknown }).code;
  return `internal:${error.name}:${String(code ?? '')}:${error.message.slice(0, 200)}`;
}

interface Window {
  suppressed: number;
  timer: NodeJS.Timeout;
  /** The failure that opened the window (logged in full). */
  first: Failure;
}

/**
 * Error logs that stay bounded during an outage. The first failure of a kind logs in full (with
 * its stack and the request's id); the same kind again within the interval is only counted, and
 * when the interval ends one line says how many there were. A database outage of any length thus
 * logs two lines per kind and interval instead of a stack per failed request, while
 * `onFailure` (the metrics) still sees every one.
 */
export class FailureLog {
  private readonly windows = new Map<string, Window>();
  private readonly intervalMs: number;

  constructor(
    private readonly logger: ErrorLogger,
    private readonly options: FailureLogOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? REPEAT_INTERVAL_MS;
  }

  /**
   * Reports one failure: counted always, logged through `log` (a request's logger, so the line
   * carries its id) when it is the first of its kind in the interval.
   */
  report(log: ErrorLogger, failure: Failure, context: object = {}): void {
    const kind = failureKind(failure.error);
    this.options.onFailure?.(failure.door, kind);
    let key = `${failure.door}:${signature(failure.error)}`;
    if (!this.windows.has(key) && this.windows.size >= MAX_KINDS) key = `${failure.door}:*`;
    const open = this.windows.get(key);
    if (open) {
      open.suppressed++;
      return;
    }
    log.error({ err: failure.error, kind, ...context }, failure.message);
    const window: Window = {
      suppressed: 0,
      timer: setTimeout(() => this.close(key), this.intervalMs),
      first: failure,
    };
    window.timer.unref();
    this.windows.set(key, window);
  }

  private close(key: string) {
    const window = this.windows.get(key);
    if (!window) return;
    this.windows.delete(key);
    clearTimeout(window.timer);
    if (window.suppressed === 0) return;
    const { door, error, message } = window.first;
    this.logger.warn(
      {
        door,
        kind: failureKind(error),
        repeated: window.suppressed,
        intervalMs: this.intervalMs,
        error: error instanceof Error ? error.message : String(error),
      },
      `${message}: ${window.suppressed} more like it (its stack is logged once per interval)`,
    );
  }

  /** Logs the counts of every open interval now (at shutdown). */
  flush(): void {
    for (const key of [...this.windows.keys()]) this.close(key);
  }
}
