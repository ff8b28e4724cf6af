/**
 * @module The memory store: sessions in this process's memory. The default store.
 *
 * It holds sessions for one process only: a restart loses them, and two processes (a cluster, a
 * second instance behind a load balancer) each see their own. Use it for development, tests and
 * single-process apps; use Redis, SQL, SQLite or the file store to share or keep sessions.
 */
import { applyDelta } from '../../core/delta.js';
import { TesseraError } from '../../core/errors.js';
import type { StoreFactory } from '../../core/store-url.js';
import {
  systemClock,
  type Clock,
  type Delta,
  type GcResult,
  type ScanPage,
  type Store,
  type StoreRecord,
  type UserSession,
  type WriteResult,
} from '../../core/store.js';
import { capExpiry, dropExpiredKeys } from '../../core/expiry.js';
import { withExpiry } from '../_shared/frozen.js';
import { freezeRecord, type Entry } from './entry.js';
import { createFeed } from './feed.js';
import { MinHeap } from './heap.js';
import { createLeases } from './leases.js';

/** The store's name in messages and metrics. */
export const STORE_NAME = 'memory';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** The clock deciding expiry; tests pass one they can move. @default Date.now */
  clock?: Clock;
  /**
   * The most sessions the store holds. When it is full (after expired ones are swept), a new
   * session is refused with `STORE_UNAVAILABLE` (the visitor gets 503) while every existing one
   * keeps working: a stream of new visitors can never grow the process without bound, nor push
   * real users' sessions out. A session uses about 300 bytes plus its data. `Infinity` for no bound.
   * @default 100000
   */
  maxSessions?: number;
}

const BUCKET_MS = 1000;

/**
 * Creates a memory store. Reads, writes and expiry cost O(1) (plus O(log b) for the b distinct
 * expiry seconds when a new second is first used); a GC pass costs in proportion to what expired.
 *
 * @example
 * const sessions = createSessionManager({ store: memoryStore() })
 */
export function memoryStore(options: MemoryStoreOptions = {}): Store {
  const clock = options.clock ?? systemClock;
  const maxSessions = options.maxSessions ?? 100_000;
  if (
    maxSessions !== Number.POSITIVE_INFINITY &&
    (!Number.isInteger(maxSessions) || maxSessions < 1)
  )
    throw new TesseraError(
      'CONFIG',
      `Option \`maxSessions\` of the memory store must be a whole number of at least 1 (or Infinity); got ${String(maxSessions)}.`,
    );
  const entries = new Map<string, Entry>();
  const buckets = new Map<number, Set<string>>();
  const bucketHeap = new MinHeap();
  const users = new Map<string, Set<string>>();

  const leases = createLeases(clock);
  const feed = createFeed();

  const bucketOf = (expiresAt: number): number => Math.ceil(expiresAt / BUCKET_MS);

  function file(key: string, entry: Entry): void {
    let set = buckets.get(entry.bucket);
    if (!set) {
      set = new Set();
      buckets.set(entry.bucket, set);
      bucketHeap.push(entry.bucket);
    }
    set.add(key);
  }
  function unfile(key: string, entry: Entry): void {
    const set = buckets.get(entry.bucket);
    if (set) {
      set.delete(key);
      if (set.size === 0) buckets.delete(entry.bucket);
    }
  }
  function index(key: string, userId: string | undefined): void {
    if (userId === undefined) return;
    let set = users.get(userId);
    if (!set) users.set(userId, (set = new Set()));
    set.add(key);
  }
  function unindex(key: string, userId: string | undefined): void {
    if (userId === undefined) return;
    const set = users.get(userId);
    if (set) {
      set.delete(key);
      if (set.size === 0) users.delete(userId);
    }
  }
  function remove(key: string, entry: Entry): void {
    entries.delete(key);
    unfile(key, entry);
    unindex(key, entry.record.userId);
  }
  function put(key: string, entry: Entry): void {
    entries.set(key, entry);
    file(key, entry);
    index(key, entry.record.userId);
  }
  /** The live entry, removing an expired one on the way. */
  function live(key: string, now: number): Entry | undefined {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.record.expiresAt > now) return entry;
    remove(key, entry);
    return undefined;
  }
  function sweep(limit: number, deadline: number): GcResult {
    const now = clock.now();
    const due = Math.floor(now / BUCKET_MS);
    let removed = 0;
    while (bucketHeap.size > 0 && bucketHeap.peek()! <= due) {
      const second = bucketHeap.peek()!;
      const set = buckets.get(second);
      if (set) {
        for (const key of set) {
          if (removed >= limit || Date.now() > deadline) return { removed, done: false };
          const entry = entries.get(key);
          if (entry) remove(key, entry);
          else set.delete(key);
          removed++;
        }
        buckets.delete(second);
      }
      bucketHeap.pop();
    }
    return { removed, done: true };
  }

  /** The live record, as stored (frozen), keys past their own deadline left out. */
  function getNow(key: string): StoreRecord | undefined {
    const now = clock.now();
    const entry = live(key, now);
    if (entry === undefined) return undefined;
    const record = entry.record;
    return record.keyExpiresAt === undefined ? record : dropExpiredKeys(record, now);
  }

  const store: Store = {
    name: STORE_NAME,
    isLocal: true,
    hasKeyExpiry: true,
    get: async (key) => getNow(key),
    async write(key, delta: Delta, expiresAt): Promise<WriteResult> {
      const now = clock.now();
      const entry = live(key, now);
      const result = applyDelta(entry?.record, delta, expiresAt, now);
      if (result === undefined) return { existed: false };
      if (result.record === undefined)
        return { existed: entry !== undefined, nonNumeric: result.nonNumeric };
      const record = freezeRecord(result.record, delta);
      if (entry) {
        // In place: re-filed only when the deadline moved to another second, re-indexed only
        // when the user changed.
        const bucket = bucketOf(record.expiresAt);
        const before = entry.record.userId;
        if (bucket !== entry.bucket) {
          unfile(key, entry);
          entry.bucket = bucket;
          file(key, entry);
        }
        entry.record = record;
        if (record.userId !== before) {
          unindex(key, before);
          index(key, record.userId);
        }
      } else {
        if (entries.size >= maxSessions) {
          sweep(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
          if (entries.size >= maxSessions)
            throw new TesseraError(
              'STORE_UNAVAILABLE',
              `The memory store holds its maximum of ${maxSessions} sessions; new sessions are refused until some end. Raise \`maxSessions\` or use a shared store.`,
            );
        }
        put(key, { record, bucket: bucketOf(record.expiresAt) });
      }
      feed.emit('write', key);
      return result.counters === undefined
        ? { existed: entry !== undefined }
        : { existed: entry !== undefined, counters: result.counters };
    },
    async touch(key, expiresAt) {
      const entry = live(key, clock.now());
      if (entry === undefined) return;
      unfile(key, entry);
      const record = entry.record;
      entry.record = withExpiry(record, capExpiry(expiresAt, record.absoluteExpiresAt));
      entry.bucket = bucketOf(entry.record.expiresAt);
      file(key, entry);
    },
    async destroy(key) {
      const entry = entries.get(key);
      if (entry) {
        remove(key, entry);
        feed.emit('destroy', key);
      }
    },
    async close() {
      entries.clear();
      buckets.clear();
      users.clear();
      bucketHeap.clear();
      leases.clear();
      feed.clear();
    },
    async rename(oldKey, newKey) {
      const entry = live(oldKey, clock.now());
      if (entry === undefined) return false;
      const existing = entries.get(newKey);
      if (existing) remove(newKey, existing);
      remove(oldKey, entry);
      put(newKey, entry);
      feed.emit('destroy', oldKey);
      feed.emit('write', newKey);
      return true;
    },
    async byUser(userId) {
      const keys = users.get(userId);
      if (!keys) return [];
      const now = clock.now();
      const out: UserSession[] = [];
      for (const key of [...keys]) {
        const entry = live(key, now);
        if (!entry) continue;
        const { createdAt, expiresAt, meta } = entry.record;
        const session: UserSession = { key, createdAt, expiresAt };
        if (meta !== undefined) session.meta = { ...meta };
        out.push(session);
      }
      return out.sort((a, b) => a.createdAt - b.createdAt);
    },
    async destroyByUser(userId, exceptKey) {
      const keys = users.get(userId);
      if (!keys) return 0;
      const now = clock.now();
      let count = 0;
      for (const key of [...keys]) {
        if (key === exceptKey) continue;
        const entry = entries.get(key);
        if (!entry) continue;
        if (entry.record.expiresAt > now) count++;
        remove(key, entry);
        feed.emit('destroy', key);
      }
      return count;
    },
    async count() {
      sweep(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
      return entries.size;
    },
    async scan(cursor, limit = 100): Promise<ScanPage> {
      const start = cursor === undefined ? 0 : Number(cursor);
      const now = clock.now();
      const keys: string[] = [];
      let i = 0;
      let next: number | undefined;
      for (const [key, entry] of entries) {
        if (i++ < start) continue;
        if (keys.length === limit) {
          next = i - 1;
          break;
        }
        if (entry.record.expiresAt > now) keys.push(key);
      }
      return next === undefined ? { keys } : { keys, cursor: String(next) };
    },
    async gc(options = {}) {
      leases.sweep();
      return sweep(options.limit ?? 10_000, Date.now() + (options.budgetMs ?? 100));
    },
    async check() {},
    lock: async (key, ttlMs) => leases.lock(key, ttlMs),
    unlock: async (key, token) => leases.unlock(key, token),
    watch: async (onChange) => feed.watch(onChange),
  };
  // Not enumerable: a wrapper that spreads the store and replaces `get` (`{ ...store, get }`)
  // must not carry along a `getNow` that would read past its own `get`.
  // Writable and configurable as a plain method is: a Proxy over the store may return its own.
  Object.defineProperty(store, 'getNow', {
    value: getNow,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return store;
}

/** `memory:` URLs for `createStore`, with `?maxSessions=N`. */
export const storeFromUrl: StoreFactory = (url, options) => {
  const max = url.searchParams.get('maxSessions');
  return memoryStore({
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(max === null ? {} : { maxSessions: Number(max) }),
  });
};
