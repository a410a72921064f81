import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts, nodeServerTimeouts } from '../config/http.js';
import type { Health } from './health.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * The operators' port: /metrics, /healthz and /readyz, apart from the public web and API ports
 * so that a firewall or a reverse proxy can keep it private. Plain node:http: no request logs,
 * and no metrics about scraping the metrics.
 */
export interface MetricsServerOptions {
  /** Head, request and keep-alive timeouts (HTTP_*_TIMEOUT_MS), as on the front doors. */
  timeouts?: HttpTimeouts;
  /** Answers a request Node's parser refused (400, 408, 431); Node's bare answer otherwise. */
  onClientError?: (error: Error & { code?: string }, socket: Socket) => void;
}

export class MetricsServer {
  private readonly server: Server;

  constructor(
    private readonly metrics: Metrics,
    private readonly health: Health,
    private readonly logger: Logger,
    options: MetricsServerOptions = {},
  ) {
    this.server = createServer(
      nodeServerTimeouts(options.timeouts ?? DEFAULT_HTTP_TIMEOUTS),
      (req, res) => {
        const send = (status: number, type: string, body: string) => {
          res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : body);
        };
        const json = (status: number, body: unknown) =>
          send(status, 'application/json; charset=utf-8', JSON.stringify(body));
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.setHeader('allow', 'GET, HEAD');
          return json(405, { status: 405, error_msg: 'Only GET and HEAD are served here' });
        }
        const path = (req.url ?? '/').split('?')[0];
        const fail = (error: unknown) => {
          this.logger.error({ err: error, path }, 'metrics endpoint failed');
          if (!res.headersSent) json(500, { status: 500, error_msg: 'Internal server error' });
          else res.destroy();
        };
        if (path === '/metrics') {
          this.metrics
            .text()
            .then((text) => send(200, this.metrics.registry.contentType, text), fail);
        } else if (path === '/healthz') {
          json(200, { status: 'ok' });
        } else if (path === '/readyz') {
          this.health.readiness().then((r) => json(r.ready ? 200 : 503, r), fail);
        } else {
          json(404, { status: 404, error_msg: 'Not here: try /metrics, /healthz or /readyz' });
        }
      },
    );
    if (options.onClientError) this.server.on('clientError', options.onClientError);
  }

  /** Listens on `port` (0 picks a free one); returns its base URL. */
  listen(port: number, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address() as AddressInfo;
        const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve(`http://${shown}:${address.port}`);
      });
    });
  }

  /** True while the port is open. */
  get listening(): boolean {
    return this.server.listening;
  }

  get port(): number | undefined {
    return (this.server.address() as AddressInfo | null)?.port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
