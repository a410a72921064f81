import { createHash } from 'node:crypto';

/**
 * Two fixed-window limiters. `RateLimiter` counts in this process: with several replicas each
 * one counts on its own, so the effective limit is the configured one times the number of
 * replicas; it guards the simulator API's hot path (docs/security.md). `SharedRateLimiter`
 * counts in the database every replica and worker uses, so its limit holds for the whole
 * deployment; it guards the web sign-in and sign-up forms.
 *
 * RateLimiter's memory is bounded: expired windows are swept, and when more than `maxKeys` keys
 * are live the oldest windows are dropped first.
 */
export interface RateLimitOptions {
  /** Events allowed per window; 0 means unlimited. */
  limit: number;
  windowSeconds: number;
  maxKeys?: number;
  /** Milliseconds clock, replaceable in unit tests. */
  now?: () => number;
}

export interface RateDecision {
  allowed: boolean;
  /** Events left in the current window after this one. */
  remaining: number;
  /** Whole seconds until the window ends (at least 1). */
  retryAfter: number;
}

interface Window {
  count: number;
  resetAt: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private nextSweep = 0;

  constructor(private readonly options: RateLimitOptions) {
    this.windowMs = options.windowSeconds * 1000;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.limit > 0;
  }

  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    if (window && window.resetAt <= now) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  private decision(window: Window | undefined, now: number, allowed: boolean): RateDecision {
    const used = window?.count ?? 0;
    return {
      allowed,
      remaining: Math.max(0, this.options.limit - used),
      retryAfter: Math.max(1, Math.ceil(((window?.resetAt ?? now + this.windowMs) - now) / 1000)),
    };
  }

  /** Whether one more event under `key` is allowed, without counting it. */
  peek(key: string): RateDecision {
    const now = this.now();
    const window = this.current(key, now);
    if (!this.enabled) return this.decision(undefined, now, true);
    return this.decision(window, now, (window?.count ?? 0) < this.options.limit);
  }

  /** Counts one event under `key` and says whether it was within the limit. */
  hit(key: string): RateDecision {
    const now = this.now();
    if (!this.enabled) return this.decision(undefined, now, true);
    this.sweep(now);
    let window = this.current(key, now);
    if (!window) {
      window = { count: 0, resetAt: now + this.windowMs };
      this.windows.set(key, window);
    }
    if (window.count >= this.options.limit) return this.decision(window, now, false);
    window.count++;
    return this.decision(window, now, true);
  }

  /** Takes back one counted event, e.g. a sign-in attempt that turned out to be genuine. */
  refund(key: string) {
    const window = this.windows.get(key);
    if (window && window.count > 0) window.count--;
  }

  /** Forgets `key`, e.g. the failures of a username after a successful sign-in. */
  reset(key: string) {
    this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number) {
    if (now >= this.nextSweep) {
      this.nextSweep = now + this.windowMs;
      for (const [key, window] of this.windows) {
        if (window.resetAt <= now) this.windows.delete(key);
      }
    }
    // Maps iterate in insertion order, so the first keys are the oldest windows.
    while (this.windows.size >= this.maxKeys) {
      const oldest = this.windows.keys().next();
      if (oldest.done) break;
      this.windows.delete(oldest.value);
    }
  }
}

/** Where a SharedRateLimiter keeps its counts (the Store, on SQLite or PostgreSQL). */
export interface CounterStore {
  hitCounter(
    name: string,
    now: number,
    windowMs: number,
  ): Promise<{ count: number; resetAt: number }>;
  refundCounter(name: string, now: number): Promise<void>;
  deleteCounter(name: string): Promise<void>;
  deleteExpiredCounters(prefix: string, now: number): Promise<number>;
}

/**
 * The same fixed windows as RateLimiter (a window starts with a key's first event), counted in
 * the database, so every replica and worker sees one count per key. A key is stored only as a
 * hash (`rl:<name>:<sha-256 prefix>`): no address or username is written. Expired counters are
 * deleted at most once a window per process. A limit above 999,998 counts as 999,998 (a counter
 * stops at 999,999).
 *
 * @throws whatever the store throws when the database cannot be reached
 */
export class SharedRateLimiter {
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly prefix: string;
  private nextSweep = 0;

  /**
   * @param store the database's counters
   * @param name this limiter's name in the counters (letters, digits and '-'), unique per limit
   */
  constructor(
    private readonly store: CounterStore,
    name: string,
    private readonly options: Omit<RateLimitOptions, 'maxKeys'>,
  ) {
    if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`limiter name "${name}": use a-z, 0-9, -`);
    this.prefix = `rl:${name}:`;
    this.windowMs = options.windowSeconds * 1000;
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.limit > 0;
  }

  private get limit(): number {
    return Math.min(this.options.limit, 999_998);
  }

  private counter(key: string) {
    return `${this.prefix}${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
  }

  /** Counts one event under `key` and says whether it was within the limit. */
  async hit(key: string): Promise<RateDecision> {
    const now = this.now();
    if (!this.enabled) return { allowed: true, remaining: 0, retryAfter: 1 };
    if (now >= this.nextSweep) {
      this.nextSweep = now + this.windowMs;
      await this.store.deleteExpiredCounters(this.prefix, now);
    }
    const { count, resetAt } = await this.store.hitCounter(this.counter(key), now, this.windowMs);
    return {
      allowed: count <= this.limit,
      remaining: Math.max(0, this.limit - count),
      retryAfter: Math.max(1, Math.ceil((resetAt - now) / 1000)),
    };
  }

  /** Takes back one counted event, e.g. a sign-in attempt that turned out to be genuine. */
  async refund(key: string): Promise<void> {
    if (this.enabled) await this.store.refundCounter(this.counter(key), this.now());
  }

  /** Forgets `key`, e.g. the failures of a username after a successful sign-in. */
  async reset(key: string): Promise<void> {
    if (this.enabled) await this.store.deleteCounter(this.counter(key));
  }
}
