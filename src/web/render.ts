import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { Eta } from 'eta';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { webAssets } from '../config/paths.js';
import type { TimelineEntry } from '../domain/minitwit.js';
import { loginUrl } from './return-to.js';

/**
 * What every page is given besides the layout's own data; `title` goes in <title>. With
 * `keepFlashes` the page shows no flash messages and leaves them for the next page (a refusal
 * that should change nothing, not even what the user has yet to read).
 */
export type PageData = { title: string; keepFlashes?: boolean } & Record<string, unknown>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The page templates (views/*.eta). */
    templates: Eta;
  }
  interface FastifyReply {
    /**
     * Sends `view` inside the layout as text/html with `status` (200 by default), adding the
     * signed-in user and the pending flash messages (then cleared).
     */
    page(view: string, data: PageData, status?: number): FastifyReply;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
  "'": '&#39;',
};

/** HTML-escapes any value; quotes become &#34; and &#39; as in the reference's pages. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Gravatar of the trimmed, lower-cased email: 48 px, identicon when the address has none. */
export function gravatarUrl(email: string, size = 48): string {
  const hash = createHash('md5').update(email.trim().toLowerCase()).digest('hex');
  return `https://www.gravatar.com/avatar/${hash}?d=identicon&s=${size}`;
}

/** `YYYY-MM-DD @ HH:MM` in UTC (the reference's text). */
export function formatDate(unixSeconds: number): string {
  const iso = new Date(unixSeconds * 1000).toISOString();
  return `${iso.slice(0, 10)} @ ${iso.slice(11, 16)}`;
}

/** `YYYY-MM-DD HH:MM:SS UTC`: the exact time, for the title of a <time>. */
export function exactDate(unixSeconds: number): string {
  const iso = new Date(unixSeconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/**
 * How long before `nowSeconds` the time `unixSeconds` was, in words: "just now" (under a
 * minute, or in the future by a clock skew), "5 min ago", "3 h ago", "2 days ago",
 * "4 months ago" (30-day months), "2 years ago" (365-day years).
 */
export function relativeTime(unixSeconds: number, nowSeconds: number): string {
  const seconds = nowSeconds - unixSeconds;
  if (seconds < 60) return 'just now';
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  if (seconds < 30 * 86_400) return plural(Math.floor(seconds / 86_400), 'day');
  if (seconds < 365 * 86_400) return plural(Math.floor(seconds / (30 * 86_400)), 'month');
  return plural(Math.floor(seconds / (365 * 86_400)), 'year');
}

export const userUrl = (username: string) => `/${encodeURIComponent(username)}`;

/** Where avatars come from: drawn by MiniTwit itself (no third party), or Gravatar. */
export type AvatarSource = 'minitwit' | 'gravatar';

/** Background colours of the drawn avatars: white text on each is at least 4.5:1. */
export const AVATAR_COLOURS = [
  '#2f6f62',
  '#3d5a98',
  '#8a4b9a',
  '#a4452f',
  '#4f6a22',
  '#9a3d55',
  '#1f6b8a',
  '#6b5a1f',
];

/** A user's avatar as the templates draw it. */
export interface AvatarView {
  /** One or two letters (upper case) from the username. */
  initials: string;
  /** A colour of AVATAR_COLOURS, the same for a username every time. */
  colour: string;
  /** A Gravatar URL drawn over the letters, when avatars come from Gravatar. */
  image?: string;
}

/**
 * The avatar of `username`: its first letter, and the first letter after a space, `_`, `-` or
 * `.` when there is one; the colour is a hash (FNV-1a) of the name. With `source` 'gravatar'
 * the picture of `email` is laid over the letters (which show while it loads or when it fails).
 */
export function avatarOf(username: string, email: string, source: AvatarSource): AvatarView {
  const letters = [...username];
  const first = letters.find((c) => /[\p{L}\p{N}]/u.test(c)) ?? letters[0] ?? '?';
  const word = /[\s_.-]+([\p{L}\p{N}])/u.exec(
    username.slice(username.indexOf(first) + first.length),
  );
  const initials = `${first}${word?.[1] ?? ''}`.toUpperCase();
  let hash = 0x811c9dc5;
  for (const c of letters) {
    hash ^= c.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const colour = AVATAR_COLOURS[hash % AVATAR_COLOURS.length] ?? '#2f6f62';
  return source === 'gravatar'
    ? { initials, colour, image: gravatarUrl(email) }
    : { initials, colour };
}

export interface MessageView {
  /** The message's id (for its delete link) and its author's, to tell one's own messages. */
  messageId: number;
  authorId: number;
  text: string;
  username: string;
  url: string;
  avatar: AvatarView;
  /** The reference's `YYYY-MM-DD @ HH:MM` (UTC). */
  date: string;
  /** `YYYY-MM-DD HH:MM:SS UTC`. */
  exact: string;
  /** "5 min ago". */
  ago: string;
  iso: string;
}

/** Options of messageViews: the avatar source and the time "now" is (Unix seconds). */
export interface ViewOptions {
  avatars?: AvatarSource;
  now?: number;
}

export function messageViews(entries: TimelineEntry[], options: ViewOptions = {}): MessageView[] {
  const source = options.avatars ?? 'minitwit';
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const avatars = new Map<string, AvatarView>();
  return entries.map((m) => {
    let avatar = avatars.get(m.username);
    if (avatar === undefined) {
      avatar = avatarOf(m.username, m.email, source);
      avatars.set(m.username, avatar);
    }
    return {
      messageId: m.messageId,
      authorId: m.authorId,
      text: m.text,
      username: m.username,
      url: userUrl(m.username),
      avatar,
      date: formatDate(m.pubDate),
      exact: exactDate(m.pubDate),
      ago: relativeTime(m.pubDate, now),
      iso: new Date(m.pubDate * 1000).toISOString(),
    };
  });
}

/** A user in a list (follow lists, suggestions): name, link and avatar. */
export interface UserView {
  username: string;
  url: string;
  avatar: AvatarView;
}

export function userViews(
  users: { username: string; email: string }[],
  source: AvatarSource = 'minitwit',
): UserView[] {
  return users.map((u) => ({
    username: u.username,
    url: userUrl(u.username),
    avatar: avatarOf(u.username, u.email, source),
  }));
}

/** The template engine as every page uses it: our views, cached, escaping by default. */
export function createTemplates(): Eta {
  return new Eta({
    views: resolve(webAssets, 'views'),
    cache: true,
    autoEscape: true,
    escapeFunction: escapeHtml,
  });
}

/**
 * Page rendering for the web door: decorates the instance with `templates` and every reply
 * with `page()`. Needs the web sessions (for the user and the flashes).
 */
export const webPages = fp(
  async (app) => {
    app.decorate('templates', createTemplates());
    app.decorateReply(
      'page',
      function page(this: FastifyReply, view: string, data: PageData, status = 200) {
        const { request, server } = this;
        const html = server.templates.render(view, {
          ...data,
          user: request.user,
          userUrl: request.user ? userUrl(request.user.username) : undefined,
          // The top bar's sign-in link comes back to this page (see loginUrl).
          loginHref: loginUrl(
            request.method === 'GET' ? request.url : (data.returnTo as string | undefined),
          ),
          flashes: data.keepFlashes ? [] : server.webSession.takeFlashes(request, this),
        });
        return this.code(status).type('text/html; charset=utf-8').send(html);
      },
    );
  },
  { name: 'minitwit-web-pages', dependencies: ['minitwit-web-sessions'] },
);
