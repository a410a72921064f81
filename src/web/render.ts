import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { Eta } from 'eta';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { webAssets } from '../config/paths.js';
import type { TimelineEntry } from '../domain/minitwit.js';

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

/** `YYYY-MM-DD @ HH:MM` in UTC. */
export function formatDate(unixSeconds: number): string {
  const iso = new Date(unixSeconds * 1000).toISOString();
  return `${iso.slice(0, 10)} @ ${iso.slice(11, 16)}`;
}

export const userUrl = (username: string) => `/${encodeURIComponent(username)}`;

export interface MessageView {
  /** The message's id (for its delete link) and its author's, to tell one's own messages. */
  messageId: number;
  authorId: number;
  text: string;
  username: string;
  url: string;
  avatar: string;
  date: string;
  iso: string;
}

export function messageViews(entries: TimelineEntry[]): MessageView[] {
  const avatars = new Map<string, string>();
  return entries.map((m) => {
    let avatar = avatars.get(m.email);
    if (avatar === undefined) {
      avatar = gravatarUrl(m.email);
      avatars.set(m.email, avatar);
    }
    return {
      messageId: m.messageId,
      authorId: m.authorId,
      text: m.text,
      username: m.username,
      url: userUrl(m.username),
      avatar,
      date: formatDate(m.pubDate),
      iso: new Date(m.pubDate * 1000).toISOString(),
    };
  });
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
          flashes: data.keepFlashes ? [] : server.webSession.takeFlashes(request, this),
        });
        return this.code(status).type('text/html; charset=utf-8').send(html);
      },
    );
  },
  { name: 'minitwit-web-pages', dependencies: ['minitwit-web-sessions'] },
);
