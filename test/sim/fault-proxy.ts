import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the proxy saw it; a fault may change any part before it is forwarded. */
export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An answer; a fault may change any part before it is sent back, or make one up. */
export interface ProxiedResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

/**
 * One deliberate deviation from the contract, as a careless rewrite of MiniTwit might have it:
 * `request` may change the request or answer it without the real server (return a response);
 * `response` may change the real server's answer.
 */
export interface Fault {
  request?(request: ProxiedRequest): ProxiedResponse | undefined;
  response?(response: ProxiedResponse, request: ProxiedRequest): void;
}

export interface FaultProxy {
  url: string;
  /** The fault in force; undefined passes everything through unchanged. */
  fault: Fault | undefined;
  close(): Promise<void>;
}

/**
 * A small HTTP proxy in front of a real server that breaks one rule at a time: the broken
 * servers the conformance checker's tests run against. Bodies are read whole (the checker's
 * requests and MiniTwit's pages are small) and Content-Length is recomputed.
 */
export async function startFaultProxy(backend: string): Promise<FaultProxy> {
  const target = new URL(backend);
  const proxy: FaultProxy = { url: '', fault: undefined, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: ProxiedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: { ...req.headers },
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const fault = proxy.fault;
      const send = (response: ProxiedResponse) => {
        fault?.response?.(response, request);
        const headers = { ...response.headers };
        delete headers['content-length'];
        delete headers['transfer-encoding'];
        delete headers.connection;
        const body = Buffer.from(response.body);
        headers['content-length'] = String(body.length);
        res.writeHead(response.status, headers);
        res.end(body);
      };
      const madeUp = fault?.request?.(request);
      if (madeUp) {
        res.writeHead(madeUp.status, {
          ...madeUp.headers,
          'content-length': String(Buffer.byteLength(madeUp.body)),
        });
        res.end(madeUp.body);
        return;
      }
      const body = Buffer.from(request.body);
      const headers: OutgoingHttpHeaders = { ...request.headers, connection: 'close' };
      delete headers['transfer-encoding'];
      if (body.length > 0 || request.method === 'POST') {
        headers['content-length'] = String(body.length);
      }
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () =>
            send({
              status: answer.statusCode ?? 502,
              headers: { ...answer.headers },
              body: Buffer.concat(parts).toString('utf8'),
            }),
          );
        },
      );
      upstream.on('error', (error) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${error.message}`);
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

/** A JSON answer, for faults that answer in the API's place. */
export const jsonAnswer = (status: number, value: unknown): ProxiedResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: value === undefined ? '' : JSON.stringify(value),
});

/** A redirect, for faults that answer in the web app's place. */
export const redirectAnswer = (to: string): ProxiedResponse => ({
  status: 302,
  headers: { location: to, 'content-type': 'text/html; charset=utf-8' },
  body: '',
});

/** The path of a request URL without its query. */
export const pathOf = (url: string) => new URL(url, 'http://x').pathname;

/** The query parameters of a request URL. */
export const queryOf = (url: string) => new URL(url, 'http://x').searchParams;

/** `url` with its query parameters changed by `change`. */
export function withQuery(url: string, change: (query: URLSearchParams) => void): string {
  const parsed = new URL(url, 'http://x');
  change(parsed.searchParams);
  const search = parsed.searchParams.toString();
  return `${parsed.pathname}${search ? `?${search}` : ''}`;
}

/** Whether the request carries a web session cookie. */
export const signedIn = (request: ProxiedRequest) =>
  /(^|;\s*)mt_session=/.test(String(request.headers.cookie ?? ''));
