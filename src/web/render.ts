import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { webAssets } from '../config/paths.js';
import type { TimelineEntry } from '../domain/minitwit.js';
import type { WebSession } from './session.js';

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

export class Renderer {
  private readonly eta = createTemplates();

  constructor(private readonly session: WebSession) {}

  /** Renders a page inside the layout, with the user, the flashes and a CSRF token. */
  page(
    request: FastifyRequest,
    reply: FastifyReply,
    view: string,
    data: { title: string } & Record<string, unknown>,
    status = 200,
  ) {
    const html = this.eta.render(view, {
      ...data,
      user: request.user,
      userUrl: request.user ? userUrl(request.user.username) : undefined,
      flashes: this.session.takeFlashes(request, reply),
      csrf: this.session.csrfToken(request, reply),
    });
    return reply.code(status).type('text/html; charset=utf-8').send(html);
  }
}
