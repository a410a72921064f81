import { connect } from 'node:net';

export interface RawAnswer {
  /** 0 when nothing came back before the connection closed. */
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** True when the server closed the connection; false when the client gave up first. */
  closedByServer: boolean;
}

/** `http://host:port` → the port. */
export const portOf = (url: string) => Number(new URL(url).port);

/** A raw connection: write what you like, when you like; `answer` settles when it closes. */
export interface RawConnection {
  write(chunk: string | Buffer): void;
  /**
   * The first response, parsed from what arrived before the server closed the connection, or
   * before `clientTimeoutMs` (then closedByServer is false).
   */
  answer: Promise<RawAnswer>;
}

/** Opens a connection to 127.0.0.1:`port` (see RawConnection). */
export function rawConnection(port: number, clientTimeoutMs = 20_000): RawConnection {
  const socket = connect(port, '127.0.0.1');
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    const received: Buffer[] = [];
    let closedByServer = true;
    const timer = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, clientTimeoutMs);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the answer (or instead of one) still ends the exchange.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ...parseResponse(Buffer.concat(received).toString('utf8')), closedByServer });
    });
  });
  return {
    write: (chunk) => {
      if (!socket.destroyed) socket.write(chunk);
    },
    answer,
  };
}

/** Writes `chunks` (as they are: possibly half a request) and waits as rawConnection does. */
export function rawRequest(
  port: number,
  chunks: (string | Buffer)[],
  clientTimeoutMs = 20_000,
): Promise<RawAnswer> {
  const connection = rawConnection(port, clientTimeoutMs);
  for (const chunk of chunks) connection.write(chunk);
  return connection.answer;
}

function parseResponse(text: string) {
  const end = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/') || end < 0) return { status: 0, headers: {}, body: '' };
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? Number.NaN);
  const rest = text.slice(end + 4);
  const body = Number.isFinite(length) ? Buffer.from(rest).subarray(0, length).toString() : rest;
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body };
}
