import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/** A request Node's HTTP parser gave up on, before any route or hook could see it. */
export interface ClientErrorAnswer {
  status: 400 | 408 | 431;
  /** What went wrong, in words for the client. */
  message: string;
}

/**
 * What to answer a `clientError` with, or undefined when nothing can be answered (the client
 * reset the connection, or the socket is gone). Node raises these for a request that is not
 * HTTP (400), a request head over node:http's maxHeaderSize (431), and a client too slow to
 * send its head or request within the server's timeouts (408).
 */
export function clientErrorAnswer(
  error: Error & { code?: string },
  socket: Socket,
): ClientErrorAnswer | undefined {
  if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return undefined;
  // A response already under way on this connection cannot be followed by another one.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (current?.headersSent) return undefined;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, message: 'The request took too long to arrive' };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      message: `The request's headers are larger than ${maxHeaderSize} bytes`,
    };
  }
  return { status: 400, message: 'The request is not valid HTTP' };
}

/**
 * A node:http `clientError` listener (Fastify's `clientErrorHandler`) that answers in a door's
 * own shape: `render` gives the content type and body for a status and message, `headers` are
 * added (security headers). The connection is closed after the answer, as Node does.
 */
export function clientErrorHandler(
  render: (answer: ClientErrorAnswer) => { type: string; body: string },
  headers: Record<string, string> = {},
) {
  return (error: Error & { code?: string }, socket: Socket) => {
    const answer = clientErrorAnswer(error, socket);
    if (!answer) {
      socket.destroy();
      return;
    }
    const { type, body } = render(answer);
    const lines = [
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}`,
      `Content-Type: ${type}`,
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Cache-Control: no-store',
      'Connection: close',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
    // Closed once the answer has gone out.
    socket.destroySoon();
  };
}
