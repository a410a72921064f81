const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields shown in the line's head or not at all; everything else follows as key=value. */
const HEAD = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'err']);

function show(value: unknown): string {
  return typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * One pino JSON line as a short human line for development:
 * `12:00:01.123 INFO  [api] request reqId=… method=GET route=/latest status=200 ms=1.2`,
 * followed by the stack of a logged error. Lines that are not JSON pass through unchanged.
 */
export function prettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const level = LEVELS[entry.level as number] ?? String(entry.level);
  const door = entry.door ? `[${entry.door}] ` : '';
  const rest = Object.entries(entry)
    .filter(([key]) => !HEAD.has(key) && key !== 'door')
    .map(([key, value]) => `${key}=${show(value)}`)
    .join(' ');
  let out = `${time} ${level} ${door}${entry.msg ?? ''}${rest ? ` ${rest}` : ''}\n`;
  const err = entry.err as { stack?: string; message?: string } | undefined;
  if (err) {
    const detail = err.stack ?? err.message ?? JSON.stringify(err);
    out += `${detail.replace(/^/gm, '    ')}\n`;
  }
  return out;
}

/** A pino destination that writes pretty lines to standard output. */
export function prettyDestination(write: (text: string) => void = (t) => process.stdout.write(t)) {
  return { write: (line: string) => write(prettyLine(line)) };
}
