import type { BackfillState, SearchStore } from '../db/search.js';

export interface BackfillOptions {
  /** Message ids per batch (one short transaction each); 1,000 on SQLite, 5,000 on PostgreSQL. */
  batch?: number;
  /**
   * Pause between batches, in ms, at least as long as the batch itself took on SQLite (its one
   * writer is then free at least half of the time); default 5 ms.
   */
  pauseMs?: number;
  /** Progress lines for the log: at the start, about every `reportEveryMs`, at the end. */
  log?: (fields: Record<string, unknown>, message: string) => void;
  /** A failed batch (tried again after a second); the indexer never stops for one. */
  warn?: (fields: Record<string, unknown>, message: string) => void;
  /** Called after every batch with the state (for a metrics gauge). */
  onProgress?: (state: BackfillState) => void;
  reportEveryMs?: number;
}

export interface BackfillSummary {
  batches: number;
  indexed: number;
  ms: number;
}

/**
 * The background indexer: indexes the messages that existed before search did (migration
 * 0003_search), newest first, one small batch at a time, so that start-up never waits for it
 * and writes go on between batches. Searches meanwhile find what is indexed (every new message
 * and the newest old ones). It resumes where it stopped after a restart (the state is in the
 * database) and does nothing once done.
 */
export class SearchBackfill {
  private running: Promise<BackfillSummary> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly batch: number;

  constructor(
    private readonly index: SearchStore,
    private readonly options: BackfillOptions = {},
  ) {
    this.batch = options.batch ?? (index.dialect === 'sqlite' ? 1000 : 5000);
  }

  /** Starts indexing in the background (once); the promise settles when done or stopped. */
  start(): Promise<BackfillSummary> {
    this.running ??= this.run(true);
    return this.running;
  }

  /** Indexes everything now, without pauses (benchmarks, tests, an operator's command). */
  runToEnd(): Promise<BackfillSummary> {
    return this.run(false);
  }

  /** Stops after the batch in progress; resolves when it has. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running?.catch(() => {});
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(paced: boolean): Promise<BackfillSummary> {
    const { log, warn, onProgress } = this.options;
    const started = performance.now();
    const summary: BackfillSummary = { batches: 0, indexed: 0, ms: 0 };
    let state = await this.index.backfillState();
    onProgress?.(state);
    if (state.done) return summary;
    const from = state.nextBelow - 1;
    log?.(
      { messagesBelow: state.nextBelow },
      `search index: indexing older messages (ids below ${state.nextBelow}) in the background`,
    );
    let reported = performance.now();
    while (!this.stopping) {
      const t0 = performance.now();
      try {
        const step = await this.index.backfillBatch(this.batch);
        summary.batches++;
        summary.indexed += step.indexed;
        state = step;
      } catch (error) {
        warn?.({ err: error }, 'search index: a batch failed; trying again in a second');
        await this.sleep(1000);
        continue;
      }
      onProgress?.(state);
      if (state.done) break;
      const now = performance.now();
      if (log && now - reported >= (this.options.reportEveryMs ?? 10_000)) {
        reported = now;
        const share = ((from - (state.nextBelow - 1)) / from) * 100;
        log(
          { indexed: summary.indexed, nextBelow: state.nextBelow, percent: Math.round(share) },
          `search index: ${share.toFixed(1)}% of older messages indexed (${summary.indexed} so far; ids below ${state.nextBelow} left)`,
        );
      }
      if (paced) {
        const took = performance.now() - t0;
        const pause = this.options.pauseMs ?? 5;
        await this.sleep(this.index.dialect === 'sqlite' ? Math.max(pause, took) : pause);
      }
    }
    summary.ms = performance.now() - started;
    if (state.done) {
      log?.(
        { indexed: summary.indexed, seconds: Math.round(summary.ms / 1000) },
        `search index: complete (${summary.indexed} older messages indexed in ${(summary.ms / 1000).toFixed(1)} s)`,
      );
    }
    return summary;
  }
}
