import type { ProgressSink } from '../dataops/reporting.js';

/** Progress of a long copy on stderr: rows, rate and time left, at most every `everyMs`. */
export class Progress implements ProgressSink {
  private done = 0;
  private started = performance.now();
  private last = performance.now();
  private printed = false;
  private total: number | undefined;

  /** `label` starts every line (the command's name); lines go to `err`. */
  constructor(
    private readonly err: (line: string) => void,
    private readonly label: string,
    private readonly everyMs = 2000,
  ) {}

  /** The copy begins: rate and time left count from now; `total` rows when known. */
  start(total?: number) {
    this.started = performance.now();
    this.last = this.started;
    if (total !== undefined) this.total = total;
  }

  add(rows: number) {
    this.done += rows;
    const now = performance.now();
    if (now - this.last >= this.everyMs) {
      this.last = now;
      this.print();
    }
  }

  /** A last line, only when the run was long enough to have shown progress. */
  finish() {
    if (this.printed) this.print();
  }

  get rows() {
    return this.done;
  }

  private print() {
    this.printed = true;
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    let line = `${this.label}: ${this.done.toLocaleString('en')} rows`;
    if (this.total !== undefined && this.total > 0) {
      const share = Math.min(100, (100 * this.done) / this.total);
      line += ` of ${this.total.toLocaleString('en')} (${share.toFixed(0)}%)`;
    }
    line += `, ${Math.round(rate).toLocaleString('en')} rows/s, ${seconds.toFixed(1)} s`;
    if (this.total !== undefined && rate > 0 && this.done < this.total) {
      line += `, about ${Math.ceil((this.total - this.done) / rate)} s left`;
    }
    this.err(line);
  }
}
