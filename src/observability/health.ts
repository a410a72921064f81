import type { FastifyInstance } from 'fastify';
import type { DatabaseHandle } from '../db/connect.js';
import { pendingMigrations } from '../db/migrations.js';
import type { Store } from '../db/store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A monitoring probe: it reveals nothing and changes nothing, so a front door's defences
     * (the API's allow-list and rate limit) let it through.
     */
    probe?: boolean;
  }
}

export interface Readiness {
  ready: boolean;
  /**
   * Each check is 'ok' or says what is wrong. `listeners` appears only while a port this
   * process should serve is not listening (during start-up, or when one failed).
   */
  checks: { database: string; migrations: string; shutdown: string; listeners?: string };
}

/** Liveness and readiness of this process, for load balancers and orchestrators. */
export class Health {
  /** Set when shutdown begins: the process stays alive but asks for no new traffic. */
  draining = false;
  private migrationsApplied = false;
  private readonly listeners = new Map<string, () => boolean>();

  constructor(
    private readonly store: Store,
    private readonly database: DatabaseHandle,
  ) {}

  /**
   * A port this process serves, e.g. `web (PORT 5000)`: readiness is false whenever
   * `listening()` is false, so no door is ever reported ready while another is down.
   */
  watchListener(name: string, listening: () => boolean) {
    this.listeners.set(name, listening);
  }

  /**
   * Whether this instance can serve now. `checks.database` is `ok`, or says what is wrong and
   * names the database (its file or redacted URL): `unreachable: …` (the query failed),
   * `corrupt: …` (damaged pages met by a query or found by the background quick_check) or
   * `full: …` (writes fail for lack of space; reads may still work, but an instance that cannot
   * take writes should get no traffic while others can).
   */
  async readiness(): Promise<Readiness> {
    const checks: Readiness['checks'] = {
      database: 'ok',
      migrations: 'ok',
      shutdown: this.draining ? 'draining' : 'ok',
    };
    const down = [...this.listeners].filter(([, listening]) => !listening()).map(([n]) => n);
    if (down.length > 0) checks.listeners = `not listening: ${down.join(', ')}`;
    try {
      await this.store.ping();
      if (!this.migrationsApplied) {
        const pending = await pendingMigrations(this.database.db, this.database.dialect);
        if (pending.length > 0) checks.migrations = `pending: ${pending.join(', ')}`;
        else this.migrationsApplied = true;
      }
    } catch (error) {
      // A damaged page met here is reported as `corrupt` below.
      this.database.faults.noteError(error);
      const reason = error instanceof Error ? error.message : String(error);
      const { where } = this.database;
      checks.database = `unreachable: ${reason.includes(where) ? reason : `${where}: ${reason}`}`;
      checks.migrations = 'unknown';
    }
    const [fault] = this.database.faults.current();
    if (fault) checks.database = `${fault.condition}: ${fault.detail}`;
    const ready = Object.values(checks).every((v) => v === 'ok');
    return { ready, checks };
  }
}

/**
 * GET /healthz: the process answers. GET /readyz: it can serve (200) or should get no traffic
 * (503). Both are marked `config: { probe: true }`.
 */
export function installHealthRoutes(app: FastifyInstance, health: Health) {
  app.get('/healthz', { config: { probe: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { probe: true } }, async (_request, reply) => {
    const readiness = await health.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
}
