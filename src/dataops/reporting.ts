/**
 * How a data operation tells whoever runs it what is going on, without knowing where the words
 * go: lines for the operator through a `Log`, and the rows of a long copy through a
 * `ProgressSink`. The CLI prints both to stderr; tests and scripts collect or ignore them.
 */

/** One line for the operator (no trailing newline). */
export type Log = (line: string) => void;

/** Receives the progress of one long copy. */
export interface ProgressSink {
  /** The copy begins now (rates count from here); `total`: the rows it moves, when known. */
  start?(total?: number): void;
  /** `rows` more rows were copied (a count, not a running total). */
  add(rows: number): void;
  /** The copy finished (called only when it succeeded). */
  finish(): void;
}

/** A log that drops every line. */
export const silent: Log = () => {};

/** A sink that ignores progress. */
export const noProgress: ProgressSink = { add() {}, finish() {} };
