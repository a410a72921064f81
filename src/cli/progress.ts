/** Progress of a long copy on stderr: rows, rate and time left, at most every `everyMs`. */
export class Progress {
  private done = 0;
  private readonly started = performance.now();
  private last = performance.now();
  private printed = false;

  constructor(
    private readonly err: (line: string) => void,
    private readonly label: string,
    private total: number | undefined = undefined,
    private readonly everyMs = 2000,
  ) {}

  setTotal(total: number) {
    this.total = total;
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
