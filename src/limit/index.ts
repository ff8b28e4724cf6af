/**
 * @module Rate limits (GoFrame's per-session limiting): counters per session, per user or per any
 * key the app chooses, kept atomic in a tessera store, with what `RateLimit-*` headers need.
 */
import { TesseraError } from '../core/errors.js';
import { storeKey } from '../core/id.js';
import type { Store } from '../core/store.js';

/** Options of {@link rateLimiter}. */
export interface RateLimitOptions {
  /**
   * Where the counters live: any tessera store (each window is one short-lived record). Give it a
   * store of its own (its own prefix or table), so counters never count as sessions.
   */
  store: Store;
  /** How many hits a key may make per window. */
  limit: number;
  /** The window (ms). */
  windowMs: number;
  /**
   * `'fixed'`: one counter per window, one store call per check. `'sliding'`: the previous
   * window's count weighs in by how much of it still overlaps (Cloudflare's approximation), so a
   * burst at a window's edge cannot pass twice the limit; two store calls per check, in parallel.
   * @default 'fixed'
   */
  algorithm?: 'fixed' | 'sliding' | undefined;
  /** Names this limiter's counters apart from other limiters' in one store. @default 'limit' */
  name?: string | undefined;
}

/** The answer of one check: whether to serve, and what the `RateLimit-*` headers say. */
export interface RateLimitResult {
  /** Whether this hit is within the limit. */
  allowed: boolean;
  /** The limit per window. */
  limit: number;
  /** Hits left in this window (0 when refused). */
  remaining: number;
  /** When the window ends (ms from now). */
  resetMs: number;
  /** With `allowed: false`: when to try again (ms). */
  retryAfterMs: number;
}

/** A rate limiter over a store. */
export interface RateLimiter {
  /** Count `cost` hits of `key` now (one atomic store call) and say whether they are allowed. */
  check(key: string, cost?: number): Promise<RateLimitResult>;
  /** The `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (and `Retry-After`) headers. */
  headers(result: RateLimitResult): Array<readonly [string, string]>;
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1)
    throw new TesseraError('CONFIG', `rateLimiter: \`${name}\` must be a number of at least 1.`);
  return value;
}

/**
 * A rate limiter. Each check adds its hits to the key's counter for the current window in one
 * atomic store write (`incr`, the same operation that keeps `session.increment` exact), so
 * concurrent requests on every process share one count and no hit is lost; a window's counter
 * ends with the window (the store's own expiry), so memory stays bounded by the keys active in
 * two windows. Keys are hashed before they reach the store. A store failure rejects with its
 * `TesseraError` (STORE_UNAVAILABLE / STORE_TIMEOUT): decide whether to fail open or closed.
 *
 * @example
 * import { createSessionManager, createStore } from 'tessera-session'
 * import { rateLimiter } from 'tessera-session/limit'
 *
 * const sessions = createSessionManager()
 * const logins = rateLimiter({
 *   store: await createStore('redis://127.0.0.1:6379/0?prefix=limit:'),
 *   limit: 5,
 *   windowMs: 60_000,
 * })
 * const verdict = await logins.check(`user:alice`)
 * if (!verdict.allowed) console.log(logins.headers(verdict))
 */
export function rateLimiter(options: RateLimitOptions): RateLimiter {
  const { store } = options;
  if (typeof store?.write !== 'function' || typeof store.get !== 'function')
    throw new TesseraError('CONFIG', 'rateLimiter: `store` must be a tessera store.');
  if ('bind' in store)
    throw new TesseraError(
      'CONFIG',
      'rateLimiter: the cookie store keeps nothing on the server, so it cannot count for every process; use a server store.',
    );
  const limit = Math.floor(positive('limit', options.limit));
  const windowMs = Math.ceil(positive('windowMs', options.windowMs));
  const sliding = (options.algorithm ?? 'fixed') === 'sliding';
  if (
    options.algorithm !== undefined &&
    options.algorithm !== 'fixed' &&
    options.algorithm !== 'sliding'
  )
    throw new TesseraError('CONFIG', 'rateLimiter: `algorithm` must be "fixed" or "sliding".');
  const name = options.name ?? 'limit';
  const keyOf = (key: string, window: number): string =>
    storeKey(`${name}\u0000${key}\u0000${window}`);

  async function count(key: string, window: number, cost: number): Promise<number> {
    // The counter lives a little past its window, so a sliding check can still read it.
    const expiresAt = (window + (sliding ? 2 : 1)) * windowMs + 1000;
    const result = await store.write(
      keyOf(key, window),
      { create: true, incr: { n: cost } },
      expiresAt,
    );
    const n = result.counters?.['n'];
    if (typeof n !== 'number')
      throw new TesseraError(
        'STORE_UNAVAILABLE',
        `The ${store.name} store did not report the count.`,
      );
    return n;
  }
  async function previousCount(key: string, window: number): Promise<number> {
    const record = await store.get(keyOf(key, window - 1));
    const n = record?.data['n'];
    return typeof n === 'number' ? n : 0;
  }

  return {
    async check(key, cost = 1) {
      if (typeof key !== 'string' || key === '')
        throw new TesseraError('INVALID_DATA', 'rateLimiter.check takes a non-empty key.');
      positive('cost', cost);
      const now = Date.now();
      const window = Math.floor(now / windowMs);
      const resetMs = (window + 1) * windowMs - now;
      let used: number;
      if (sliding) {
        const [current, previous] = await Promise.all([
          count(key, window, cost),
          previousCount(key, window),
        ]);
        const overlap = 1 - (now - window * windowMs) / windowMs;
        used = current + Math.floor(previous * overlap);
      } else used = await count(key, window, cost);
      const allowed = used <= limit;
      return {
        allowed,
        limit,
        remaining: Math.max(0, limit - used),
        resetMs,
        retryAfterMs: allowed ? 0 : resetMs,
      };
    },
    headers(result) {
      const out: Array<readonly [string, string]> = [
        ['ratelimit-limit', String(result.limit)],
        ['ratelimit-remaining', String(result.remaining)],
        ['ratelimit-reset', String(Math.ceil(result.resetMs / 1000))],
      ];
      if (!result.allowed) out.push(['retry-after', String(Math.ceil(result.retryAfterMs / 1000))]);
      return out;
    },
  };
}
