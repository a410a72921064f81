import { once } from 'node:events';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * How the proxy treats traffic: `pass` forwards it; `refuse` closes the listening socket, so new
 * connections are refused (ECONNREFUSED, as from a stopped server) while open ones keep working;
 * `stall` accepts new connections but forwards nothing, on new or open connections, in either
 * direction (a server or network that accepts and never answers).
 */
export type ProxyMode = 'pass' | 'refuse' | 'stall';

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  /** Bytes held back while stalled, per direction. */
  toServer: Buffer[];
  toClient: Buffer[];
}

/**
 * A fault-injecting TCP proxy for the tests (put between MiniTwit and PostgreSQL): forwards a
 * local port to `target` and, on command, cuts every connection, refuses new ones, or accepts
 * and stalls. `url(databaseUrl)` gives the database URL that goes through it.
 */
export class FaultProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private modeNow: ProxyMode = 'pass';
  /** Connections accepted so far, and connections cut by `cut()`. */
  accepted = 0;
  cutCount = 0;

  private constructor(
    readonly target: { host: string; port: number },
    public port: number,
  ) {}

  /** A proxy in `pass` mode on a free loopback port, forwarding to `target`. */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy(target, 0);
    await proxy.listen();
    return proxy;
  }

  /** `databaseUrl` (a postgres:// URL of `target`) with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  get mode(): ProxyMode {
    return this.modeNow;
  }

  /** Switches mode; from `refuse` the port is listened on again, from `stall` data flows again. */
  async setMode(mode: ProxyMode): Promise<void> {
    const before = this.modeNow;
    this.modeNow = mode;
    if (mode === 'refuse' && before !== 'refuse') await this.unlisten();
    if (mode !== 'refuse' && before === 'refuse') await this.listen();
    if (mode === 'pass' && before === 'stall') {
      for (const link of this.links) {
        if (!link.upstream) this.connectUpstream(link);
        this.flush(link);
      }
    }
  }

  /** Cuts every open connection at once (both sides), as a restart or failover of the server does. */
  cut(): number {
    let cut = 0;
    for (const link of [...this.links]) {
      link.client.destroy();
      link.upstream?.destroy();
      this.links.delete(link);
      cut++;
    }
    this.cutCount += cut;
    return cut;
  }

  /** Open connections now. */
  get open(): number {
    return this.links.size;
  }

  async close(): Promise<void> {
    this.cut();
    await this.unlisten();
  }

  private async listen() {
    const server = createServer((client) => this.accept(client));
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (typeof address === 'object' && address) this.port = address.port;
    this.server = server;
  }

  private async unlisten(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // Stops listening at once; connections already open are not waited for (see cut()).
    server.close();
    server.on('error', () => {});
  }

  private accept(client: Socket) {
    this.accepted++;
    const link: Link = { client, upstream: undefined, toServer: [], toClient: [] };
    this.links.add(link);
    client.setNoDelay(true);
    client.on('data', (chunk) => {
      link.toServer.push(chunk);
      this.flush(link);
    });
    client.on('error', () => {});
    client.on('close', () => {
      link.upstream?.destroy();
      this.links.delete(link);
    });
    if (this.modeNow !== 'stall') this.connectUpstream(link);
  }

  private connectUpstream(link: Link) {
    const upstream = tcpConnect(this.target.port, this.target.host);
    link.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('connect', () => this.flush(link));
    upstream.on('data', (chunk) => {
      link.toClient.push(chunk);
      this.flush(link);
    });
    upstream.on('error', () => link.client.destroy());
    upstream.on('close', () => {
      link.client.destroy();
      this.links.delete(link);
    });
  }

  /** Forwards what is held, in order, unless stalled (or the server side is not connected yet). */
  private flush(link: Link) {
    if (this.modeNow === 'stall') return;
    const upstream = link.upstream;
    if (upstream && !upstream.connecting) {
      for (const chunk of link.toServer.splice(0)) upstream.write(chunk);
    }
    for (const chunk of link.toClient.splice(0)) link.client.write(chunk);
  }
}
