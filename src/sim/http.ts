import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The course simulator's credentials: `simulator:super_safe!`. */
export const COURSE_AUTH = 'Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh';
/** The course simulator gives up on a request after 0.3 s. */
export const COURSE_TIMEOUT_MS = 300;

export type Outcome =
  | { kind: 'status'; status: number; ms: number; body: string }
  | { kind: 'ConnectionError'; ms: number; message: string }
  | { kind: 'ReadTimeout'; ms: number };

export interface SendOptions {
  auth?: string;
  timeoutMs?: number;
  /** Accept self-signed certificates (tests through a local TLS proxy). */
  insecure?: boolean;
  /** Send this text as the JSON body instead of serialising `body` (malformed-input probes). */
  rawBody?: string;
  /** Extra request headers (e.g. a web session's Cookie). */
  headers?: Record<string, string>;
}

/**
 * One request as the course simulator makes it: a new connection with `Connection: close`,
 * JSON, the auth header, and a hard timeout. Never throws: every failure is an Outcome.
 */
export function send(
  baseUrl: string,
  method: string,
  path: string,
  body: unknown,
  options: SendOptions = {},
): Promise<Outcome> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  const url = new URL(path, baseUrl);
  const payload =
    options.rawBody !== undefined
      ? Buffer.from(options.rawBody)
      : body === undefined
        ? undefined
        : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { Connection: 'close' };
  // An empty `auth` sends no Authorization header at all.
  const auth = options.auth ?? COURSE_AUTH;
  if (auth !== '') headers.Authorization = auth;
  Object.assign(headers, options.headers);
  if (payload) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  const make = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Outcome>((resolve) => {
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = make(
      url,
      { method, headers, agent: false, ...(options.insecure ? { rejectUnauthorized: false } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          finish({
            kind: 'status',
            status: res.statusCode ?? 0,
            ms: elapsed(),
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', (e) =>
          finish({ kind: 'ConnectionError', ms: elapsed(), message: e.message }),
        );
      },
    );
    const timer = setTimeout(() => {
      finish({ kind: 'ReadTimeout', ms: elapsed() });
      req.destroy();
    }, options.timeoutMs ?? COURSE_TIMEOUT_MS);
    req.on('error', (e) => finish({ kind: 'ConnectionError', ms: elapsed(), message: e.message }));
    req.end(payload);
  });
}

/** The course's error line: `UTC-time,host,latest,status|ConnectionError|ReadTimeout,command`. */
export function errorLine(host: string, latest: number, outcome: Outcome, command: string): string {
  const what = outcome.kind === 'status' ? String(outcome.status) : outcome.kind;
  return `${new Date().toISOString()},${host},${latest},${what},${command}`;
}
