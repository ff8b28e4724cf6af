/**
 * @module The near cache: a per-process LRU in front of a shared store, kept fresh by its change feed.
 *
 * Reads of a session this process read recently are served from memory, with no round trip; every
 * change made by any process drops the entry, through the inner store's `watch` (Redis Pub/Sub,
 * PostgreSQL LISTEN/NOTIFY). While that feed is not live, nothing is cached.
 */
import { TesseraError } from '../../core/errors.js';
import { capExpiry } from '../../core/expiry.js';
import {
  isSealedStore,
  systemClock,
  type Clock,
  type StoreChange,
  type StoreRecord,
  type Store,
  type Unwatch,
} from '../../core/store.js';
import { frozenRecord, withExpiry } from '../_shared/frozen.js';
import { createLru } from './lru.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'near-cache';

/** The longest `ttlMs` allowed: the staleness bound of a cache with no feed. */
export const MAX_TTL_MS = 5000;

/** Options of {@link nearCache}. */
export interface NearCacheOptions {
  /** The most records kept; the least recently used one goes first. */
  maxEntries: number;
  /**
   * The longest a record is served from memory after it was read from the store, in ms (at most
   * {@link MAX_TTL_MS}). Required for an inner store without `watch`, where it is the staleness
   * bound; with a feed it is an extra bound on top of it.
   * @default no bound of its own when the inner store has `watch`
   */
  ttlMs?: number;
  /** The clock deciding expiry; pass the inner store's when tests move it. @default Date.now */
  clock?: Clock;
}

/** What a {@link nearCache} store has done so far, for metrics and tests. */
export interface NearCacheStats {
  /** Gets served from memory. */
  readonly hits: number;
  /** Gets sent to the inner store. */
  readonly misses: number;
  /** Records held now (at most `maxEntries`). */
  readonly size: number;
  /** Whether the feed is live, so that records are cached (always `true` in TTL mode). */
  readonly isLive: boolean;
}

/** A store wrapped by {@link nearCache}. */
export interface NearCacheStore extends Store {
  /** Counters and state of the cache. */
  stats(): NearCacheStats;
}

interface Cached {
  /** Frozen: handed out as it is. */
  record: StoreRecord;
  /** When it was read from the store (the start of its `ttlMs`). */
  readonly readAt: number;
  /** Served only while `now` is before this (the record's deadlines, and `ttlMs`). */
  validUntil: number;
}

/** A read in flight: a change of its key meanwhile makes its result unfit to cache. */
interface Pending {
  readonly key: string;
  isStale: boolean;
}

const RETRY_MS = 1000;

/**
 * Wraps `store` in a per-process near cache (opt-in). `get` is served from a bounded LRU while the
 * entry is fresh, else from `store` (and cached). Every write, touch, destroy and rename through
 * this process updates or drops its entry; changes by other processes arrive through `store.watch`
 * and drop theirs. Every other ability of `store` passes through unchanged.
 *
 * **Staleness bound.** With a feed, a revoke or logout issued by any process is honoured by every
 * other process within the feed's delivery delay, measured here (`bench/near-cache.ts`, one
 * machine, from the write's start to the other process's feed) at p50 0.2 ms / p99 2 ms on one
 * Redis server, p50 0.4 ms / p99 45 ms on Redis Cluster (the cluster bus relays the message), and
 * p50 0.9 ms / p99 6 ms on PostgreSQL NOTIFY; the multi-process tests assert under 1 s and see at
 * most about 16 ms, IPC included. While the feed is down, or before it is first live, nothing is cached, so
 * every get reads the store. A feed connection that dies silently (a hung server, a lost network)
 * is found by its heartbeat within twice the inner store's `commandTimeout`/`timeout`: that is the
 * bound in that case. With no feed (`store.watch` absent), the bound is `ttlMs` (at most 5 s).
 * A record is never served past its `expiresAt`, `absoluteExpiresAt` or a key's deadline.
 *
 * Every process that writes to the store must publish changes (Redis and PostgreSQL always do): a
 * process that wrote through another kind of client would not be heard.
 *
 * @example
 * import { createSessionManager } from 'tessera-session'
 * import { redisStore } from 'tessera-session/stores/redis'
 * import { nearCache } from 'tessera-session/stores/near-cache'
 * const store = nearCache(redisStore({ url: 'redis://127.0.0.1:6379' }), { maxEntries: 10_000 })
 * const sessions = createSessionManager({ store })
 */
export function nearCache(store: Store, options: NearCacheOptions): NearCacheStore {
  const { maxEntries, ttlMs } = options;
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new TesseraError(
      'CONFIG',
      `Option \`maxEntries\` of the near cache must be a whole number of at least 1; got ${String(maxEntries)}.`,
    );
  if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS))
    throw new TesseraError(
      'CONFIG',
      `Option \`ttlMs\` of the near cache must be above 0 and at most ${MAX_TTL_MS} ms; got ${String(ttlMs)}.`,
    );
  if (store.watch === undefined && ttlMs === undefined)
    throw new TesseraError(
      'CONFIG',
      `The ${store.name} store has no change feed (\`watch\`), so the near cache needs \`ttlMs\` (at most ${MAX_TTL_MS} ms) as its staleness bound.`,
    );
  if (isSealedStore(store))
    throw new TesseraError(
      'CONFIG',
      'The cookie store keeps each session in its request: there is nothing to cache near it.',
    );
  const clock = options.clock ?? systemClock;
  const lru = createLru<Cached>(maxEntries);
  const pending = new Set<Pending>();
  const hasFeed = store.watch !== undefined;
  let isLive = !hasFeed;
  let unwatch: Unwatch | undefined;
  let starting: Promise<void> | undefined;
  let retryAt = 0;
  // The last liveness the feed reported, if any, while `watch` was still starting.
  let reported: boolean | undefined;
  let isClosed = false;
  let hits = 0;
  let misses = 0;

  const invalidate = (key: string): void => {
    lru.delete(key);
    for (const read of pending) if (read.key === key) read.isStale = true;
  };
  const invalidateAll = (): void => {
    lru.clear();
    for (const read of pending) read.isStale = true;
  };
  const onChange = (change: StoreChange): void => {
    if (change.kind === 'feed') {
      // Changes made while the feed was down are unknown: start again from nothing either way.
      invalidateAll();
      isLive = change.isLive;
      reported = change.isLive;
    } else invalidate(change.key);
  };
  /** Starts the feed on first use, and again (at most once a second) after it failed to start. */
  const startFeed = (): void => {
    if (!hasFeed || isClosed || unwatch !== undefined || starting !== undefined) return;
    if (Date.now() < retryAt) return;
    reported = undefined;
    starting = store.watch!(onChange).then(
      (stop) => {
        starting = undefined;
        if (isClosed) return void stop().catch(() => undefined);
        unwatch = stop;
        // Live once it listens, unless it already said it is down (it joined a feed in an outage).
        isLive = reported ?? true;
      },
      () => {
        starting = undefined;
        retryAt = Date.now() + RETRY_MS;
      },
    );
  };

  const deadlineOf = (record: StoreRecord, readAt: number): number => {
    let until = capExpiry(record.expiresAt, record.absoluteExpiresAt);
    if (record.keyExpiresAt !== undefined)
      for (const at of Object.values(record.keyExpiresAt)) until = Math.min(until, at);
    if (ttlMs !== undefined) until = Math.min(until, readAt + ttlMs);
    return until;
  };

  /** Runs a change through the inner store, dropping the key before and after. */
  async function changing<T>(keys: readonly string[], run: () => Promise<T>): Promise<T> {
    for (const key of keys) invalidate(key);
    try {
      return await run();
    } finally {
      for (const key of keys) invalidate(key);
    }
  }

  const wrapped: NearCacheStore = {
    ...store,
    name: STORE_NAME,
    async get(key) {
      startFeed();
      const now = clock.now();
      if (isLive) {
        const hit = lru.get(key);
        if (hit !== undefined) {
          if (now < hit.validUntil) {
            hits++;
            // Frozen when cached: every hit hands out the same record, with no copy.
            return hit.record;
          }
          lru.delete(key);
        }
      }
      misses++;
      if (!isLive) return store.get(key);
      const read: Pending = { key, isStale: false };
      pending.add(read);
      try {
        const record = await store.get(key);
        if (record !== undefined && isLive && !read.isStale && !isClosed) {
          const validUntil = deadlineOf(record, now);
          if (validUntil > clock.now())
            lru.set(key, { record: frozenRecord(record), readAt: now, validUntil });
        }
        return record;
      } finally {
        pending.delete(read);
      }
    },
    write: (key, delta, expiresAt) => changing([key], () => store.write(key, delta, expiresAt)),
    async touch(key, expiresAt) {
      for (const read of pending) if (read.key === key) read.isStale = true;
      await store.touch(key, expiresAt);
      // A touch moves the idle deadline only: the cached record stays right with the new one.
      const hit = lru.peek(key);
      if (hit !== undefined) {
        const record = withExpiry(hit.record, capExpiry(expiresAt, hit.record.absoluteExpiresAt));
        hit.record = record;
        hit.validUntil = deadlineOf(record, hit.readAt);
      }
    },
    destroy: (key) => changing([key], () => store.destroy(key)),
    async close() {
      isClosed = true;
      invalidateAll();
      await starting;
      const stop = unwatch;
      unwatch = undefined;
      await stop?.().catch(() => undefined);
      await store.close();
    },
    stats: () => ({ hits, misses, size: lru.size, isLive }),
  };
  if (store.rename !== undefined) {
    const rename = store.rename.bind(store);
    wrapped.rename = (oldKey, newKey) => changing([oldKey, newKey], () => rename(oldKey, newKey));
  }
  if (store.destroyByUser !== undefined) {
    const destroyByUser = store.destroyByUser.bind(store);
    wrapped.destroyByUser = async (userId, exceptKey) => {
      // The keys are known only to the store: drop every cached record of the user.
      const drop = (): void => {
        for (const [key, entry] of lru.entries())
          if (entry.record.userId === userId && key !== exceptKey) invalidate(key);
        for (const read of pending) if (read.key !== exceptKey) read.isStale = true;
      };
      drop();
      try {
        return await destroyByUser(userId, exceptKey);
      } finally {
        drop();
      }
    };
  }
  return wrapped;
}
