// Where a page may send the browser back to: same-site paths only, never an open redirect.
// Imports nothing of the web's own, so templates (render.ts) and routes can both use it.

/**
 * Paths a sign-in never returns to: the forms themselves, and the GET links that change state
 * (sign out, follow, unfollow), so a link from another site through the sign-in page cannot
 * make anyone follow someone.
 */
const NO_RETURN = /^\/(?:(?:login|register|logout)|[^/?#]+\/(?:follow|unfollow))(?:[/?#]|$)/;

/**
 * `raw` when it is a path of this site to return to after signing in, else undefined: it must
 * be a string of at most 2,000 characters starting with one `/` and a character that is not
 * `/` or `\\` (a browser reads `//host` and `/\\host` as another site), with no backslash or
 * control character anywhere, and must not be the sign-in, sign-up or sign-out page nor a
 * follow or unfollow link. Absolute
 * URLs (`https://…`, `javascript:…`) are refused by the first rule. Never an open redirect.
 */
export function safeReturnPath(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2000) return undefined;
  if (!/^\/(?![/\\])/.test(raw) || raw.includes('\\')) return undefined;
  // No control character (a browser drops tabs and newlines, which could join `/` and `/`).
  if ([...raw].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c === '\u007f')) return undefined;
  let url: URL;
  try {
    url = new URL(raw, 'http://minitwit.invalid');
  } catch {
    return undefined;
  }
  if (url.origin !== 'http://minitwit.invalid') return undefined;
  const path = `${url.pathname}${url.search}`;
  if (NO_RETURN.test(path)) return undefined;
  return path;
}

/** The sign-in page's address returning to `path` (when it may be returned to). */
export function loginUrl(path: string | undefined): string {
  const back = safeReturnPath(path);
  // The home and public timelines are where a sign-in goes anyway (the reference's '/').
  return back && !/^\/(public)?(\?|$)/.test(back)
    ? `/login?next=${encodeURIComponent(back)}`
    : '/login';
}
