import type { IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** One HTTP answer of the web door. */
export interface WebAnswer {
  method: string;
  /** The path (and query) asked for. */
  path: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The Location header, when there is one. */
  location: string | undefined;
}

/** The request could not be made or was not answered in time. */
export class WebRequestError extends Error {}

export interface FormClientOptions {
  /** Per request, in milliseconds (default 10 s). */
  timeoutMs?: number;
  /** Headers sent with every request (e.g. to act like a browser of another site). */
  headers?: Record<string, string>;
}

/**
 * A client of MiniTwit's web door as the course's own web tests are (Python `requests` with a
 * session): a cookie jar, plain `application/x-www-form-urlencoded` posts without any token,
 * and none of the headers a browser adds (no Origin, no Sec-Fetch-*). `visit` and `submit`
 * follow redirects as `requests` does (a 302 after a POST becomes a GET); `get` and `post` do
 * not, so a caller can look at the redirect itself.
 */
export class FormClient {
  readonly cookies = new Map<string, string>();
  private readonly timeoutMs: number;
  private readonly extraHeaders: Record<string, string>;

  constructor(
    readonly baseUrl: string,
    options: FormClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.extraHeaders = options.headers ?? {};
  }

  /** A new client for the same server with a copy of this one's cookies. */
  clone(options: FormClientOptions = {}): FormClient {
    const copy = new FormClient(this.baseUrl, { timeoutMs: this.timeoutMs, ...options });
    for (const [k, v] of this.cookies) copy.cookies.set(k, v);
    return copy;
  }

  /**
   * One request, redirects not followed. Throws WebRequestError when there is no answer.
   *
   * @param form fields to send as a form body (POST)
   */
  request(
    method: string,
    path: string,
    form?: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<WebAnswer> {
    const url = new URL(path, this.baseUrl);
    const body = form === undefined ? undefined : Buffer.from(new URLSearchParams(form).toString());
    const sent: Record<string, string> = {
      'user-agent': 'minitwit-check',
      accept: '*/*',
      ...this.extraHeaders,
      ...headers,
    };
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (cookie) sent.cookie = cookie;
    if (body) {
      sent['content-type'] = 'application/x-www-form-urlencoded';
      sent['content-length'] = String(body.length);
    }
    const make = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const asked = `${url.pathname}${url.search}`;
    return new Promise<WebAnswer>((resolve, reject) => {
      const req = make(url, { method, headers: sent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(new WebRequestError(`${method} ${asked}: ${e.message}`)));
        res.on('end', () => {
          this.absorb(res.headers['set-cookie'] ?? []);
          const location = res.headers.location;
          resolve({
            method,
            path: asked,
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            location: typeof location === 'string' ? location : undefined,
          });
        });
      });
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(new WebRequestError(`${method} ${asked}: no answer in ${this.timeoutMs} ms`)),
      );
      req.on('error', (e) =>
        reject(
          e instanceof WebRequestError
            ? e
            : new WebRequestError(`${method} ${asked}: ${e.message}`),
        ),
      );
      req.end(body);
    });
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request('GET', path, undefined, headers);
  }

  post(path: string, form: Record<string, string>, headers?: Record<string, string>) {
    return this.request('POST', path, form, headers);
  }

  /** Follows redirects from `first` (at most 10) with GETs; returns every answer in order. */
  async follow(first: WebAnswer): Promise<WebAnswer[]> {
    const chain = [first];
    let last = first;
    while (last.status >= 300 && last.status < 400 && last.location !== undefined) {
      if (chain.length > 10) throw new WebRequestError(`more than 10 redirects from ${first.path}`);
      last = await this.get(new URL(last.location, new URL(last.path, this.baseUrl)).toString());
      chain.push(last);
    }
    return chain;
  }

  /** GET and follow redirects; returns every answer in order (the page is the last). */
  async visit(path: string, headers?: Record<string, string>): Promise<WebAnswer[]> {
    return this.follow(await this.get(path, headers));
  }

  /** POST a form and follow redirects; returns every answer in order. */
  async submit(
    path: string,
    form: Record<string, string>,
    headers?: Record<string, string>,
  ): Promise<WebAnswer[]> {
    return this.follow(await this.post(path, form, headers));
  }

  /** Keeps cookies as a browser would for one site: set, replaced, or removed when expired. */
  private absorb(lines: string[]) {
    for (const line of lines) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key = '', raw = ''] = a.split('=');
        const k = key.trim().toLowerCase();
        if (k === 'max-age') return Number(raw.trim()) <= 0;
        if (k === 'expires') return Date.parse(raw.trim()) <= Date.now();
        return false;
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}
