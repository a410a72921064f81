import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** One method of one route, as it was added to a front door. */
export interface RouteEntry {
  /** Upper case: GET, HEAD, POST, … */
  method: string;
  /** The route's pattern with its prefix, e.g. `/:username/follow`. */
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of this door, in the order they were added (see trackRoutes). */
    routeTable: RouteEntry[];
  }
}

/**
 * Records every route later added to `app` (its plugins' routes included) in `app.routeTable`.
 * Call first, before any route or plugin is added. The table is what the router knows, so what
 * is derived from it (reserved usernames, the Allow header) follows every new route.
 */
export function trackRoutes(app: FastifyInstance): RouteEntry[] {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) table.push({ method: method.toUpperCase(), url: route.url });
  });
  return table;
}

/** The path parameter that names a user in both doors' routes (`/:username`, `/msgs/:username`). */
export const USERNAME_PARAM = 'username';

const segmentsOf = (url: string) => url.split('/').filter((s) => s !== '');
const isStatic = (segment: string) => !segment.startsWith(':') && !segment.includes('*');

/**
 * The path segments a `:param` can never take in the given route tables (one per door): wherever
 * a route has `:param` as its n-th segment, every route of the same door with the same first
 * n-1 segments and a fixed n-th segment wins over it (fixed routes win), so that fixed segment
 * is reserved. With the web
 * door's `/:username` and `/public`, `/static/style.css`, … the result holds `public`, `static`.
 */
export function reservedSegments(tables: RouteEntry[][], param: string): Set<string> {
  const reserved = new Set<string>();
  // Per door: a route of one door never hides a path of the other (they have their own ports).
  for (const table of tables) {
    const routes = table.map((r) => segmentsOf(r.url));
    for (const route of routes) {
      route.forEach((segment, index) => {
        if (segment !== `:${param}`) return;
        const prefix = route.slice(0, index).join('/');
        for (const other of routes) {
          const fixed = other[index];
          if (
            fixed !== undefined &&
            isStatic(fixed) &&
            other.slice(0, index).join('/') === prefix
          ) {
            reserved.add(fixed);
          }
        }
      });
    }
  }
  return reserved;
}

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const byMethodOrder = (a: string, b: string) => {
  const rank = (m: string) => (METHOD_ORDER.includes(m) ? METHOD_ORDER.indexOf(m) : 99);
  return rank(a) - rank(b) || a.localeCompare(b);
};

/** What the answer to a request that matched no route should be. */
export type Unmatched =
  /** No route has this path: 404. */
  | { kind: 'not-found' }
  /** OPTIONS of a path that has routes: 204 with Allow. */
  | { kind: 'options'; allow: string }
  /** The path has routes, but not for this method: 405 with Allow. */
  | { kind: 'method-not-allowed'; allow: string };

/**
 * Why `request` (which matched no route of `app`) matched nothing: an unknown path, or a known
 * path asked with a method it does not have. The Allow value lists the path's methods (HEAD
 * with GET, as Fastify serves it) and OPTIONS, which this answer itself serves.
 */
export function unmatched(app: FastifyInstance, request: FastifyRequest): Unmatched {
  const path = request.url.split('?')[0] ?? '';
  const known = [...new Set(app.routeTable.map((r) => r.method))];
  const methods = known.filter((method) => app.findRoute({ method, url: path }) !== null);
  if (methods.length === 0) return { kind: 'not-found' };
  const allow = [...new Set([...methods, 'OPTIONS'])].sort(byMethodOrder).join(', ');
  return request.method === 'OPTIONS'
    ? { kind: 'options', allow }
    : { kind: 'method-not-allowed', allow };
}

/**
 * Answers a request that matched no route (404, 405, or OPTIONS 204: see unmatched) before its
 * body is parsed, so that what is wrong with the body never hides what is wrong with the method
 * or path (a PUT to a POST-only path is a 405 whatever its body holds). `answer` writes the
 * door's response; the door's not-found handler should give the same answers. Add once on the
 * door's root instance.
 */
export function answerUnmatchedEarly(
  app: FastifyInstance,
  answer: (request: FastifyRequest, reply: FastifyReply, why: Unmatched) => unknown,
) {
  app.addHook('preParsing', (request, reply, payload, done) => {
    if (request.is404) {
      answer(request, reply, unmatched(app, request));
      return;
    }
    done(null, payload);
  });
}
