/**
 * Standard output as a Unix tool uses it: result lines written as fast as the reader takes them
 * (waiting while it is behind, so memory stays flat at any size), and a reader that goes away
 * (`minitwit messages | head -3`) ends the output quietly instead of an EPIPE stack trace.
 */
export class Output {
  /** True once the stream failed or its reader went away: later writes are dropped. */
  closed = false;
  /** A failure other than a closed pipe (the run then exits 1 naming it). */
  failure: Error | undefined;

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      this.closed = true;
      if (error.code !== 'EPIPE') this.failure ??= error;
    });
  }

  /** One line (a newline is added); nothing once the reader has gone. */
  line(text: string) {
    if (!this.closed) this.stream.write(`${text}\n`);
  }

  /**
   * Every item of `source` (a line, or several joined by newlines) as lines, in chunks of about `chunkBytes`, each written once the stream has
   * room. Stops reading `source` (so its query ends) as soon as the reader has gone.
   */
  async lines(source: AsyncIterable<string>, chunkBytes = 64 * 1024): Promise<void> {
    let chunk = '';
    for await (const line of source) {
      if (this.closed) return;
      chunk += `${line}\n`;
      if (chunk.length >= chunkBytes) {
        await this.write(chunk);
        chunk = '';
      }
    }
    if (chunk !== '' && !this.closed) await this.write(chunk);
  }

  private write(text: string): Promise<void> {
    if (this.stream.write(text)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.once('drain', done);
      this.stream.once('error', done);
      this.stream.once('close', done);
    });
  }
}
