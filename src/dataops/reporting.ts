/**
 * How a data operation tells whoever runs it what is going on, without knowing where the words
 * go: lines for the operator through a `Log`, and the phases of a long job (a bulk copy, a
 * verification) through a `ProgressSink`. The CLI draws them on stderr (live bars in a terminal,
 * plain lines elsewhere: src/terminal/progress.ts); tests and scripts collect or ignore them.
 */

/** One line for the operator (no trailing newline). */
export type Log = (line: string) => void;

/** One phase of a long job as it reports itself: units done, out of a total when known. */
export interface PhaseProgress {
  /** The total became known or changed. */
  setTotal(total: number): void;
  /** `count` more units are done (a count, not a running total). */
  add(count: number): void;
  /** `done` units are done in all. */
  set(done: number): void;
  /** The phase ended. */
  finish(): void;
}

/** Receives the phases of a long job, one after another. */
export interface ProgressSink {
  /**
   * A phase begins now (rates count from here): its name (`copy`, `verify`…), its `total` when
   * known, in `unit`s (`rows` by default; `bytes`, `pages`…).
   */
  phase(name: string, options?: { total?: number; unit?: string }): PhaseProgress;
}

/** A log that drops every line. */
export const silent: Log = () => {};

/** A phase that ignores progress. */
export const noPhase: PhaseProgress = { setTotal() {}, add() {}, set() {}, finish() {} };

/** A sink that ignores progress. */
export const noProgress: ProgressSink = { phase: () => noPhase };

/** The sum of a record of counts (rows per table). */
export function totalOf(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}
