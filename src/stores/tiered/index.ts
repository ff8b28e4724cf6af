/**
 * @module The tiered store: a fast cache tier (Memcached, Redis, memory) in front of a durable
 * tier (PostgreSQL, MySQL, SQLite, Redis), any two tessera stores.
 *
 * Reads come from the cache and fill it from the durable tier on a miss, with the record's own
 * deadline. Writes apply the same delta to both tiers (`backup: 'sync'`), to the cache and then,
 * through a bounded queue, to the durable tier (`'async'`), or to the cache only (`'off'`).
 * Destroys and renames reach both tiers in every mode, and leave a short tombstone in the cache,
 * so a fill that read the durable tier just before a destroy cannot bring the session back, in
 * this process or another. The user index, `count`, `scan` and `gc` come from the durable tier.
 *
 * What each mode promises when a tier fails or hangs (each tier's calls are bounded by its own
 * timeout; the caller sees `STORE_UNAVAILABLE` or `STORE_TIMEOUT` of the tier named):
 *
 * | | `sync` (default) | `async` | `off` |
 * |---|---|---|---|
 * | authoritative tier (`existed`, counters) | durable | cache | cache |
 * | durable down or hung | reads of cached sessions work; misses, writes, touches, destroys fail with its error | reads and writes work; misses and destroys fail; writes queue (up to `maxPending`), then are dropped and reported | not used (destroys report to `onBackupError`) |
 * | cache down or hung | everything works from the durable tier (slower by the cache's timeout when hung); destroys fail | reads fall back to the durable tier; writes and destroys fail | everything fails |
 * | what can be lost | nothing acknowledged | queued writes when the process dies, dropped writes (reported) | everything, when the cache loses it |
 * | how it heals | a copy that may be stale is replaced by a short stale mark, so the next reads refill it | failed writes are repaired by copying the cache's record, every `retryMs`, until the durable tier answers | — |
 */
import { TesseraError } from '../../core/errors.js';
import type { StoreFactory } from '../../core/store-url.js';
import { systemClock, type Clock, type Store } from '../../core/store.js';
import { checkDuration } from '../../core/time.js';
import { MODES, boundOf, checkTier, warnEvery, whole } from './checks.js';
import { checkUrlParams, numberParam } from '../_shared/url-params.js';
import { createBackup, type DroppedWrite, type FlushReport } from './backup.js';
import { offStore } from './off.js';
import { tierOperations, type TierFailure } from './tiers.js';

export type { DroppedWrite, FlushReport } from './backup.js';
export type { BackupMode, TieredStore } from './types.js';
import type { BackupMode, TieredStore } from './types.js';
export type { TierFailure } from './tiers.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'tiered';

/** Options of {@link tieredStore}. */
export interface TieredStoreOptions {
  /** The fast tier, read first. Closed by the tiered store's `close()`. */
  cache: Store;
  /** The tier that keeps sessions. Closed by the tiered store's `close()`. */
  durable: Store;
  /**
   * `sync`: a write answers once both tiers have it. `async`: once the cache has it; the durable
   * tier gets it from a bounded queue. `off`: the durable tier is neither read nor written for
   * records (destroys and renames still remove the key from it, best effort, so an old copy
   * cannot come back when backup is turned on again); the abilities are the cache's.
   * @default 'sync'
   */
  backup?: BackupMode;
  /**
   * How long a tombstone (after a destroy or rename) or a stale mark (after a write the cache may
   * have missed) lives in the cache, refusing fills (ms). Must exceed the longest a read can take
   * from its durable read to its fill: both tiers' timeouts.
   * @default 10000, or twice the tiers' timeouts when that is longer
   */
  guardTtl?: number;
  /** `async`: the most durable writes queued (and waiting for repair) at once. @default 10000 */
  maxPending?: number;
  /** `async`: durable writes sent at once. @default 8 */
  concurrency?: number;
  /** `async`: how often a failed durable write is repaired again (ms). @default 1000 */
  retryMs?: number;
  /** `async`: how long `close()` waits for the queue to reach the durable tier (ms). @default 5000 */
  closeTimeout?: number;
  /**
   * `async`: told of each durable write given up on (queue full, or `close()` out of time). The
   * cache has it; the durable tier misses it until the key is written again.
   * @default one `console.warn` line per drop
   */
  onDrop?: (dropped: DroppedWrite) => void;
  /**
   * Failures the caller does not see: a tier call that failed while the other tier answered (a
   * cache down in `sync` mode, a queued durable write in `async` mode, a best-effort destroy in
   * `off` mode).
   * @default one `console.warn` line per tier and 10 s
   */
  onBackupError?: (error: TesseraError, failure: TierFailure) => void;
  /** The clock for tombstones and marks; pass the tiers' clock in tests. @default Date.now */
  clock?: Clock;
}

/**
 * Creates a tiered store over two tessera stores. Throws `CONFIG` for a bad option.
 *
 * @example
 * const store = tieredStore({
 *   cache: redisStore({ url: 'redis://127.0.0.1:6379', commandTimeout: 200 }),
 *   durable: postgresStore({ connection: process.env.DATABASE_URL! }),
 *   backup: 'sync',
 * })
 * const sessions = createSessionManager({ store })
 */
export function tieredStore(options: TieredStoreOptions): TieredStore {
  const cache = checkTier(options.cache, 'cache');
  const durable = checkTier(options.durable, 'durable');
  const mode = options.backup ?? 'sync';
  if (!MODES.includes(mode))
    throw new TesseraError(
      'CONFIG',
      `tieredStore: \`backup\` must be 'sync', 'async' or 'off'; got ${JSON.stringify(mode)}.`,
    );
  if (cache === durable)
    throw new TesseraError('CONFIG', 'tieredStore: `cache` and `durable` must be two stores.');
  const clock = options.clock ?? systemClock;
  const cacheBound = boundOf(cache);
  const durableBound = boundOf(durable);
  const tiersBound =
    cacheBound === undefined || durableBound === undefined ? 2000 : cacheBound + durableBound;
  const guardTtl = checkDuration(
    'guardTtl',
    options.guardTtl,
    Math.max(10_000, 2 * tiersBound),
    'the tiered store',
  );
  const closeTimeout = checkDuration(
    'closeTimeout',
    options.closeTimeout,
    5000,
    'the tiered store',
  );
  const report = options.onBackupError ?? warnEvery(10_000);
  const backup =
    mode === 'async'
      ? createBackup({
          cache,
          durable,
          maxPending: whole('maxPending', options.maxPending, 10_000),
          concurrency: whole('concurrency', options.concurrency, 8),
          retryMs: checkDuration('retryMs', options.retryMs, 1000, 'the tiered store'),
          onDrop:
            options.onDrop ??
            ((d) =>
              console.warn(
                `[tessera] tiered store: a durable ${d.op} was dropped (${d.reason}); the cache has it`,
              )),
          onError: (error, key) => report(error, { tier: 'durable', op: 'backup', key }),
        })
      : undefined;

  // Calls chain at most two calls of each tier, each bounded by that tier.
  const timeoutMs =
    cacheBound === undefined || durableBound === undefined
      ? undefined
      : 2 * (cacheBound + durableBound);
  const common = {
    name: STORE_NAME,
    backup: mode,
    pending: 0,
    flush: async (ms?: number): Promise<FlushReport> =>
      backup === undefined
        ? { isDone: true, pending: 0, dropped: [] }
        : backup.flush(ms ?? closeTimeout),
    async close() {
      try {
        await backup?.close(closeTimeout);
      } finally {
        const closed = await Promise.allSettled([cache.close(), durable.close()]);
        const failed = closed.find((r) => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      }
    },
    ...(cache.isLocal === true && durable.isLocal === true ? { isLocal: true as const } : {}),
    ...(timeoutMs === undefined || timeoutMs === 0 ? {} : { timeoutMs }),
  };

  // A getter in `common` would be read once by the spreads below: define it on the result.
  const withPending = (store: TieredStore): TieredStore =>
    Object.defineProperty(store, 'pending', {
      get: () => backup?.pending ?? 0,
      enumerable: true,
    });
  if (mode === 'off') return withPending(offStore(cache, durable, report, common));

  const waitMs = durableBound === undefined || durableBound === 0 ? 2000 : durableBound;
  const ops = tierOperations({ cache, durable, clock, guardTtl, backup, waitMs, report });
  const store: TieredStore = {
    ...common,
    get: ops.get,
    write: ops.write,
    touch: ops.touch,
    destroy: ops.destroy,
  };
  if (cache.hasKeyExpiry === true && durable.hasKeyExpiry === true)
    Object.assign(store, { hasKeyExpiry: true });
  if (cache.rename && durable.rename) store.rename = ops.rename;
  // In `async` mode these wait (up to the durable tier's timeout) for the queue, so they see
  // this process's writes.
  const caughtUp = async (): Promise<void> => {
    await backup?.flush(waitMs);
  };
  if (durable.byUser && durable.destroyByUser) {
    store.byUser = async (userId) => {
      await caughtUp();
      return durable.byUser!(userId);
    };
    store.destroyByUser = ops.destroyByUser;
  }
  if (durable.count)
    store.count = async () => {
      await caughtUp();
      return durable.count!();
    };
  if (durable.scan)
    store.scan = async (cursor, limit) => {
      await caughtUp();
      return durable.scan!(cursor, limit);
    };
  if (durable.gc || cache.gc)
    store.gc = async (gcOptions) => {
      await caughtUp();
      const [own, other] = durable.gc ? [durable, cache] : [cache, undefined];
      const result = await own.gc!(gcOptions);
      if (other?.gc) await other.gc(gcOptions);
      return result;
    };
  if (cache.check || durable.check)
    store.check = async () => {
      await cache.check?.();
      await durable.check?.();
    };
  const leases = durable.lock && durable.unlock ? durable : cache;
  if (leases.lock && leases.unlock) {
    store.lock = (key, ttlMs) => leases.lock!(key, ttlMs);
    store.unlock = (key, token) => leases.unlock!(key, token);
  }
  return withPending(store);
}

const URL_PARAMS = [
  'cache',
  'durable',
  'backup',
  'guardTtl',
  'maxPending',
  'concurrency',
  'retryMs',
  'closeTimeout',
] as const;

/**
 * `tiered:` URLs for `createStore`: both tiers by their own URLs, percent-encoded
 * (`encodeURIComponent`), and the numeric options by name, e.g.
 * `tiered:?cache=redis%3A%2F%2F127.0.0.1%3A6379&durable=postgres%3A%2F%2Fdb%2Fapp&backup=async&maxPending=5000`.
 * The tiers are made with the same `createStore` options (clock, secret) and closed with the
 * tiered store.
 */
export const storeFromUrl: StoreFactory = async (url, options) => {
  checkUrlParams(url, URL_PARAMS, STORE_NAME);
  const cacheUrl = url.searchParams.get('cache');
  const durableUrl = url.searchParams.get('durable');
  if (cacheUrl === null || durableUrl === null)
    throw new TesseraError(
      'CONFIG',
      'A tiered store URL names both tiers: `tiered:?cache=<url>&durable=<url>`, each URL encoded with encodeURIComponent.',
    );
  if (options.createStore === undefined)
    throw new TesseraError(
      'CONFIG',
      'A tiered store URL names its tiers by URL, which only `createStore` can make: call createStore() with it, or use tieredStore().',
    );
  const tierOptions = options.clock === undefined ? {} : { clock: options.clock };
  const cache = await options.createStore(cacheUrl, tierOptions);
  let durable: Store;
  try {
    durable = await options.createStore(durableUrl, tierOptions);
  } catch (error) {
    await cache.close();
    throw error;
  }
  const numbers = Object.fromEntries(
    (['guardTtl', 'maxPending', 'concurrency', 'retryMs', 'closeTimeout'] as const)
      .map((name) => [name, numberParam(url, name)] as const)
      .filter(([, value]) => value !== undefined),
  ) as Partial<
    Record<'guardTtl' | 'maxPending' | 'concurrency' | 'retryMs' | 'closeTimeout', number>
  >;
  const backup = url.searchParams.get('backup');
  try {
    return tieredStore({
      cache,
      durable,
      ...numbers,
      ...(backup === null ? {} : { backup: backup as BackupMode }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
  } catch (error) {
    await Promise.allSettled([cache.close(), durable.close()]);
    throw error;
  }
};
