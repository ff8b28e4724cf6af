/**
 * @module The tiered store's record operations with a durable tier behind the cache (`backup`
 * `sync` and `async`): reads through the cache, writes to both, destroys that no fill can undo.
 */
import { storeFailure, type TesseraError } from '../../core/errors.js';
import type { Clock, Delta, Store, StoreRecord, WriteResult } from '../../core/store.js';
import type { Backup } from './backup.js';
import {
  cacheAnswer,
  fillDelta,
  guardedDelta,
  markDelta,
  readCopy,
  type CacheCopy,
} from './marks.js';

/** Which tier a background failure came from, and during what. */
export interface TierFailure {
  readonly tier: 'cache' | 'durable';
  readonly op: string;
  /** The store key concerned, when there is one. */
  readonly key?: string;
}

/** What the operations share. */
export interface TierContext {
  readonly cache: Store;
  readonly durable: Store;
  readonly clock: Clock;
  /** How long a tombstone or stale mark lives in the cache (and blocks fills). */
  readonly guardTtl: number;
  /** The write-behind queue (`async` only). */
  readonly backup: Backup | undefined;
  /** The longest an `async` read or rename waits for the key's queued writes. */
  readonly waitMs: number;
  readonly report: (error: TesseraError, failure: TierFailure) => void;
}

/** The operations {@link tierOperations} makes (`rename` and `destroyByUser` need the tiers' own). */
export interface TierOperations {
  get: (key: string) => Promise<StoreRecord | undefined>;
  write: (key: string, delta: Delta, expiresAt: number) => Promise<WriteResult>;
  touch: (key: string, expiresAt: number) => Promise<void>;
  destroy: (key: string) => Promise<void>;
  rename: (oldKey: string, newKey: string) => Promise<boolean>;
  destroyByUser: (userId: string, exceptKey?: string) => Promise<number>;
}

const FAILED = Symbol('failed');

const sameCounters = (
  a: Record<string, number> | undefined,
  b: Record<string, number> | undefined,
): boolean =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    Object.keys(b).every((k) => a[k] === b[k]) &&
    Object.keys(a).length === Object.keys(b).length);

/** The record operations of the `sync` and `async` modes. */
export function tierOperations(x: TierContext): TierOperations {
  const { cache, durable, clock, backup } = x;
  const cacheFailed = (op: string, key: string | undefined, error: unknown): typeof FAILED => {
    x.report(
      storeFailure(cache.name, op, error),
      key === undefined ? { tier: 'cache', op } : { tier: 'cache', op, key },
    );
    return FAILED;
  };
  const mark = (key: string, kind: 'tombstone' | 'stale'): Promise<WriteResult> => {
    const now = clock.now();
    return cache.write(key, markDelta(kind, now), now + x.guardTtl);
  };
  /** Replaces the cache's copy by a stale mark (reads go to the durable tier meanwhile). */
  const markStale = async (key: string): Promise<void> => {
    try {
      await mark(key, 'stale');
    } catch (error) {
      cacheFailed('write', key, error);
    }
  };
  const tombstone = async (key: string): Promise<void> => {
    try {
      await mark(key, 'tombstone');
    } catch (error) {
      throw storeFailure(cache.name, 'destroy', error);
    }
  };

  async function get(key: string): Promise<StoreRecord | undefined> {
    let copy: CacheCopy | undefined | typeof FAILED;
    try {
      copy = readCopy(await cache.get(key));
    } catch (error) {
      copy = cacheFailed('get', key, error);
    }
    if (copy !== FAILED && copy !== undefined) {
      if (copy.kind === 'copy') return copy.record;
      if (copy.kind === 'tombstone') return undefined;
    }
    await backup?.idle(key, x.waitMs);
    const record = await durable.get(key);
    if (record === undefined || copy === FAILED) return record;
    if (copy?.kind === 'stale') {
      // A fresh mark means a fill racing a write may still be on its way: serve, do not fill.
      if (clock.now() - copy.markedAt < x.guardTtl) return record;
      try {
        await cache.destroy(key);
      } catch (error) {
        cacheFailed('destroy', key, error);
        return record;
      }
    }
    try {
      await cache.write(key, fillDelta(record), record.expiresAt);
    } catch (error) {
      cacheFailed('fill', key, error);
    }
    return record;
  }

  async function syncWrite(key: string, delta: Delta, expiresAt: number): Promise<WriteResult> {
    let result: WriteResult;
    try {
      result = await durable.write(key, delta, expiresAt);
    } catch (error) {
      // The outcome is unknown (a timeout may still apply it): no copy may hide it.
      await markStale(key);
      throw storeFailure(durable.name, 'write', error);
    }
    if (result.nonNumeric !== undefined || (!result.existed && delta.create !== true))
      return result;
    if (delta.replace === true) {
      await markStale(key);
      return result;
    }
    try {
      const copy = cacheAnswer(await cache.write(key, guardedDelta(delta), expiresAt));
      // A mark already keeps reads on the durable tier; any other difference makes one.
      if (
        copy !== 'marked' &&
        (copy.existed !== result.existed ||
          copy.nonNumeric !== undefined ||
          !sameCounters(copy.counters, result.counters))
      )
        await markStale(key);
    } catch (error) {
      cacheFailed('write', key, error);
      await markStale(key);
    }
    return result;
  }

  async function asyncWrite(
    key: string,
    delta: Delta,
    expiresAt: number,
    isRetry = false,
  ): Promise<WriteResult> {
    let answer: WriteResult | 'marked';
    try {
      const current =
        delta.replace === true ? Object.keys((await cache.get(key))?.data ?? {}) : undefined;
      answer = cacheAnswer(await cache.write(key, guardedDelta(delta, current), expiresAt));
    } catch (error) {
      const failure = storeFailure(cache.name, 'write', error);
      if (failure.code === 'STORE_TIMEOUT') backup!.repair(key);
      throw failure;
    }
    if (answer === 'marked') {
      const copy = readCopy(await cache.get(key));
      if (copy?.kind !== 'stale' || isRetry) return { existed: false };
      // A mark of a `sync` process sharing this cache: the durable tier has the record.
      await cache.destroy(key);
      await get(key);
      return asyncWrite(key, delta, expiresAt, true);
    }
    const result = answer;
    if (!result.existed && delta.create !== true && !isRetry) {
      // Not in the cache: maybe only in the durable tier (evicted, or the cache restarted).
      if ((await get(key)) !== undefined) return asyncWrite(key, delta, expiresAt, true);
      return result;
    }
    if (result.nonNumeric !== undefined || (!result.existed && delta.create !== true))
      return result;
    backup!.enqueue(key, 'write', async () => {
      const back = await durable.write(key, delta, expiresAt);
      // The durable tier missed earlier writes (dropped, or another process): copy the cache.
      if (
        back.existed !== result.existed ||
        back.nonNumeric !== undefined ||
        !sameCounters(back.counters, result.counters)
      )
        backup!.repair(key);
    });
    return result;
  }

  return {
    get,
    write: (key, delta, expiresAt) =>
      backup === undefined ? syncWrite(key, delta, expiresAt) : asyncWrite(key, delta, expiresAt),
    touch: async (key, expiresAt) => {
      if (backup !== undefined) {
        await cache.touch(key, expiresAt);
        backup.enqueue(key, 'touch', () => durable.touch(key, expiresAt));
        return;
      }
      await durable.touch(key, expiresAt);
      try {
        await cache.touch(key, expiresAt);
      } catch (error) {
        cacheFailed('touch', key, error);
      }
    },
    destroy: async (key) => {
      await backup?.settle(key);
      let failure: TesseraError | undefined;
      try {
        await durable.destroy(key);
      } catch (error) {
        failure = storeFailure(durable.name, 'destroy', error);
      }
      // After the durable destroy: a fill that read the record before it is refused by this.
      try {
        await tombstone(key);
      } catch (error) {
        failure ??= error as TesseraError;
      }
      if (failure !== undefined) throw failure;
    },
    rename: async (oldKey, newKey) => {
      await backup?.idle(oldKey, x.waitMs);
      const moved = await durable.rename!(oldKey, newKey);
      let cacheMoved = false;
      if (backup !== undefined) {
        try {
          cacheMoved = await cache.rename!(oldKey, newKey);
        } catch (error) {
          cacheFailed('rename', oldKey, error);
        }
        if (cacheMoved) backup.repair(newKey);
      }
      // The old id must not come back from the cache, not even through a racing fill.
      await tombstone(oldKey);
      return backup === undefined ? moved : moved || cacheMoved;
    },
    destroyByUser: async (userId, exceptKey) => {
      // Sessions bound in writes still queued must be in the durable user index first.
      if (backup !== undefined) await backup.flush(x.waitMs);
      const sessions = await durable.byUser!(userId);
      const count = await durable.destroyByUser!(userId, exceptKey);
      const marked = await Promise.allSettled(
        sessions.filter((s) => s.key !== exceptKey).map((s) => tombstone(s.key)),
      );
      const failed = marked.find((r) => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      return count;
    },
  };
}
