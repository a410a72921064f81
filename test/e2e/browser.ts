import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from '../helpers/chromium.js';
import { type DatabaseKind, forEachDatabase } from '../helpers/databases.js';

export { CHROMIUM };

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Loopback only: 127.0.0.0/8 and ::1. Everything else (gravatar, for one) is refused. */
export function isLoopback(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '[::1]' || host === 'localhost';
}

/**
 * A fresh browser profile (its own cookies) that never leaves the machine: requests to other
 * hosts are aborted at once, as they would fail without a network, and are counted.
 */
export async function newContext(
  browser: Browser,
  options: {
    javaScriptEnabled?: boolean;
    width?: number;
    height?: number;
    colorScheme?: 'light' | 'dark';
    /** Lets a test inject its own script (axe-core) past the pages' CSP. */
    bypassCSP?: boolean;
  } = {},
): Promise<{ context: BrowserContext; page: Page; blocked: string[] }> {
  const context = await browser.newContext({
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    colorScheme: options.colorScheme ?? 'light',
    bypassCSP: options.bypassCSP ?? false,
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(15_000);
  const blocked: string[] = [];
  await context.route(
    (url) => !isLoopback(url.toString()),
    (route) => {
      blocked.push(route.request().url());
      return route.abort('internetdisconnected');
    },
  );
  const page = await context.newPage();
  return { context, page, blocked };
}

/** How far the page's content reaches past the viewport's right edge, in CSS pixels. */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    // This runs in the page, where `document` exists; the test code is compiled without the DOM.
    const doc = (globalThis as unknown as { document: PageDocument }).document;
    const root = doc.documentElement;
    return Math.max(root.scrollWidth, doc.body.scrollWidth) - root.clientWidth;
  });
}

interface PageDocument {
  documentElement: { scrollWidth: number; clientWidth: number };
  body: { scrollWidth: number };
}

export interface ForeignSite {
  url: string;
  close(): Promise<void>;
}

/**
 * Another site on another loopback address (127.0.0.2: a different site from 127.0.0.1 to the
 * browser), serving one page with the given body. With `host` 127.0.0.1 it is another origin
 * of the same site instead (another port: the browser sends SameSite=Lax cookies along).
 */
export async function startForeignSite(body: string, host = '127.0.0.2'): Promise<ForeignSite> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(
      `<!doctype html><html><head><title>Elsewhere</title></head><body>${body}</body></html>`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Declares a browser suite once per database. Without Chromium it says so loudly, by the one
 * prerequisite rule (prerequisites.ts): a failing test under CI=true, a skipped test otherwise.
 */
export function forEachDatabaseInBrowser(title: string, suite: (kind: DatabaseKind) => void) {
  forEachDatabase(title, (kind) => {
    if (requireChromium(`"${title}" on ${kind}`)) suite(kind);
  });
}

/** Fills and submits the sign-in form; the caller checks where it landed. */
export async function signIn(page: Page, base: string, username: string, password: string) {
  await page.goto(`${base}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.getByRole('button', { name: 'Sign In' }).click();
}
