/**
 * @module The tiered store with `backup: 'off'`: the cache alone, with destroys and renames
 * removing the key from the durable tier too (best effort), so a copy left there by an earlier
 * `sync` or `async` run cannot come back when backup is turned on again.
 */
import { storeFailure, type TesseraError } from '../../core/errors.js';
import type { Store } from '../../core/store.js';
import type { TieredStore } from './types.js';
import { readCopy } from './marks.js';
import type { TierFailure } from './tiers.js';

/** What every mode shares (name, queue, close). */
export type Common = Pick<TieredStore, 'name' | 'backup' | 'pending' | 'flush' | 'close'> &
  Partial<Pick<Store, 'isLocal' | 'timeoutMs'>>;

/** `backup: 'off'`: the cache alone, with destroys reaching the durable tier best effort. */
export function offStore(
  cache: Store,
  durable: Store,
  report: (error: TesseraError, failure: TierFailure) => void,
  common: Common,
): TieredStore {
  const forget = async (op: string, run: () => Promise<unknown>, key?: string): Promise<void> => {
    try {
      await run();
    } catch (error) {
      report(
        storeFailure(durable.name, op, error),
        key === undefined ? { tier: 'durable', op } : { tier: 'durable', op, key },
      );
    }
  };
  const store: TieredStore = {
    ...common,
    async get(key) {
      const copy = readCopy(await cache.get(key));
      return copy?.kind === 'copy' ? copy.record : undefined;
    },
    write: (key, delta, expiresAt) => cache.write(key, delta, expiresAt),
    touch: (key, expiresAt) => cache.touch(key, expiresAt),
    async destroy(key) {
      await cache.destroy(key);
      await forget('destroy', () => durable.destroy(key), key);
    },
  };
  if (cache.hasKeyExpiry === true) Object.assign(store, { hasKeyExpiry: true });
  if (cache.rename)
    store.rename = async (oldKey, newKey) => {
      const moved = await cache.rename!(oldKey, newKey);
      await forget('destroy', () => durable.destroy(oldKey), oldKey);
      return moved;
    };
  if (cache.byUser && cache.destroyByUser) {
    store.byUser = (userId) => cache.byUser!(userId);
    store.destroyByUser = async (userId, exceptKey) => {
      const count = await cache.destroyByUser!(userId, exceptKey);
      if (durable.destroyByUser)
        await forget('destroyByUser', () => durable.destroyByUser!(userId, exceptKey));
      return count;
    };
  }
  if (cache.count) store.count = () => cache.count!();
  if (cache.scan) store.scan = (cursor, limit) => cache.scan!(cursor, limit);
  if (cache.gc) store.gc = (gcOptions) => cache.gc!(gcOptions);
  if (cache.check) store.check = () => cache.check!();
  if (cache.lock && cache.unlock) {
    store.lock = (key, ttlMs) => cache.lock!(key, ttlMs);
    store.unlock = (key, token) => cache.unlock!(key, token);
  }
  return store;
}
