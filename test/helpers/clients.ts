import { DEFAULT_SIM_API_AUTH } from '../../src/config/config.js';

export const SIM_HEADERS = {
  Authorization: DEFAULT_SIM_API_AUTH,
  'Content-Type': 'application/json',
  Connection: 'close',
};

export interface ApiResponse {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests look into whatever came back
  json: any;
  headers: Headers;
}

/** The simulator API as the course simulator calls it. */
export class SimClient {
  constructor(readonly baseUrl: string) {}

  async request(
    method: string,
    path: string,
    options: {
      body?: unknown;
      rawBody?: string;
      latest?: number | string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<ApiResponse> {
    const url = new URL(path, this.baseUrl);
    if (options.latest !== undefined) url.searchParams.set('latest', String(options.latest));
    const res = await fetch(url, {
      method,
      headers: { ...SIM_HEADERS, ...options.headers },
      body:
        options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json, headers: res.headers };
  }

  get(path: string, options?: Parameters<SimClient['request']>[2]) {
    return this.request('GET', path, options);
  }

  post(path: string, body: unknown, options?: Parameters<SimClient['request']>[2]) {
    return this.request('POST', path, { ...options, body });
  }

  register(username: string, email = `${username.replace(/\W/g, '')}@example.com`, pwd = 'secret') {
    return this.post('/register', { username, email, pwd });
  }

  tweet(username: string, content: string) {
    return this.post(`/msgs/${encodeURIComponent(username)}`, { content });
  }

  follow(username: string, other: string) {
    return this.post(`/fllws/${encodeURIComponent(username)}`, { follow: other });
  }
}

export interface WebResponse {
  status: number;
  html: string;
  location: string | null;
  headers: Headers;
}

/**
 * A form client as the course's own web tests are (Python `requests` with a session): a cookie
 * jar, plain form posts with no token and no browser headers (no Origin, no Sec-Fetch-*),
 * redirects followed by `visit`/`submit` and not by `request`/`post`. `headers` are sent with
 * every request (e.g. the Sec-Fetch-Site a browser would add).
 */
export class WebClient {
  readonly cookies = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    readonly headers: Record<string, string> = {},
  ) {}

  private absorb(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*max-age=0$/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(
    method: string,
    path: string,
    body?: URLSearchParams,
    headers: Record<string, string> = {},
  ) {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...this.headers,
        ...headers,
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    this.absorb(res);
    const response: WebResponse = {
      status: res.status,
      html: await res.text(),
      location: res.headers.get('location'),
      headers: res.headers,
    };
    return response;
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request('GET', path, undefined, headers);
  }

  /** GET, then follow redirects (up to 5) as a browser would. */
  async visit(path: string, headers?: Record<string, string>): Promise<WebResponse> {
    let res = await this.get(path, headers);
    for (let i = 0; i < 5 && res.status >= 300 && res.status < 400 && res.location; i++) {
      res = await this.get(res.location);
    }
    return res;
  }

  /** Posts a plain form (no token), without following the redirect. */
  post(path: string, fields: Record<string, string>, headers?: Record<string, string>) {
    return this.request('POST', path, new URLSearchParams(fields), headers);
  }

  /** Posts a form and follows the redirect, returning the page a browser would land on. */
  async submit(path: string, fields: Record<string, string>, headers?: Record<string, string>) {
    const res = await this.post(path, fields, headers);
    return res.status >= 300 && res.status < 400 && res.location ? this.visit(res.location) : res;
  }

  async register(
    username: string,
    password = 'secret',
    email = `${username.replace(/\W/g, '')}@example.com`,
  ) {
    return this.submit('/register', { username, email, password, password2: password });
  }

  async login(username: string, password = 'secret') {
    return this.submit('/login', { username, password });
  }
}
