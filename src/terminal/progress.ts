/**
 * Progress of long jobs for whoever runs them: in a terminal, one live bar per phase (cli-progress)
 * with the count, the total, the rate, the time spent and the time left; anywhere else (a pipe, a
 * log file, a test) plain lines at a steady interval. Nothing here knows what is being counted.
 */
import cliProgress from 'cli-progress';

/** How a phase is counted; `total` when known (a bar can show a share and a time left). */
export interface PhaseOptions {
  total?: number;
  /** What is counted: `rows` (the default), `lines`, `bytes` (shown as MB), `pages`… */
  unit?: string;
}

/** One phase of a long job, as its code reports it. */
export interface Phase {
  /** The total became known or changed. */
  setTotal(total: number): void;
  /** `n` more units are done (a count, not a running total). */
  add(n: number): void;
  /** `done` units are done in all (for progress read from a position, such as bytes). */
  set(done: number): void;
  /** The phase ended (successfully or not); its bar stays on screen as it ended. */
  finish(): void;
}

/** The progress of one job: phases one after another, and notes that must not tear a bar. */
export interface ProgressDisplay {
  /** Starts a phase: a new bar in a terminal, lines elsewhere. An unfinished earlier phase ends. */
  phase(name: string, options?: PhaseOptions): Phase;
  /** A line for the operator (a warning, a pass): above the bars in a terminal. */
  log(line: string): void;
  /** Ends the display; call once the job is over, whatever its outcome. */
  stop(): void;
}

export interface DisplayOptions {
  /** Names the job at the start of every line (the command's name). */
  label: string;
  /** Where lines go when the display is not live (a pipe, a test): one line per call. */
  err: (line: string) => void;
  /** A terminal to draw live bars on (usually process.stderr); lines when absent or not a TTY. */
  terminal?: NodeJS.WriteStream | undefined;
  /** Lines mode: at most one line per phase every `everyMs` (default 5 s). */
  everyMs?: number;
  /** The clock in milliseconds (tests). */
  now?: () => number;
}

/** A live bar display on a terminal, plain lines otherwise. */
export function progressDisplay(options: DisplayOptions): ProgressDisplay {
  const terminal = options.terminal;
  return terminal?.isTTY === true ? new BarDisplay(options, terminal) : new LineDisplay(options);
}

/** A display that shows nothing (library callers that want no output). */
export const noDisplay: ProgressDisplay = {
  phase: () => ({ setTotal() {}, add() {}, set() {}, finish() {} }),
  log() {},
  stop() {},
};

// ---- the time left -------------------------------------------------------------------------

/** How far back the recent rate looks, in milliseconds. */
const RATE_WINDOW_MS = 20_000;

/**
 * Counts one phase and estimates its time left from the slower of two rates: since the phase
 * began, and over the last 20 s. A job that slows down (a growing index, a busy machine) is then
 * seen at once, and a fast start (warm caches, a small first table) does not promise too much:
 * the estimate errs long, so it holds rather than creeps up.
 */
export class Meter {
  done = 0;
  total: number | undefined;
  readonly started: number;
  /** When the phase ended: its time spent stops there. */
  private ended: number | undefined;
  private samples: { at: number; done: number }[] = [];

  constructor(
    private readonly now: () => number,
    total?: number,
  ) {
    this.started = now();
    this.total = total;
    this.samples.push({ at: this.started, done: 0 });
  }

  /** Records that `done` units are done in all. */
  record(done: number) {
    this.done = done;
    const at = this.now();
    const last = this.samples.at(-1);
    if (last && at - last.at < 250) return;
    this.samples.push({ at, done });
    while (this.samples.length > 2 && (this.samples[1]?.at ?? at) < at - RATE_WINDOW_MS) {
      this.samples.shift();
    }
  }

  /** The phase ended: its time spent and rate stay as they are now. */
  end() {
    this.ended ??= this.now();
  }

  /** Milliseconds since the phase began (until it ended). */
  elapsed(): number {
    return (this.ended ?? this.now()) - this.started;
  }

  /** Units per second since the phase began (0 before the first second's worth). */
  rate(): number {
    const seconds = this.elapsed() / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }

  /** Seconds left, or undefined while unknown (no total, nothing done, under a second in). */
  secondsLeft(): number | undefined {
    if (this.total === undefined || this.done <= 0 || this.elapsed() < 1000) return undefined;
    if (this.done >= this.total) return 0;
    const overall = this.rate();
    const first = this.samples[0];
    const at = this.now();
    const recent =
      first && at - first.at >= 2000
        ? ((this.done - first.done) * 1000) / (at - first.at)
        : overall;
    const rate = Math.min(overall, recent);
    return rate > 0 ? (this.total - this.done) / rate : undefined;
  }
}

// ---- words ---------------------------------------------------------------------------------

/** `1,234,567` (with ` rows` when `unit` is given), or `12.3 MB` for bytes. */
export function amount(n: number, unit: string, withUnit = true): string {
  if (unit === 'bytes') return `${(n / 1e6).toFixed(1)}${withUnit ? ' MB' : ''}`;
  return `${Math.round(n).toLocaleString('en')}${withUnit ? ` ${unit}` : ''}`;
}

/** `850 ms`, `42 s`, `3 min 05 s`, `1 h 02 min`. */
export function duration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function rateText(meter: Meter, unit: string): string {
  const rate = meter.rate();
  return unit === 'bytes'
    ? `${(rate / 1e6).toFixed(1)} MB/s`
    : `${Math.round(rate).toLocaleString('en')} ${unit}/s`;
}

/**
 * The words after the bar, or the whole of a plain line after its name:
 * `1,234 of 5,000 rows (24%), 812 rows/s, 2 s spent, about 5 s left`; only the time spent for a
 * phase that counts nothing (a check, an external tool).
 */
export function describe(meter: Meter, unit: string): string {
  const spent = `${duration(meter.elapsed() / 1000)} spent`;
  const total = meter.total;
  if (meter.done === 0 && !total) return spent;
  const parts: string[] = [];
  if (total !== undefined && total > 0) {
    const share = Math.min(100, Math.floor((100 * meter.done) / total));
    parts.push(`${amount(meter.done, unit, false)} of ${amount(total, unit)} (${share}%)`);
  } else {
    parts.push(amount(meter.done, unit));
  }
  parts.push(rateText(meter, unit), spent);
  const left = meter.secondsLeft();
  if (left !== undefined && left > 0) parts.push(`about ${duration(Math.max(1, left))} left`);
  return parts.join(', ');
}

// ---- lines ---------------------------------------------------------------------------------

class LineDisplay implements ProgressDisplay {
  private current: Phase | undefined;
  private readonly now: () => number;
  private readonly everyMs: number;

  constructor(private readonly options: DisplayOptions) {
    this.now = options.now ?? (() => performance.now());
    this.everyMs = options.everyMs ?? 5000;
  }

  phase(name: string, phaseOptions: PhaseOptions = {}): Phase {
    this.current?.finish();
    const unit = phaseOptions.unit ?? 'rows';
    const meter = new Meter(this.now, phaseOptions.total);
    const head = `${this.options.label}: ${name}`;
    let last = meter.started;
    let printed: number | undefined;
    let finished = false;
    const print = () => {
      printed = meter.done;
      this.options.err(`${head}: ${describe(meter, unit)}`);
    };
    const phase: Phase = {
      setTotal: (total) => {
        meter.total = total;
      },
      add: (n) => phase.set(meter.done + n),
      set: (done) => {
        meter.record(done);
        const at = this.now();
        if (at - last >= this.everyMs) {
          last = at;
          print();
        }
      },
      finish: () => {
        if (finished) return;
        finished = true;
        meter.end();
        // A last line when the phase was long enough to show progress at all (and the line
        // printed last does not already say it all).
        const shown = printed !== undefined;
        if ((shown && printed !== meter.done) || (!shown && meter.elapsed() >= this.everyMs)) {
          print();
        }
        if (this.current === phase) this.current = undefined;
      },
    };
    this.current = phase;
    return phase;
  }

  log(line: string) {
    this.options.err(line);
  }

  stop() {
    this.current?.finish();
  }
}

// ---- bars ----------------------------------------------------------------------------------

const BAR_WIDTH = 24;

class BarDisplay implements ProgressDisplay {
  private readonly bars: cliProgress.MultiBar;
  private stopped = false;
  private current: Phase | undefined;
  private readonly now: () => number;

  constructor(
    private readonly options: DisplayOptions,
    terminal: NodeJS.WriteStream,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.bars = new cliProgress.MultiBar({
      stream: terminal,
      fps: 8,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: false,
      linewrap: false,
      format: (_options, params, payload: { render?: () => string }) =>
        payload.render ? payload.render() : `${params.value}`,
    });
  }

  phase(name: string, phaseOptions: PhaseOptions = {}): Phase {
    this.current?.finish();
    const unit = phaseOptions.unit ?? 'rows';
    const meter = new Meter(this.now, phaseOptions.total);
    const head = `${this.options.label}: ${name}`;
    let finished = false;
    const render = () => {
      const total = meter.total;
      let bar: string;
      if (finished) {
        bar = '█'.repeat(BAR_WIDTH);
      } else if (total !== undefined && total > 0) {
        const filled = Math.round(BAR_WIDTH * Math.min(1, meter.done / total));
        bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
      } else {
        // No total: a marker that moves, so the line still shows life.
        const at = Math.floor(meter.elapsed() / 250) % BAR_WIDTH;
        bar = `${'░'.repeat(at)}█${'░'.repeat(BAR_WIDTH - at - 1)}`;
      }
      return `${head} ${bar} ${describe(meter, unit)}${finished ? ' ✓' : ''}`;
    };
    const bar = this.bars.create(Math.max(1, meter.total ?? 1), 0, { render });
    // Drawn now: the work that follows may hold the event loop (a SQLite check) for a while.
    this.bars.update();
    const phase: Phase = {
      setTotal: (total) => {
        meter.total = total;
        bar.setTotal(Math.max(1, total));
      },
      add: (n) => phase.set(meter.done + n),
      set: (done) => {
        meter.record(done);
        bar.update(Math.min(done, Math.max(1, meter.total ?? done)));
      },
      finish: () => {
        if (finished) return;
        finished = true;
        meter.end();
        bar.update(Math.max(1, meter.total ?? meter.done));
        this.bars.update();
        if (this.current === phase) this.current = undefined;
      },
    };
    this.current = phase;
    return phase;
  }

  log(line: string) {
    this.bars.log(`${line}\n`);
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.current?.finish();
    this.bars.stop();
  }
}
